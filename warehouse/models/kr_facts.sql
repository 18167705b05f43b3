-- One row per key result of `kr_day_index` (idx: its position in warehouse/running_totals.py's
-- rows): what each of its daily rows repeats, and its baseline, target and direction, resolved
-- once per key result by the rules kr_progress_daily.sql applies per row (`resolved`,
-- `directed`): warehouse/daily_rows.py computes the daily rows from them.
-- tests/warehouse/test_daily_rows.py checks that both write the same rows.
WITH metric_source AS (
    -- The source a key result's metric reads (a ratio: both parts', "ga4+matomo").
    SELECT
        m.metric_id,
        coalesce(m.source, (
            SELECT string_agg(DISTINCT p.source, '+' ORDER BY p.source)
            FROM okr.metrics AS p
            WHERE p.metric_id IN (m.numerator_metric_id, m.denominator_metric_id)
        )) AS source
    FROM okr.metrics AS m
),
resolved AS (
    SELECT
        i.idx,
        k.kr_id,
        k.objective_id,
        k.team,
        k.metric_id,
        k.measure,
        k.period_start,
        k.period_end,
        k.commitment,
        k.weight,
        k.unit,
        k.definition_hash,
        k.direction AS declared_direction,
        m.additive,
        m.allowed_lag_days,
        ms.source AS metric_source,
        CASE k.baseline_kind
            WHEN 'measured' THEN f.baseline
            WHEN 'none' THEN NULL
            ELSE k.baseline_value
        END AS baseline,
        CASE
            WHEN k.target_kind = 'absolute' THEN k.target_value
            WHEN k.measure = 'total' OR k.baseline_kind = 'measured' THEN f.target
            ELSE k.baseline_value * (1 + k.target_value)
        END AS target,
        f.measured_value,
        f.window_start AS measured_from,
        f.window_end AS measured_through
    FROM kr_day_index AS i
    JOIN okr.key_results AS k USING (kr_id)
    JOIN okr.metrics AS m USING (metric_id)
    LEFT JOIN okr.kr_baselines AS f
        ON f.kr_id = k.kr_id AND f.definition_hash = k.definition_hash
    LEFT JOIN metric_source AS ms ON ms.metric_id = k.metric_id
)
SELECT
    *,
    coalesce(declared_direction, CASE WHEN target > baseline THEN 'increase'
                                      WHEN target < baseline THEN 'decrease' END) AS direction
FROM resolved
ORDER BY idx
