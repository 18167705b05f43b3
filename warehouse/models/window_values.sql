-- The rows of `window_sums` (window_sums.sql over baseline_windows.sql, kr_days.sql or
-- not_started_windows.sql; columns metric_id, measure, additive, is_ratio, w_start,
-- w_end and the window's exact sums: sum_value (a ratio: its numerator's), sum_denominator,
-- days (measured days), flagged_days, and last_value, the newest measured day's value as
-- delivered), each with the sum of a ratio's denominator over the window
-- (`window_denominator`: 0 says why a ratio has no value) and the metric's value over
-- [w_start, w_end] under the key-result math:
--   ratio metrics        sum(numerator) / sum(denominator), never a mean of daily ratios
--   average              mean of the measured daily values
--   latest               the value of the window's one day, as delivered
--   total, rolling       sum of the daily values
--   non-additive metrics (unique users, a source's own rates) over total/rolling windows
--                        the source's answer for exactly that range, never a sum of days
-- The sums are exact decimals; the value becomes a DOUBLE once, at the end.
-- warehouse/daily_rows.py applies the same rules to the daily rows' window sums.
-- Every other column passes through, so the models after it read this one input only and
-- the whole chain runs as one pipeline without materialising the windows.
SELECT
    w.*,
    CASE WHEN w.is_ratio AND w.w_end IS NOT NULL
        THEN CAST(w.sum_denominator AS DOUBLE)
    END AS window_denominator,
    CASE
        WHEN w.w_end IS NULL THEN NULL
        WHEN NOT w.additive AND w.measure IN ('total', 'rolling') THEN r.value
        WHEN w.days = 0 THEN NULL
        WHEN w.is_ratio THEN CAST(w.sum_value AS DOUBLE)
            / nullif(CAST(w.sum_denominator AS DOUBLE), 0)
        WHEN w.measure = 'average' THEN CAST(w.sum_value AS DOUBLE) / w.days
        WHEN w.measure = 'latest' THEN w.last_value
        ELSE CAST(w.sum_value AS DOUBLE)
    END AS value
FROM window_sums AS w
LEFT JOIN staging.metric_range AS r
    ON r.metric_id = w.metric_id AND r.range_start = w.w_start AND r.range_end = w.w_end
