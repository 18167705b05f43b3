-- One row per measured (metric, day) of the calendar [$calendar_start, $calendar_end] for the
-- metrics of the temp table `metric_index` (metric_index.sql): the day's value as delivered
-- (`value`, NaN for none: staging never holds NaN) and what it adds to the running sums
-- (metric_cumulative.sql's rules: a source rate adds its numerator and its denominator), each
-- the exact decimal it was delivered as. The staged rows as metric_series.sql's first branch
-- reads them (`has_data`, `*_exact`); a ratio of two metrics is composed from its parts'
-- rows (ratio_day_parts.sql) by warehouse/running_totals.py.
SELECT
    i.idx,
    CAST(s.date - CAST($calendar_start AS DATE) AS INTEGER) AS day,
    coalesce(s.value, CAST('NaN' AS DOUBLE)) AS value,
    coalesce(
        CASE WHEN i.is_ratio
            THEN coalesce(s.numerator_exact, CAST(CAST(s.numerator AS VARCHAR) AS DECIMAL(38, 15)))
            ELSE coalesce(s.value_exact, CAST(CAST(s.value AS VARCHAR) AS DECIMAL(38, 15)))
        END, 0) AS added,
    CASE WHEN i.is_ratio
        THEN coalesce(
            s.denominator_exact, CAST(CAST(s.denominator AS VARCHAR) AS DECIMAL(38, 15)), 0)
        ELSE 0 END AS denominator
FROM staging.metric_daily AS s
JOIN metric_index AS i USING (metric_id)
WHERE s.date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
  AND CASE
      WHEN s.denominator IS NOT NULL THEN s.numerator IS NOT NULL
          AND NOT (s.denominator = 0 AND s.numerator > 0)
      ELSE s.value IS NOT NULL
  END
