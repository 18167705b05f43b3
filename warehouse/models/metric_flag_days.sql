-- The (metric_id, date, flag) from $calendar_start to $calendar_end: the data-quality flags on
-- the days a metric's value reads — its own, and for a ratio its numerator's and
-- denominator's. Not DISTINCT: a flag on both parts of a ratio, or sent by two sources, is
-- listed twice. The SQL running totals take it DISTINCT into the temp table that
-- metric_cumulative.sql (flagged days) and kr_progress_daily.sql (which flags) read, so the
-- flags are joined to the metrics once per run; the arrays of warehouse/running_totals.py
-- keep them as sets and need no DISTINCT (4 ms of the statement's 21 at full size).
--
-- The flags are staging.metric_flags' (migration 0012), each branch restated here without its
-- reason text and cut to the calendar's days: the view builds every reason of the whole history
-- before a date filter can apply, which cost a progress run more than the flags it read
-- (benchmarks/RESULTS.md, figure 2). tests/warehouse/test_flag_days.py checks that both list
-- the same flags.
--
-- $ratio_no_denominator (BOOLEAN): whether to list the no_denominator days of the ratios of
-- two metrics (the branch below that matches their parts' days). The arrays of
-- warehouse/running_totals.py compose those from the parts' staged rows they read anyway
-- (staged_day_parts.sql), by the same rules, and read the other flags without them.
WITH days AS NOT MATERIALIZED (
    SELECT * FROM staging.metric_daily
    WHERE date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
),
ratios AS (
    -- Numbered: the parts' days are matched by number and date rather than by metric_id.
    SELECT row_number() OVER () AS ratio, metric_id, numerator_metric_id, denominator_metric_id
    FROM okr.metrics
    WHERE kind = 'ratio' AND $ratio_no_denominator
),
denominator_days AS (
    -- From the calendar's first day on, without an end: the newest is how far the
    -- denominator's source has delivered.
    SELECT r.ratio, s.date, s.value
    FROM ratios AS r
    JOIN staging.metric_daily AS s ON s.metric_id = r.denominator_metric_id
    WHERE s.date >= CAST($calendar_start AS DATE)
),
denominator_through AS (
    SELECT ratio, max(date) AS last_date FROM denominator_days GROUP BY ratio
),
kr_parts AS (
    SELECT DISTINCT k.metric_id, k.currency, p.part_id
    FROM okr.key_results AS k
    JOIN okr.metrics AS m ON m.metric_id = k.metric_id,
        unnest([m.metric_id, m.numerator_metric_id, m.denominator_metric_id]) AS p(part_id)
    WHERE k.currency IS NOT NULL AND p.part_id IS NOT NULL
),
flags AS (
    SELECT metric_id, date, flag FROM raw.metric_flags
    WHERE date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
    UNION ALL
    SELECT metric_id, date, 'restated' FROM staging.metric_revisions
    WHERE date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
    UNION ALL
    SELECT metric_id, date, 'no_denominator' FROM days WHERE numerator > 0 AND denominator = 0
    UNION ALL
    -- A ratio of two metrics: a numerator's day without a denominator (or with 0) up to the
    -- denominator's newest day (a calendar day is compared, so only days from the calendar's
    -- first on can be that newest day). Staging holds one row per metric-day, so "no
    -- denominator or 0" is "no denominator day other than 0" (the anti join).
    SELECT r.metric_id, num.date, 'no_denominator'
    FROM ratios AS r
    JOIN days AS num ON num.metric_id = r.numerator_metric_id
    JOIN denominator_through AS dt USING (ratio)
    ANTI JOIN (SELECT ratio, date FROM denominator_days WHERE value <> 0) AS den
        USING (ratio, date)
    WHERE num.value > 0 AND num.date <= dt.last_date
    UNION ALL
    SELECT kp.metric_id, d.date, 'currency_mismatch'
    FROM kr_parts AS kp
    JOIN days AS d ON d.metric_id = kp.part_id
    WHERE d.currency IS NOT NULL AND d.currency <> kp.currency AND d.currency NOT LIKE '%+%'
    UNION ALL
    SELECT m.metric_id, n.date, 'currency_mismatch'
    FROM okr.metrics AS m
    JOIN (SELECT * FROM days WHERE currency IS NOT NULL) AS n
        ON n.metric_id = m.numerator_metric_id
    JOIN (SELECT * FROM days WHERE currency IS NOT NULL) AS dn
        ON dn.metric_id = m.denominator_metric_id AND dn.date = n.date
    WHERE n.currency <> dn.currency
    UNION ALL
    SELECT metric_id, date, 'currency_mismatch' FROM days WHERE currency LIKE '%+%'
),
parts AS (
    SELECT metric_id, metric_id AS part_id FROM okr.metrics
    UNION ALL
    SELECT metric_id, numerator_metric_id FROM okr.metrics WHERE numerator_metric_id IS NOT NULL
    UNION ALL
    SELECT metric_id, denominator_metric_id FROM okr.metrics
    WHERE denominator_metric_id IS NOT NULL
)
SELECT p.metric_id, f.date, f.flag
FROM parts AS p
JOIN flags AS f ON f.metric_id = p.part_id
