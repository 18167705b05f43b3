-- status_reason(s): why a key result's day has the status it has, in words, for a row `s`
-- with the columns below (NULL when the status needs no reason). One definition for both
-- writers of okr.kr_progress_daily: kr_progress_daily.sql (the SQL chain) and
-- kr_status_reason.sql (the rows of warehouse/daily_rows.py that have a reason). A macro is
-- expanded where it is used, so it costs nothing beyond the CASE itself.
CREATE OR REPLACE TEMP MACRO status_reason(s) AS
CASE
    WHEN s.data_through IS NULL THEN
        'nothing measured' || coalesce(' from ' || s.metric_source, '') || ' since '
        || s.period_start
    WHEN s.value IS NULL AND s.window_denominator = 0 THEN
        'the denominator is 0 for ' || s.w_start || '..' || s.w_end
    WHEN s.value IS NULL THEN
        coalesce(s.metric_source, 'the source') || ' has no value for ' || s.w_start || '..'
        || s.w_end
    WHEN s.as_of_date - s.data_through > s.allowed_lag_days THEN
        'data' || coalesce(' from ' || s.metric_source, '') || ' through ' || s.data_through
        || ', ' || (s.as_of_date - s.data_through) || ' days old; the source allows '
        || s.allowed_lag_days
    WHEN s.target IS NULL
        OR (s.baseline IS NULL AND coalesce(s.direction_used, '') NOT IN ('at_least', 'at_most'))
        THEN 'baseline not measurable yet: no complete data before ' || s.period_start
    WHEN s.progress IS NULL THEN 'target equals the baseline'
    WHEN s.target = s.baseline AND s.direction_used IN ('increase', 'decrease') THEN
        'target equals the baseline, ' || s.baseline
        || CASE WHEN s.measured_from IS NOT NULL THEN
               ' (measured ' || s.measured_value || ' over ' || s.measured_from || '..'
               || s.measured_through || ')'
           ELSE '' END
        || ': met while the value is '
        || CASE s.direction_used WHEN 'increase' THEN 'at least ' ELSE 'at most ' END
        || s.target || ' (it is ' || s.value || ')'
END;
