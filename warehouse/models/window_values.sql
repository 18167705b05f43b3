-- One row per requested window (temp table `windows`: window_id, metric_id, measure, additive,
-- w_start, w_end): the metric's value over [w_start, w_end] under the key-result math.
--   ratio metrics        sum(numerator) / sum(denominator), never a mean of daily ratios
--   average              mean of the measured daily values
--   total, rolling, latest  sum of the daily values (latest is a one-day window)
--   non-additive metrics (unique users, a source's own rates) over total/rolling windows
--                        the source's answer for exactly that range, never a sum of days
SELECT
    w.window_id,
    coalesce(e.cum_days, 0) - coalesce(s.cum_days, 0) AS days_measured,
    CASE
        WHEN w.w_end IS NULL THEN NULL
        WHEN NOT w.additive AND w.measure IN ('total', 'rolling') THEN r.value
        WHEN coalesce(e.cum_days, 0) - coalesce(s.cum_days, 0) = 0 THEN NULL
        WHEN e.is_ratio THEN (e.cum_numerator - coalesce(s.cum_numerator, 0))
            / nullif(e.cum_denominator - coalesce(s.cum_denominator, 0), 0)
        WHEN w.measure = 'average' THEN (e.cum_value - coalesce(s.cum_value, 0))
            / (e.cum_days - coalesce(s.cum_days, 0))
        ELSE e.cum_value - coalesce(s.cum_value, 0)
    END AS value
FROM windows AS w
LEFT JOIN metric_cumulative AS e ON e.metric_id = w.metric_id AND e.day = w.w_end
LEFT JOIN metric_cumulative AS s ON s.metric_id = w.metric_id AND s.day = w.w_start - 1
LEFT JOIN staging.metric_range AS r
    ON r.metric_id = w.metric_id AND r.range_start = w.w_start AND r.range_end = w.w_end
