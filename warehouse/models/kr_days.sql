-- The SQL form of the daily rows' windows, used when warehouse/running_totals.py cannot keep
-- a metric's sums in 64-bit parts (values beyond about 4.6e18): the same windows as its
-- arrays, with the running totals at the window's end for window_sums.sql.
-- One row per (kr_id, as_of_date) for as_of_date in [$from_date, $to_date] inside the key
-- result's period: the newest measured day (`data_through`), the window [w_start, w_end] its
-- value reads, and the running totals at the window's end. Reads the temp table
-- `metric_cumulative`. (Flags are counted through as_of_date, not data_through: a flagged
-- day after the newest measured one, an invalid value say, is part of why it is the newest.)
--
-- Driven by the running totals themselves (each key result joins its metric's calendar rows,
-- the key results being the small side of the join), and the totals at as_of_date are the
-- totals at data_through: the days after the newest measured day add nothing. So a window's
-- end costs no lookup of its own.
WITH kr AS (
    -- Only what the math and the output need: every column here is written once per day.
    SELECT
        k.kr_id, k.objective_id, k.team, k.metric_id, k.measure, k.window_days,
        k.period_start, k.period_end, k.baseline_kind, k.baseline_value, k.target_kind,
        k.target_value, k.direction, k.commitment, k.weight, k.unit, k.definition_hash,
        m.additive, m.allowed_lag_days
    FROM okr.key_results AS k
    JOIN okr.metrics AS m USING (metric_id)
    WHERE k.period_start <= CAST($to_date AS DATE) AND k.period_end >= CAST($from_date AS DATE)
),
through AS (
    SELECT
        kr.*,
        c.day AS as_of_date,
        -- The period's own data only: a key result with nothing measured since its start
        -- has no value yet, whatever happened before.
        CASE WHEN c.last_data_date >= kr.period_start THEN c.last_data_date END AS data_through,
        c.is_ratio,
        c.cum_value AS end_value,
        c.last_value AS end_last_value,
        c.cum_denominator AS end_denominator,
        c.cum_days AS end_days,
        c.cum_flagged_days AS end_flagged_days
    FROM kr
    JOIN metric_cumulative AS c
        ON c.metric_id = kr.metric_id
       AND c.day BETWEEN greatest(kr.period_start, CAST($from_date AS DATE))
                     AND least(kr.period_end, CAST($to_date AS DATE))
)
SELECT
    *,
    CASE measure
        WHEN 'rolling' THEN data_through - window_days + 1
        WHEN 'latest' THEN data_through
        ELSE period_start
    END AS w_start,
    data_through AS w_end
FROM through
