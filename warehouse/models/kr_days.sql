-- One row per (kr_id, as_of_date) for as_of_date in [$from_date, $to_date] inside the key
-- result's period: the newest measured day (`data_through`) and the window its value reads.
WITH kr AS (
    -- Only what the math and the output need: every column here is written once per day.
    SELECT
        k.kr_id, k.objective_id, k.team, k.metric_id, k.measure, k.window_days,
        k.period_start, k.period_end, k.baseline_kind, k.baseline_value, k.target_kind,
        k.target_value, k.direction, k.commitment, k.weight, k.unit, k.definition_hash,
        m.additive, m.allowed_lag_days
    FROM okr.key_results AS k
    JOIN okr.metrics AS m USING (metric_id)
),
as_of AS (
    SELECT kr.*, CAST(g.d AS DATE) AS as_of_date
    FROM kr
    CROSS JOIN generate_series(
        CAST($from_date AS DATE), CAST($to_date AS DATE), INTERVAL 1 DAY
    ) AS g(d)
    WHERE CAST(g.d AS DATE) BETWEEN kr.period_start AND kr.period_end
),
through AS (
    SELECT
        a.*,
        -- The period's own data only: a key result with nothing measured since its start
        -- has no value yet, whatever happened before.
        CASE WHEN c.last_data_date >= a.period_start THEN c.last_data_date END AS data_through
    FROM as_of AS a
    LEFT JOIN metric_cumulative AS c ON c.metric_id = a.metric_id AND c.day = a.as_of_date
)
SELECT
    -- An id to join the window values back by; any order will do, and sorting 100,000s of
    -- (kr_id, day) rows only to number them costs more than the rest of this query.
    row_number() OVER () AS window_id,
    *,
    CASE measure
        WHEN 'rolling' THEN data_through - window_days + 1
        WHEN 'latest' THEN data_through
        ELSE period_start
    END AS w_start,
    data_through AS w_end
FROM through
