-- One row per measured (metric, day) of the calendar [$calendar_start, $calendar_end] for the
-- metrics of the temp table `metric_index` (metric_index.sql): the day's value as delivered
-- and what it adds to the running sums (metric_cumulative.sql's rules: a ratio adds its
-- numerator and its denominator), each as the exact decimal it was delivered as — its
-- shortest text, to 15 decimals — split into the whole part and the fifteen decimals, two
-- 64-bit integers whose sums are exact. Most texts are plain digits ('127.48949999999999')
-- and split as text; the others (an exponent, more than 15 decimals) go through
-- DECIMAL(38,15) as in metric_cumulative.sql. `too_large` marks a whole part beyond 64 bits
-- (the caller then sums in SQL). Reads the temp view `metric_series`.
WITH measured AS (
    SELECT
        i.idx,
        CAST(s.date - CAST($calendar_start AS DATE) AS INTEGER) AS day,
        s.value,
        CAST(CASE WHEN i.is_ratio THEN s.numerator ELSE coalesce(s.value, 0) END AS VARCHAR)
            AS added,
        CASE WHEN i.is_ratio THEN CAST(s.denominator AS VARCHAR) END AS denominator
    FROM metric_series AS s
    JOIN metric_index AS i USING (metric_id)
    WHERE s.date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
      AND s.has_data
),
texts AS (
    SELECT
        idx,
        day,
        value,
        added,
        denominator,
        split_part(added, '.', 1) AS added_whole,
        split_part(added, '.', 2) AS added_decimals,
        split_part(denominator, '.', 1) AS denominator_whole,
        split_part(denominator, '.', 2) AS denominator_decimals
    FROM measured
),
plain AS (
    SELECT
        *,
        NOT contains(added, 'e') AND length(added_decimals) <= 15
            AND length(added_whole) <= 18 AS added_plain,
        NOT contains(denominator, 'e') AND length(denominator_decimals) <= 15
            AND length(denominator_whole) <= 18 AS denominator_plain
    FROM texts
)
SELECT
    idx,
    day,
    value,
    coalesce(NOT added_plain AND abs(CAST(added AS DOUBLE)) >= 9e18, false)
        OR coalesce(NOT denominator_plain AND abs(CAST(denominator AS DOUBLE)) >= 9e18, false)
        AS too_large,
    CASE WHEN added_plain THEN CAST(added_whole AS BIGINT)
        WHEN abs(CAST(added AS DOUBLE)) < 9e18
            THEN CAST(trunc(CAST(added AS DECIMAL(38, 15))) AS BIGINT)
    END AS value_whole,
    CASE WHEN added_plain THEN CAST(rpad(added_decimals, 15, '0') AS BIGINT)
        ELSE CAST((CAST(added AS DECIMAL(38, 15)) - trunc(CAST(added AS DECIMAL(38, 15))))
            * 1000000000000000 AS BIGINT)
    END AS value_decimals,
    CASE WHEN denominator_plain THEN CAST(denominator_whole AS BIGINT)
        WHEN abs(CAST(denominator AS DOUBLE)) < 9e18
            THEN CAST(trunc(CAST(denominator AS DECIMAL(38, 15))) AS BIGINT)
    END AS denominator_whole,
    CASE WHEN denominator_plain THEN CAST(rpad(denominator_decimals, 15, '0') AS BIGINT)
        ELSE CAST((CAST(denominator AS DECIMAL(38, 15))
            - trunc(CAST(denominator AS DECIMAL(38, 15)))) * 1000000000000000 AS BIGINT)
    END AS denominator_decimals
FROM plain
