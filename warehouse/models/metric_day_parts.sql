-- One row per measured (metric, day) of the calendar [$calendar_start, $calendar_end] for the
-- metrics of the temp table `metric_index` (metric_index.sql): the day's value as delivered
-- and what it adds to the running sums (metric_cumulative.sql's rules: a ratio adds its
-- numerator and its denominator), each as the exact decimal it was delivered as — its
-- shortest text as DECIMAL(38,15) — split into the whole part and the fifteen decimals, two
-- 64-bit integers whose sums are exact. A whole part beyond 64 bits is NULL (the caller
-- then sums in SQL). Reads the temp view `metric_series`.
WITH measured AS (
    SELECT
        i.idx,
        CAST(s.date - CAST($calendar_start AS DATE) AS INTEGER) AS day,
        s.value,
        CAST(CAST(CASE WHEN i.is_ratio THEN s.numerator ELSE coalesce(s.value, 0) END
            AS VARCHAR) AS DECIMAL(38, 15)) AS added,
        CASE WHEN i.is_ratio
            THEN CAST(CAST(s.denominator AS VARCHAR) AS DECIMAL(38, 15)) END AS denominator
    FROM metric_series AS s
    JOIN metric_index AS i USING (metric_id)
    WHERE s.date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
      AND s.has_data
)
SELECT
    idx,
    day,
    value,
    TRY_CAST(trunc(added) AS BIGINT) AS value_whole,
    CAST((added - trunc(added)) * 1000000000000000 AS BIGINT) AS value_decimals,
    TRY_CAST(trunc(denominator) AS BIGINT) AS denominator_whole,
    CAST((denominator - trunc(denominator)) * 1000000000000000 AS BIGINT)
        AS denominator_decimals
FROM measured
