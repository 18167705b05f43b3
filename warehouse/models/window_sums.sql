-- The rows of `windows` (a CTE: baseline_windows.sql or not_started_windows.sql; columns
-- metric_id, w_start and the running totals at the window's end end_value (a ratio: its
-- numerator's), end_last_value, end_denominator, end_days, end_flagged_days), each with the
-- sums over [w_start, the end]: a difference of the running totals of the temp table
-- `metric_cumulative` at the end and on the day before w_start. The running totals are exact
-- decimals, so a difference is the exact sum of its days. The daily key-result rows get the
-- same sums from warehouse/running_totals.py instead (kept in arrays).
SELECT
    w.*,
    w.end_value - coalesce(s.cum_value, 0) AS sum_value,
    w.end_denominator - coalesce(s.cum_denominator, 0) AS sum_denominator,
    coalesce(w.end_days, 0) - coalesce(s.cum_days, 0) AS days,
    w.end_flagged_days - coalesce(s.cum_flagged_days, 0) AS flagged_days,
    w.end_last_value AS last_value
FROM windows AS w
LEFT JOIN metric_cumulative AS s ON s.metric_id = w.metric_id AND s.day = w.w_start - 1
