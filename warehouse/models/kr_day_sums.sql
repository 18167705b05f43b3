-- One row per (kr_id, as_of_date), as kr_days.sql and window_sums.sql give them, from the
-- window sums warehouse/running_totals.py computed in arrays (registered as `kr_day_windows`,
-- one row per key result and as-of day, and `kr_day_index`, the key results' numbers): the key
-- result's facts, data_through, the window [w_start, w_end] and its sums: the exact decimal
-- sums already rounded once to doubles, as window_values.sql would round them.
WITH kr AS (
    -- Only what the math and the output need: every column here is written once per day.
    SELECT
        k.kr_id, k.objective_id, k.team, k.metric_id, k.measure, k.window_days,
        k.period_start, k.period_end, k.baseline_kind, k.baseline_value, k.target_kind,
        k.target_value, k.direction, k.commitment, k.weight, k.unit, k.definition_hash,
        m.additive, m.allowed_lag_days, i.idx
    FROM okr.key_results AS k
    JOIN okr.metrics AS m USING (metric_id)
    JOIN kr_day_index AS i USING (kr_id)
)
SELECT
    kr.* EXCLUDE (idx),
    w.as_of_date,
    w.data_through,
    w.is_ratio,
    w.w_start,
    w.w_end,
    w.sum_value,
    w.sum_denominator,
    w.days,
    w.flagged_days,
    w.last_value
FROM kr_day_windows AS w
JOIN kr USING (idx)
