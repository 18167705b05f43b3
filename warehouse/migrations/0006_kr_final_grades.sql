-- okr.kr_final_grades: one row per (kr_id, period) whose period has ended — the key result's
-- final grade for the quarter retro, read from its okr.kr_progress_daily row of the period's
-- last day.
--
-- A view, not a table: a source restating the last days of the quarter (GA4 and Matomo do)
-- re-computes the progress rows, and the grade must follow them without a second model to
-- keep in step. It reads okr.kr_progress_daily only (titles are joined by the reader), so the
-- grades of last quarter survive when the YAML moves on to the next one.
--
--   final_score     the score at period end (clamped progress); an unmeasured key result
--                   counts as 0, as in the objective score
--   expected_score  the pace at period end: 1.0 for committed, the aspirational pace (0.7)
--   met             final_score reached expected_score
--   committed_miss  a committed key result that ended below 1.0: the retro's first topic
CREATE VIEW okr.kr_final_grades AS
SELECT
    p.kr_id,
    p.objective_id,
    p.team,
    p.period_start,
    p.period_end,
    p.as_of_date AS graded_on,
    p.metric_id,
    p.measure,
    p.value,
    p.baseline,
    p.target,
    p.direction,
    p.unit,
    p.progress,
    coalesce(p.score, 0.0) AS final_score,
    p.expected_progress AS expected_score,
    p.commitment,
    p.weight,
    p.status AS final_status,
    p.status_reason,
    p.data_through,
    p.flags,
    -- 1e-9: the same tolerance the status model uses, so 0.7 computed as 0.69999… still meets
    coalesce(p.score, 0.0) >= p.expected_progress - 1e-9 AS met,
    p.commitment = 'committed' AND coalesce(p.score, 0.0) < 1.0 - 1e-9 AS committed_miss
FROM okr.kr_progress_daily AS p
WHERE p.as_of_date = p.period_end;
