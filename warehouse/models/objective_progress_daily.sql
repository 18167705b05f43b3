-- okr.objective_progress_daily rows for [$from_date, $to_date]: one per (as_of_date,
-- objective_id). Score = weighted mean of the key results' scores (unmeasured counts as 0:
-- a number nobody measured is no progress); status = the worst key-result status.
-- The sums add in kr_id order: floating-point addition is not associative, and DuckDB's
-- parallel aggregation would otherwise let a re-run differ in the last bit.
SELECT
    as_of_date,
    objective_id,
    any_value(team) AS team,
    any_value(period_start) AS period_start,
    any_value(period_end) AS period_end,
    sum(weight * coalesce(score, 0) ORDER BY kr_id) / sum(weight ORDER BY kr_id) AS score,
    sum(weight * expected_progress ORDER BY kr_id) / sum(weight ORDER BY kr_id)
        AS expected_progress,
    -- {status_rank}: warehouse/status.py's ranking (1 for the worst), filled in by progress.py
    arg_min(status, {status_rank}) AS status,
    CAST(count(*) AS INTEGER) AS kr_count,
    CAST(count(*) FILTER (WHERE status = 'off_track') AS INTEGER) AS krs_off_track,
    CAST(count(*) FILTER (WHERE status = 'at_risk') AS INTEGER) AS krs_at_risk
FROM okr.kr_progress_daily
WHERE as_of_date BETWEEN $from_date AND $to_date
GROUP BY as_of_date, objective_id
