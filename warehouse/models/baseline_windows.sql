-- One row per key result whose measured baseline or previous-period target is not frozen yet
-- for its current definition: the window the baseline reads.
--   total (relative target)  the previous period (okr.key_results.previous_start: the previous
--   average                  quarter or month for a named period, the same number of days
--                            before explicit dates); it always ends the day before the period
--   rolling_<N>d             the N days before the period starts
--   latest                   the last measured day before the period starts
-- `complete` says the source has delivered the window's last day, so freezing is safe.
-- The running totals at the window's end are those on the day before the period: a `latest`
-- window's day is the last measured one before it, and unmeasured days add nothing.
WITH pending AS (
    SELECT k.*, m.additive, CAST(k.period_end - k.period_start + 1 AS INTEGER) AS period_days
    FROM okr.key_results AS k
    JOIN okr.metrics AS m USING (metric_id)
    WHERE (k.baseline_kind = 'measured' OR (k.target_kind = 'relative' AND k.measure = 'total'))
      AND k.period_end >= CAST($from_date AS DATE)
      AND k.period_start <= CAST($calendar_end AS DATE)
      AND NOT EXISTS (
          SELECT 1 FROM okr.kr_baselines AS b
          WHERE b.kr_id = k.kr_id AND b.definition_hash = k.definition_hash
      )
)
SELECT
    p.kr_id,
    p.definition_hash,
    p.metric_id,
    p.measure,
    p.additive,
    p.baseline_kind,
    p.baseline_value,
    p.target_kind,
    p.target_value,
    CASE p.measure
        WHEN 'rolling' THEN p.period_start - p.window_days
        WHEN 'latest' THEN before.last_data_date
        ELSE coalesce(p.previous_start, p.period_start - p.period_days)
    END AS w_start,
    CASE p.measure
        WHEN 'latest' THEN before.last_data_date
        ELSE p.period_start - 1
    END AS w_end,
    coalesce(newest.last_data_date >= p.period_start - 1, false) AS complete,
    before.is_ratio,
    before.cum_value AS end_value,
    before.last_value AS end_last_value,
    before.cum_denominator AS end_denominator,
    before.cum_days AS end_days,
    before.cum_flagged_days AS end_flagged_days
FROM pending AS p
LEFT JOIN metric_cumulative AS before
    ON before.metric_id = p.metric_id AND before.day = p.period_start - 1
LEFT JOIN metric_cumulative AS newest
    ON newest.metric_id = p.metric_id AND newest.day = CAST($calendar_end AS DATE)
