-- One row per (metric_id, part_id): the metrics whose days a metric's value reads — itself,
-- and a ratio's numerator and denominator. Its data-quality flags are theirs.
SELECT metric_id, metric_id AS part_id FROM okr.metrics
UNION ALL
SELECT metric_id, numerator_metric_id FROM okr.metrics WHERE numerator_metric_id IS NOT NULL
UNION ALL
SELECT metric_id, denominator_metric_id FROM okr.metrics WHERE denominator_metric_id IS NOT NULL
