-- The numbers people need to take a key result at face value (issue 21):
--   okr.key_results.previous_start / previous_end  the period a relative target on a total,
--       and an `average` measured baseline, compare with: for a named period (2026-Q3,
--       2026-07) the previous calendar period of the same kind, for explicit dates the same
--       number of days just before them
--   okr.kr_baselines.measured_value / window_start / window_end  what a measured baseline or
--       a previous-period target was derived from: the value over that window
--   staging.metric_flags  also lists the ratio days counted as not measured because the
--       numerator has a value and the denominator is 0 or missing (flag `no_denominator`)
-- Numbered 0011, not 0010: the currency branch (a currency flag on key results) adds its own
-- 0010, and two migrations of one number would leave the second unapplied on some files.
-- The columns are added IF NOT EXISTS, so applying it again is harmless.
ALTER TABLE okr.key_results ADD COLUMN IF NOT EXISTS previous_start DATE;
ALTER TABLE okr.key_results ADD COLUMN IF NOT EXISTS previous_end DATE;
ALTER TABLE okr.kr_baselines ADD COLUMN IF NOT EXISTS measured_value DOUBLE;
ALTER TABLE okr.kr_baselines ADD COLUMN IF NOT EXISTS window_start DATE;
ALTER TABLE okr.kr_baselines ADD COLUMN IF NOT EXISTS window_end DATE;

CREATE OR REPLACE VIEW staging.metric_flags AS
SELECT DISTINCT metric_id, date, flag, reason, source
FROM raw.metric_flags
UNION
SELECT DISTINCT
    metric_id,
    date,
    'restated' AS flag,
    'value changed after it was first loaded (see staging.metric_revisions)' AS reason,
    source
FROM staging.metric_revisions
UNION
-- A rate the source delivers as numerator and denominator, with a denominator of 0.
SELECT
    metric_id,
    date,
    'no_denominator' AS flag,
    'numerator ' || numerator || ' with denominator 0: the day is not counted in the ratio'
        AS reason,
    source
FROM staging.metric_daily
WHERE numerator > 0 AND denominator = 0
UNION
-- A ratio of two metrics: the numerator has a value on a day the denominator is 0 or has none
-- although its source delivered later days (a day it has not reached yet is only late).
SELECT
    r.metric_id,
    num.date,
    'no_denominator' AS flag,
    r.numerator_metric_id || ' ' || num.value || ' with '
        || CASE WHEN den.value = 0 THEN r.denominator_metric_id || ' 0'
                ELSE 'no ' || r.denominator_metric_id END
        || ': the day is not counted in the ratio' AS reason,
    num.source
FROM okr.metrics AS r
JOIN staging.metric_daily AS num ON num.metric_id = r.numerator_metric_id
LEFT JOIN staging.metric_daily AS den
    ON den.metric_id = r.denominator_metric_id AND den.date = num.date
WHERE r.kind = 'ratio' AND num.value > 0 AND coalesce(den.value, 0) = 0
  AND num.date <= (
      SELECT max(d.date) FROM staging.metric_daily AS d
      WHERE d.metric_id = r.denominator_metric_id
  );
