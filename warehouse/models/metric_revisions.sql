-- staging.metric_revisions rows for a staging rebuild of [$from_date, $to_date]: one per
-- (metric_id, date) whose staged value changes (reads the temp table `staging_new`, the
-- rebuilt rows). A day that disappears is a revision to NULL; a first delivery is not one.
SELECT
    coalesce(n.metric_id, o.metric_id) AS metric_id,
    coalesce(n.date, o.date) AS date,
    o.value AS old_value,
    n.value AS new_value,
    o.numerator AS old_numerator,
    n.numerator AS new_numerator,
    o.denominator AS old_denominator,
    n.denominator AS new_denominator,
    coalesce(n.source, o.source) AS source,
    o.request_hash AS old_request_hash,
    n.request_hash AS new_request_hash,
    CAST($seen_at AS TIMESTAMPTZ) AS seen_at
FROM (
    SELECT * FROM staging.metric_daily WHERE date BETWEEN $from_date AND $to_date
) AS o
FULL OUTER JOIN staging_new AS n USING (metric_id, date)
WHERE o.metric_id IS NOT NULL
  AND (o.value IS DISTINCT FROM n.value
       OR o.numerator IS DISTINCT FROM n.numerator
       OR o.denominator IS DISTINCT FROM n.denominator)
