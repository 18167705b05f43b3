-- One row per key result whose period has not started (reads `window_value`:
-- window_values.sql over not_started_windows.sql): the baseline and target as they would be
-- resolved today (kr_baselines_frozen.sql's rules; nothing is stored), the window measured and
-- its value, and whether every source metric the key result reads has delivered any data.
WITH parts AS (
    SELECT metric_id, metric_id AS part_id FROM okr.metrics WHERE kind <> 'ratio'
    UNION ALL
    SELECT metric_id, numerator_metric_id FROM okr.metrics WHERE kind = 'ratio'
    UNION ALL
    SELECT metric_id, denominator_metric_id FROM okr.metrics WHERE kind = 'ratio'
),
part_data AS (
    SELECT
        p.metric_id,
        list(p.part_id ORDER BY p.part_id) FILTER (WHERE d.last_date IS NULL)
            AS metrics_without_data,
        min(d.last_date) AS data_through
    FROM parts AS p
    LEFT JOIN (
        SELECT metric_id, max(date) AS last_date FROM staging.metric_daily
        WHERE coalesce(value, numerator) IS NOT NULL
        GROUP BY metric_id
    ) AS d ON d.metric_id = p.part_id
    GROUP BY p.metric_id
)
SELECT
    w.kr_id,
    w.objective_id,
    w.team,
    w.title,
    coalesce(o.title, w.objective_id) AS objective_title,
    coalesce(t.name, w.team) AS team_name,
    w.metric_id,
    w.measure,
    w.period_start,
    w.period_end,
    w.direction,
    w.unit,
    w.target_kind,
    CASE WHEN w.target_kind = 'relative' THEN w.target_value END AS target_change,
    w.baseline_kind,
    CASE w.baseline_kind
        WHEN 'measured' THEN w.value
        WHEN 'none' THEN NULL
        ELSE w.baseline_value
    END AS baseline,
    CASE
        WHEN w.target_kind = 'absolute' THEN w.target_value
        WHEN w.measure = 'total' OR w.baseline_kind = 'measured' THEN w.value * (1 + w.target_value)
        ELSE w.baseline_value * (1 + w.target_value)
    END AS target,
    CASE WHEN w.measures_window THEN w.value END AS measured_value,
    CASE WHEN w.measures_window THEN w.w_start END AS measured_from,
    CASE WHEN w.measures_window THEN w.w_end END AS measured_through,
    coalesce(pd.metrics_without_data, []) AS metrics_without_data,
    pd.data_through
FROM window_value AS w
LEFT JOIN part_data AS pd ON pd.metric_id = w.metric_id
LEFT JOIN okr.objectives AS o ON o.objective_id = w.objective_id
LEFT JOIN okr.teams AS t ON t.team_id = w.team
