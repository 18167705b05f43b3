-- The metrics of the key results active from $from_date through $calendar_end, numbered from
-- 0 in metric_id order (their row in warehouse/running_totals.py's arrays), and whether each
-- is a ratio: a ratio metric, or a source metric delivered as numerator and denominator on
-- some day of the calendar (as in metric_cumulative.sql).
SELECT
    CAST(row_number() OVER (ORDER BY k.metric_id) - 1 AS INTEGER) AS idx,
    k.metric_id,
    m.kind = 'ratio' OR EXISTS (
        SELECT 1 FROM staging.metric_daily AS s
        WHERE s.metric_id = k.metric_id AND s.denominator IS NOT NULL
          AND s.date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
    ) AS is_ratio
FROM (
    SELECT DISTINCT metric_id FROM okr.key_results
    WHERE period_start <= CAST($calendar_end AS DATE)
      AND period_end >= CAST($from_date AS DATE)
) AS k
JOIN okr.metrics AS m USING (metric_id)
