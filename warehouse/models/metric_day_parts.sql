-- One row per measured (metric, day) of the calendar [$calendar_start, $calendar_end] for the
-- metrics of the temp table `metric_index` (metric_index.sql): the day's value as delivered
-- (`value`, NaN for none: staging never holds NaN) and what it adds to the running sums
-- (metric_cumulative.sql's rules: a ratio adds its numerator and its denominator), each the
-- exact decimal it was delivered as (metric_series.sql's `*_exact`), as in
-- metric_cumulative.sql. Reads the temp view `metric_series`.
SELECT
    i.idx,
    CAST(s.date - CAST($calendar_start AS DATE) AS INTEGER) AS day,
    coalesce(s.value, CAST('NaN' AS DOUBLE)) AS value,
    coalesce(CASE WHEN i.is_ratio THEN s.numerator_exact ELSE s.value_exact END, 0) AS added,
    CASE WHEN i.is_ratio THEN coalesce(s.denominator_exact, 0) ELSE 0 END AS denominator
FROM metric_series AS s
JOIN metric_index AS i USING (metric_id)
WHERE s.date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
  AND s.has_data
