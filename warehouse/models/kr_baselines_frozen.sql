-- One row per key result that can be frozen now (reads `window_value`: window_values.sql over
-- baseline_windows.sql): the measured baseline and the resolved target, stored once and never
-- recomputed for the same definition.
SELECT
    w.kr_id,
    w.definition_hash,
    CASE WHEN w.baseline_kind = 'measured' THEN w.value ELSE w.baseline_value END AS baseline,
    CASE
        WHEN w.target_kind = 'absolute' THEN w.target_value
        -- total: relative to the same total over the previous period
        WHEN w.measure = 'total' THEN w.value * (1 + w.target_value)
        -- level measures: relative to the baseline
        ELSE w.value * (1 + w.target_value)
    END AS target,
    CAST($measured_at AS TIMESTAMPTZ) AS measured_at,
    -- What they were derived from, for the reader: the value over [window_start, window_end].
    w.value AS measured_value,
    w.w_start AS window_start,
    w.w_end AS window_end
FROM window_value AS w
WHERE w.complete AND w.value IS NOT NULL
