-- The key results active in [$from_date, $to_date] as warehouse/running_totals.py reads them:
-- their metric's row in `metric_index` and their days counted from $calendar_start.
SELECT
    k.kr_id,
    i.idx AS metric_idx,
    k.measure,
    k.window_days,
    CAST(k.period_start - CAST($calendar_start AS DATE) AS INTEGER) AS period_start_day,
    CAST(k.period_end - CAST($calendar_start AS DATE) AS INTEGER) AS period_end_day
FROM okr.key_results AS k
JOIN metric_index AS i USING (metric_id)
WHERE k.period_start <= CAST($to_date AS DATE) AND k.period_end >= CAST($from_date AS DATE)
ORDER BY k.kr_id
