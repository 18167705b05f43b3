-- One row per key result whose period starts after $as_of_date: the window its measured
-- baseline or previous-period target would read if it were measured today (the same windows
-- as baseline_windows.sql), with the running totals at the window's end — the day before the
-- period, so whatever has been delivered by today. Reads the temp table `metric_cumulative`.
-- Nothing is frozen: `okr status` and the reports show it so that a key result without a
-- working source is caught before its first day.
WITH upcoming AS (
    SELECT k.*, m.additive, CAST(k.period_end - k.period_start + 1 AS INTEGER) AS period_days
    FROM okr.key_results AS k
    JOIN okr.metrics AS m USING (metric_id)
    WHERE k.period_start > CAST($as_of_date AS DATE)
      AND ($team IS NULL OR k.team = $team)
)
SELECT
    p.kr_id,
    p.objective_id,
    p.team,
    p.title,
    p.metric_id,
    p.measure,
    p.window_days,
    p.period_start,
    p.period_end,
    p.additive,
    p.baseline_kind,
    p.baseline_value,
    p.target_kind,
    p.target_value,
    p.direction,
    p.unit,
    p.baseline_kind = 'measured' OR (p.target_kind = 'relative' AND p.measure = 'total')
        AS measures_window,
    CASE p.measure
        WHEN 'rolling' THEN p.period_start - p.window_days
        WHEN 'latest' THEN before.last_data_date
        ELSE coalesce(p.previous_start, p.period_start - p.period_days)
    END AS w_start,
    CASE p.measure
        WHEN 'latest' THEN before.last_data_date
        ELSE p.period_start - 1
    END AS w_end,
    before.last_data_date,
    before.is_ratio,
    before.cum_value AS end_value,
    before.last_value AS end_last_value,
    before.cum_denominator AS end_denominator,
    before.cum_days AS end_days,
    before.cum_flagged_days AS end_flagged_days
FROM upcoming AS p
LEFT JOIN metric_cumulative AS before
    ON before.metric_id = p.metric_id AND before.day = p.period_start - 1
