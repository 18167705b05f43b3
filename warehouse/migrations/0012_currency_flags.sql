-- staging.metric_flags as 0011 defines it, plus the currency flags of 0010's columns.
-- Numbered after 0011 because both replace this view: the later one must hold all rows.
-- One `currency_mismatch` row per metric-day whose amounts
-- cannot be shown as they are:
-- 1. a key result's unit names a currency and a metric its value reads is in another one
--    (flagged on the key result's metric, so only key results reading it carry the flag);
-- 2. a ratio whose numerator and denominator are in different currencies;
-- 3. a sum that added amounts in several currencies (`EUR+USD`).
CREATE OR REPLACE VIEW staging.metric_flags AS
WITH kr_parts AS (
    SELECT DISTINCT k.kr_id, k.metric_id, k.currency, p.part_id
    FROM okr.key_results AS k
    JOIN okr.metrics AS m ON m.metric_id = k.metric_id,
        unnest([m.metric_id, m.numerator_metric_id, m.denominator_metric_id]) AS p(part_id)
    WHERE k.currency IS NOT NULL AND p.part_id IS NOT NULL
)
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
  )
UNION
SELECT DISTINCT
    kp.metric_id,
    d.date,
    'currency_mismatch' AS flag,
    'amounts of ' || d.metric_id || ' are in ' || d.currency || ' (' || d.source
    || '), but key result ' || kp.kr_id || ' is in ' || kp.currency
    || ': shown unconverted' AS reason,
    d.source
FROM kr_parts AS kp
JOIN staging.metric_daily AS d ON d.metric_id = kp.part_id
WHERE d.currency IS NOT NULL AND d.currency <> kp.currency AND d.currency NOT LIKE '%+%'
UNION
SELECT DISTINCT
    m.metric_id,
    n.date,
    'currency_mismatch' AS flag,
    'numerator ' || n.metric_id || ' is in ' || n.currency || ' (' || n.source
    || '), denominator ' || dn.metric_id || ' in ' || dn.currency || ' (' || dn.source
    || '): the ratio divides amounts in different currencies' AS reason,
    n.source
FROM okr.metrics AS m
JOIN staging.metric_daily AS n ON n.metric_id = m.numerator_metric_id
JOIN staging.metric_daily AS dn ON dn.metric_id = m.denominator_metric_id AND dn.date = n.date
WHERE n.currency <> dn.currency
UNION
SELECT DISTINCT
    metric_id,
    date,
    'currency_mismatch' AS flag,
    'amounts in ' || replace(currency, '+', ' and ') || ' were added unconverted ('
    || source || ')' AS reason,
    source
FROM staging.metric_daily
WHERE currency LIKE '%+%';
