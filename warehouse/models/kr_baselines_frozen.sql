-- One row per key result that can be frozen now (reads temp tables `windows` from
-- baseline_windows.sql and `window_value` from window_values.sql): the measured baseline and
-- the resolved target, stored once and never recomputed for the same definition.
SELECT
    w.kr_id,
    w.definition_hash,
    CASE WHEN w.baseline_kind = 'measured' THEN v.value ELSE w.baseline_value END AS baseline,
    CASE
        WHEN w.target_kind = 'absolute' THEN w.target_value
        -- total: relative to the same total over the previous period
        WHEN w.measure = 'total' THEN v.value * (1 + w.target_value)
        -- level measures: relative to the baseline
        ELSE v.value * (1 + w.target_value)
    END AS target,
    CAST($measured_at AS TIMESTAMPTZ) AS measured_at
FROM windows AS w
JOIN window_value AS v USING (window_id)
WHERE w.complete AND v.value IS NOT NULL
