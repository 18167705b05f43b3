-- The staged rows the arrays of warehouse/running_totals.py read, in one scan of
-- staging.metric_daily for the metrics of the temp table `metric_index` (metric_index.sql),
-- each row with `part` saying which set it belongs to:
--   0: a measured (metric, day) of the calendar [$calendar_start, $calendar_end], as
--      metric_series.sql's first branch reads it (`has_data`): the day's value as delivered
--      and what it adds to the running sums (metric_cumulative.sql's rules: a source rate
--      adds its numerator and its denominator);
--   1: a day of the denominator of a ratio of two metrics (idx: the ratio's row) from
--      $calendar_start on, `added` its exact value;
--   2: a day of that ratio's numerator from $calendar_start on, `added` its exact value.
-- The days of parts 1 and 2 after $calendar_end only say how far each part's source has
-- delivered. warehouse/running_totals.py composes a ratio's days from parts 1 and 2 by
-- metric_series.sql's rules, and its no_denominator days by metric_flag_days.sql's. Days are counted from $calendar_start; `value` is NaN for none
-- (staging never holds NaN), each exact decimal the one it was delivered as (`*_exact`),
-- 0 for none.
WITH parts AS (
    SELECT idx, metric_id, CAST(0 AS UTINYINT) AS part, is_ratio FROM metric_index
    UNION ALL
    SELECT i.idx, m.denominator_metric_id, CAST(1 AS UTINYINT), false
    FROM metric_index AS i
    JOIN okr.metrics AS m USING (metric_id)
    WHERE m.kind = 'ratio'
    UNION ALL
    SELECT i.idx, m.numerator_metric_id, CAST(2 AS UTINYINT), false
    FROM metric_index AS i
    JOIN okr.metrics AS m USING (metric_id)
    WHERE m.kind = 'ratio'
)
SELECT
    p.idx,
    p.part,
    CAST(s.date - CAST($calendar_start AS DATE) AS INTEGER) AS day,
    coalesce(s.value, CAST('NaN' AS DOUBLE)) AS value,
    coalesce(
        CASE WHEN p.is_ratio
            THEN coalesce(s.numerator_exact, CAST(CAST(s.numerator AS VARCHAR) AS DECIMAL(38, 15)))
            ELSE coalesce(s.value_exact, CAST(CAST(s.value AS VARCHAR) AS DECIMAL(38, 15)))
        END, 0) AS added,
    CASE WHEN p.is_ratio
        THEN coalesce(
            s.denominator_exact, CAST(CAST(s.denominator AS VARCHAR) AS DECIMAL(38, 15)), 0)
        ELSE 0 END AS denominator
FROM staging.metric_daily AS s
JOIN parts AS p ON s.metric_id = p.metric_id
WHERE s.date >= CAST($calendar_start AS DATE)
  AND (p.part <> 0 OR s.date <= CAST($calendar_end AS DATE))
  AND (p.part <> 0 OR CASE
      WHEN s.denominator IS NOT NULL THEN s.numerator IS NOT NULL
          AND NOT (s.denominator = 0 AND s.numerator > 0)
      ELSE s.value IS NOT NULL
  END)
