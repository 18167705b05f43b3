-- One row per (metric_id, date, flag) from $calendar_start to $calendar_end: the data-quality
-- flags on the days a metric's value reads — its own, and for a ratio its numerator's and
-- denominator's. Read by metric_cumulative.sql (flagged days) and kr_progress_daily.sql (which
-- flags), so the flags are joined to the metrics once per run.
WITH parts AS (
    SELECT metric_id, metric_id AS part_id FROM okr.metrics
    UNION ALL
    SELECT metric_id, numerator_metric_id FROM okr.metrics WHERE numerator_metric_id IS NOT NULL
    UNION ALL
    SELECT metric_id, denominator_metric_id FROM okr.metrics
    WHERE denominator_metric_id IS NOT NULL
)
SELECT DISTINCT p.metric_id, f.date, f.flag
FROM parts AS p
JOIN staging.metric_flags AS f ON f.metric_id = p.part_id
WHERE f.date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
