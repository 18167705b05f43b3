-- staging.metric_daily for the days [$from_date, $to_date]: one row per (metric_id, date).
-- Cleans what the sources delivered: a metric-day delivered twice (overlapping fetches, a
-- page repeated by the API) keeps the newest fetch; NaN, infinite and negative counts become
-- NULL so they never count as measured (raw.metric_flags says why: `invalid_value`, written
-- by the loader). Each value also as the exact decimal the key-result sums add (`*_exact`:
-- its shortest text as DECIMAL(38,15), migration 0080).
WITH cleaned AS (
    SELECT
        metric_id,
        date,
        CASE WHEN NOT isfinite(value) OR value < 0 THEN NULL ELSE value END AS value,
        CASE WHEN NOT isfinite(numerator) OR numerator < 0 THEN NULL ELSE numerator END
            AS numerator,
        CASE WHEN NOT isfinite(denominator) OR denominator < 0 THEN NULL ELSE denominator END
            AS denominator,
        source,
        request_hash,
        fetched_at,
        currency
    FROM raw.metric_rows
    WHERE date BETWEEN $from_date AND $to_date
    QUALIFY row_number() OVER (
        PARTITION BY metric_id, date ORDER BY fetched_at DESC, request_hash DESC
    ) = 1
)
SELECT
    *,
    TRY_CAST(CAST(value AS VARCHAR) AS DECIMAL(38, 15)) AS value_exact,
    TRY_CAST(CAST(numerator AS VARCHAR) AS DECIMAL(38, 15)) AS numerator_exact,
    TRY_CAST(CAST(denominator AS VARCHAR) AS DECIMAL(38, 15)) AS denominator_exact
FROM cleaned
