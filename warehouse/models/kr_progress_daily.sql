-- okr.kr_progress_daily rows: one per (as_of_date, kr_id), from `window_value`
-- (window_values.sql over kr_days.sql). The math is the product contract:
--   progress = (v − b) / (t − b) for increase/decrease (unclamped: below baseline is negative)
--   at_least / at_most: 1 when the level holds, else v/t or t/v
--   a target equal to its baseline by data (a previous period of zeros): 1 when the value is
--   at or beyond the target in the key result's direction, else 0 — there is no distance
--   to make partial progress over
--   score = clamp(progress, 0, 1); expected = days elapsed / days in period (× pace), and 1.0
--   throughout for at_least / at_most: a level must hold every day, it has no pace
-- Status compares the unclamped progress with the expected pace.
-- warehouse/daily_rows.py computes the same rows in arrays (with kr_facts.sql and
-- kr_status_reason.sql), and this chain writes them where the arrays do not cover the data: a
-- change here is a change there (tests/warehouse/test_daily_rows.py compares both).
WITH flag_kinds AS (
    -- Per metric, the kinds of data-quality flag on it (a ratio: on either part) within the
    -- running totals' calendar (the temp table `metric_flag_days`). Whether a window holds a flagged day is a difference of
    -- running counts (window_values.sql); which flags, for the usual metric with one kind,
    -- is that kind. Only a metric with several kinds carries its flagged days, to check each
    -- window against: rows stream through this statement without a range join on flags.
    SELECT
        metric_id,
        list(DISTINCT flag ORDER BY flag) AS kinds,
        CASE WHEN count(DISTINCT flag) > 1 THEN list({'flag': flag, 'date': date}) END
            AS flag_days
    FROM metric_flag_days
    GROUP BY metric_id
),
metric_source AS (
    -- The source a key result's metric reads (a ratio: both parts', "ga4+matomo"), so the
    -- reason of a stale or unmeasured key result names where the data stopped.
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
        w.*,
        ms.source AS metric_source,
        fk.kinds AS flag_kinds,
        fk.flag_days,
        CASE w.baseline_kind
            WHEN 'measured' THEN f.baseline
            WHEN 'none' THEN NULL
            ELSE w.baseline_value
        END AS baseline,
        CASE
            WHEN w.target_kind = 'absolute' THEN w.target_value
            WHEN w.measure = 'total' OR w.baseline_kind = 'measured' THEN f.target
            ELSE w.baseline_value * (1 + w.target_value)
        END AS target,
        CASE
            WHEN w.direction IN ('at_least', 'at_most') THEN 1.0
            ELSE least(greatest(
                (w.as_of_date - w.period_start + 1) / (w.period_end - w.period_start + 1), 0.0),
                1.0)
                * CASE w.commitment WHEN 'aspirational' THEN $aspirational_pace ELSE 1.0 END
        END AS expected_progress,
        f.measured_value,
        f.window_start AS measured_from,
        f.window_end AS measured_through
    FROM window_value AS w
    LEFT JOIN okr.kr_baselines AS f
        ON f.kr_id = w.kr_id AND f.definition_hash = w.definition_hash
    LEFT JOIN flag_kinds AS fk ON fk.metric_id = w.metric_id
    LEFT JOIN metric_source AS ms ON ms.metric_id = w.metric_id
),
directed AS (
    SELECT
        *,
        coalesce(direction, CASE WHEN target > baseline THEN 'increase'
                                 WHEN target < baseline THEN 'decrease' END) AS direction_used
    FROM resolved
),
scored AS (
    SELECT
        *,
        CASE
            WHEN value IS NULL OR target IS NULL THEN NULL
            WHEN direction_used = 'at_least' THEN
                CASE WHEN value >= target THEN 1.0 ELSE value / target END
            WHEN direction_used = 'at_most' THEN
                CASE WHEN value <= target THEN 1.0 WHEN value = 0 THEN 1.0 ELSE target / value END
            WHEN baseline IS NULL THEN NULL
            WHEN target = baseline THEN
                CASE direction_used
                    WHEN 'increase' THEN CASE WHEN value >= target THEN 1.0 ELSE 0.0 END
                    WHEN 'decrease' THEN CASE WHEN value <= target THEN 1.0 ELSE 0.0 END
                END
            ELSE (value - baseline) / (target - baseline)
        END AS progress
    FROM directed
)
SELECT
    s.as_of_date,
    s.kr_id,
    s.objective_id,
    s.team,
    s.metric_id,
    s.measure,
    s.period_start,
    s.period_end,
    s.value,
    s.baseline,
    s.target,
    s.direction_used AS direction,
    s.progress,
    -- greatest/least skip NULLs in DuckDB: an unmeasured key result must keep a NULL score.
    CASE WHEN s.progress IS NOT NULL THEN greatest(0.0, least(1.0, s.progress)) END AS score,
    s.expected_progress,
    CASE
        WHEN s.value IS NULL THEN 'no_data'
        WHEN s.as_of_date - s.data_through > s.allowed_lag_days THEN 'stale'
        WHEN s.progress IS NULL THEN 'no_data'
        WHEN s.progress >= 1.0 - 1e-9 THEN 'achieved'
        -- A level below its floor (or above its ceiling) is never on track: how far decides.
        WHEN s.direction_used IN ('at_least', 'at_most') THEN
            CASE WHEN s.progress >= 1.0 - $at_risk_margin - 1e-9 THEN 'at_risk' ELSE 'off_track' END
        WHEN s.progress >= s.expected_progress - $on_track_margin - 1e-9 THEN 'on_track'
        WHEN s.progress >= s.expected_progress - $at_risk_margin - 1e-9 THEN 'at_risk'
        ELSE 'off_track'
    END AS status,
    status_reason(s) AS status_reason,  -- status_reason.sql's words
    s.data_through,
    s.commitment,
    s.weight,
    s.unit,
    -- Flags on any day from the window's start through the as-of day (a ratio: on either
    -- part).
    CASE
        WHEN s.w_end IS NULL OR s.flagged_days = 0 THEN []::VARCHAR[]
        WHEN len(s.flag_kinds) = 1 THEN s.flag_kinds
        ELSE list_sort(list_distinct(
            [d.flag FOR d IN s.flag_days IF d.date BETWEEN s.w_start AND s.as_of_date]))
    END AS flags,
    s.definition_hash
FROM scored AS s
