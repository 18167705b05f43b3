-- The staged rows of the parts of every ratio of two metrics in the temp table `metric_index`
-- (idx: the ratio's row), as warehouse/running_totals.py composes them into the ratio's days
-- by metric_series.sql's rules: the denominators' rows of the calendar
-- [$calendar_start, $calendar_end], and the numerators' rows from $calendar_start on (the
-- later ones only say how far the numerator's source has delivered). Days are counted from
-- $calendar_start; `value` is NaN for none (staging never holds NaN), `exact` the exact
-- decimal (metric_series.sql's `*_exact`, 0 for none).
WITH ratios AS (
    SELECT i.idx, m.numerator_metric_id, m.denominator_metric_id
    FROM metric_index AS i
    JOIN okr.metrics AS m USING (metric_id)
    WHERE m.kind = 'ratio'
)
SELECT
    r.idx,
    true AS is_denominator,
    CAST(s.date - CAST($calendar_start AS DATE) AS INTEGER) AS day,
    coalesce(s.value, CAST('NaN' AS DOUBLE)) AS value,
    coalesce(s.value_exact, CAST(CAST(s.value AS VARCHAR) AS DECIMAL(38, 15)), 0) AS exact
FROM ratios AS r
JOIN staging.metric_daily AS s ON s.metric_id = r.denominator_metric_id
WHERE s.date BETWEEN CAST($calendar_start AS DATE) AND CAST($calendar_end AS DATE)
UNION ALL
SELECT
    r.idx,
    false,
    CAST(s.date - CAST($calendar_start AS DATE) AS INTEGER),
    coalesce(s.value, CAST('NaN' AS DOUBLE)),
    coalesce(s.value_exact, CAST(CAST(s.value AS VARCHAR) AS DECIMAL(38, 15)), 0)
FROM ratios AS r
JOIN staging.metric_daily AS s ON s.metric_id = r.numerator_metric_id
WHERE s.date >= CAST($calendar_start AS DATE)
