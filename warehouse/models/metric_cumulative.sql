-- One row per (metric_id, day) on a dense calendar from $calendar_start to $calendar_end:
-- running totals since the calendar start, so the sum over any range [a, b] is
-- cum(b) − cum(a − 1) — an equality join instead of a range scan, which keeps thousands of
-- key results × hundreds of days one cheap query. Reads the temp view `metric_series` and
-- the temp table `metric_flag_days`. Built while a baseline is still to be measured and for
-- the key results that have not started (the daily rows' windows: warehouse/running_totals.py,
-- the same sums in arrays).
-- Only the metrics of key results active from $from_date on, only the calendar's days: the
-- cost follows the periods being computed, not the length of the history.
-- The sums are exact decimals, not doubles: a window is a difference of two running sums, and
-- in binary floating point that difference carries the rounding of every day before it (a
-- `latest` 0.025 read back as 0.025000000000000355). Each daily value enters as the decimal
-- it was delivered as (metric_series.sql's `*_exact`) — the shortest text that reads back as
-- the same double ('0.1', not 0.1000000000000000055…), because DuckDB's direct DOUBLE →
-- DECIMAL cast scales in binary and turns 1234567.89 into 1234567.889999999795200.
-- DECIMAL(38,15): sums up to 10^23, 15 decimals (12 significant digits down to values of
-- 0.001). `last_value` is the newest measured day's value as delivered.
-- `cum_value` sums the values, or for a ratio the numerators (`cum_denominator` the
-- denominators). `cum_flagged_days` counts the days with a data-quality flag (a ratio: on
-- either part), so whether a window holds any flag is a difference too.
WITH series AS (
    SELECT * FROM metric_series
    WHERE date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
),
used AS (
    SELECT
        k.metric_id,
        m.kind = 'ratio'
            OR coalesce(bool_or(s.denominator IS NOT NULL), false) AS is_ratio
    FROM (
        SELECT DISTINCT metric_id FROM okr.key_results
        WHERE period_start <= CAST($calendar_end AS DATE)
          AND period_end >= CAST($from_date AS DATE)
    ) AS k
    JOIN okr.metrics AS m USING (metric_id)
    LEFT JOIN series AS s USING (metric_id)
    GROUP BY k.metric_id, m.kind
),
flagged AS (
    SELECT DISTINCT metric_id, date FROM metric_flag_days
),
days AS (
    SELECT CAST(d AS DATE) AS day
    FROM generate_series(CAST($calendar_start AS DATE), CAST($calendar_end AS DATE), INTERVAL 1 DAY) AS g(d)
)
SELECT
    u.metric_id,
    u.is_ratio,
    days.day,
    coalesce(s.has_data, false) AS has_data,
    -- A ratio's running sum is its numerator's: its daily value (a daily rate) is never summed.
    sum(CASE WHEN NOT s.has_data THEN 0
             WHEN u.is_ratio THEN s.numerator_exact
             ELSE coalesce(s.value_exact, 0) END)
        OVER w AS cum_value,
    sum(CASE WHEN s.has_data AND u.is_ratio THEN s.denominator_exact ELSE 0 END)
        OVER w AS cum_denominator,
    last_value(CASE WHEN s.has_data THEN s.value END IGNORE NULLS) OVER w AS last_value,
    count(CASE WHEN s.has_data THEN 1 END) OVER w AS cum_days,
    max(CASE WHEN s.has_data THEN days.day END) OVER w AS last_data_date,
    count(fl.date) OVER w AS cum_flagged_days
FROM used AS u
CROSS JOIN days
LEFT JOIN series AS s ON s.metric_id = u.metric_id AND s.date = days.day
LEFT JOIN flagged AS fl ON fl.metric_id = u.metric_id AND fl.date = days.day
WINDOW w AS (PARTITION BY u.metric_id ORDER BY days.day ROWS UNBOUNDED PRECEDING)
