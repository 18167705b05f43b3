-- One row per (metric_id, date) for every metric key results use, ratio metrics included.
-- A ratio metric's day carries numerator and denominator, so ranges are a ratio of sums.
-- `has_data` says the day was measured. A ratio needs its denominator: a day with a numerator
-- and a denominator of 0 (or none) is not measured for the ratio, rather than adding its
-- numerator to the sum silently (staging.metric_flags flags it `no_denominator`).
-- `*_exact` are the values as the exact decimals the sums add (metric_cumulative.sql): as
-- staged (migration 0080), or cast here for a row written without them.
WITH ratio_metrics AS (
    SELECT metric_id, numerator_metric_id, denominator_metric_id
    FROM okr.metrics
    WHERE kind = 'ratio'
),
numerator_through AS (
    -- Only from the first day the running totals read (the variable okr_calendar_start, set
    -- by warehouse.progress): a numerator with nothing delivered since then makes no
    -- calendar day count as 0, exactly as an older last date would, and the history before
    -- the calendar is never scanned.
    SELECT metric_id, max(date) AS last_date FROM staging.metric_daily
    WHERE date >= coalesce(getvariable('okr_calendar_start'), DATE '-infinity')
      AND metric_id IN (SELECT numerator_metric_id FROM ratio_metrics)
    GROUP BY metric_id
)
SELECT
    metric_id,
    date,
    value,
    numerator,
    denominator,
    CASE
        WHEN denominator IS NOT NULL THEN numerator IS NOT NULL
            AND NOT (denominator = 0 AND numerator > 0)
        ELSE value IS NOT NULL
    END AS has_data,
    coalesce(value_exact, CAST(CAST(value AS VARCHAR) AS DECIMAL(38, 15))) AS value_exact,
    coalesce(numerator_exact, CAST(CAST(numerator AS VARCHAR) AS DECIMAL(38, 15)))
        AS numerator_exact,
    coalesce(denominator_exact, CAST(CAST(denominator AS VARCHAR) AS DECIMAL(38, 15)))
        AS denominator_exact
FROM staging.metric_daily
UNION ALL
SELECT
    r.metric_id,
    den.date,
    coalesce(num.value, 0) / nullif(den.value, 0) AS value,
    -- Sources omit days on which a count was zero (GA4 drops empty rows): a day the
    -- numerator's source has already delivered past counts as 0, a later day as unmeasured.
    CASE WHEN num.value IS NOT NULL THEN num.value
         WHEN den.date <= nt.last_date THEN 0 END AS numerator,
    den.value AS denominator,
    den.value IS NOT NULL AND (num.value IS NOT NULL OR den.date <= nt.last_date)
        AND NOT (den.value = 0 AND coalesce(num.value, 0) > 0) AS has_data,
    -- A ratio's daily value is never summed: its numerator's and denominator's are.
    CAST(NULL AS DECIMAL(38, 15)) AS value_exact,
    CASE WHEN num.value IS NOT NULL
             THEN coalesce(num.value_exact, CAST(CAST(num.value AS VARCHAR) AS DECIMAL(38, 15)))
         WHEN den.date <= nt.last_date THEN 0 END AS numerator_exact,
    coalesce(den.value_exact, CAST(CAST(den.value AS VARCHAR) AS DECIMAL(38, 15)))
        AS denominator_exact
FROM ratio_metrics AS r
JOIN staging.metric_daily AS den ON den.metric_id = r.denominator_metric_id
LEFT JOIN staging.metric_daily AS num
    ON num.metric_id = r.numerator_metric_id AND num.date = den.date
LEFT JOIN numerator_through AS nt ON nt.metric_id = r.numerator_metric_id
