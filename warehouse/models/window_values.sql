-- The rows of `windows` (a CTE: kr_days.sql or baseline_windows.sql; columns metric_id,
-- measure, additive, w_start, w_end, is_ratio and the running totals at the window's end
-- end_value (a ratio: its numerator's), end_last_value, end_denominator, end_days,
-- end_flagged_days), each with the number of flagged days from w_start on, the sum of a
-- ratio's denominator over the window (`window_denominator`: 0 says why a ratio has no value)
-- and the metric's value over [w_start, w_end] under the key-result math:
--   ratio metrics        sum(numerator) / sum(denominator), never a mean of daily ratios
--   average              mean of the measured daily values
--   latest               the value of the window's one day, as delivered
--   total, rolling       sum of the daily values
--   non-additive metrics (unique users, a source's own rates) over total/rolling windows
--                        the source's answer for exactly that range, never a sum of days
-- The running totals are exact decimals, so a difference is the exact sum of its days; the
-- value becomes a DOUBLE once, at the end.
-- Every other column passes through, so the models after it read this one input only and
-- the whole chain runs as one pipeline without materialising the windows.
SELECT
    w.*,
    w.end_flagged_days - coalesce(s.cum_flagged_days, 0) AS flagged_days,
    CASE WHEN w.is_ratio AND w.w_end IS NOT NULL
        THEN CAST(w.end_denominator - coalesce(s.cum_denominator, 0) AS DOUBLE)
    END AS window_denominator,
    CASE
        WHEN w.w_end IS NULL THEN NULL
        WHEN NOT w.additive AND w.measure IN ('total', 'rolling') THEN r.value
        WHEN coalesce(w.end_days, 0) - coalesce(s.cum_days, 0) = 0 THEN NULL
        WHEN w.is_ratio THEN CAST(w.end_value - coalesce(s.cum_value, 0) AS DOUBLE)
            / nullif(CAST(w.end_denominator - coalesce(s.cum_denominator, 0) AS DOUBLE), 0)
        WHEN w.measure = 'average' THEN CAST(w.end_value - coalesce(s.cum_value, 0) AS DOUBLE)
            / (w.end_days - coalesce(s.cum_days, 0))
        WHEN w.measure = 'latest' THEN w.end_last_value
        ELSE CAST(w.end_value - coalesce(s.cum_value, 0) AS DOUBLE)
    END AS value
FROM windows AS w
LEFT JOIN metric_cumulative AS s ON s.metric_id = w.metric_id AND s.day = w.w_start - 1
LEFT JOIN staging.metric_range AS r
    ON r.metric_id = w.metric_id AND r.range_start = w.w_start AND r.range_end = w.w_end
