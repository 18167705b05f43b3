-- Money metrics carry the currency their amounts are in, and an amount in another currency
-- than the key result's unit (or two currencies in one ratio or one sum) is a trust flag,
-- `currency_mismatch`, instead of a silently wrong number.
--
-- `currency` is the ISO 4217 code of a metric-day's amounts as the source reported it
-- (GA4 metadata.currencyCode for TYPE_CURRENCY metrics, the Matomo site's currency for revenue
-- columns, the HubSpot company currency for deal amounts); NULL for counts, rates and
-- durations. A HubSpot sum that had to add amounts in several currencies unconverted holds
-- them all, joined by '+' (`EUR+USD`).
ALTER TABLE raw.metric_rows ADD COLUMN currency VARCHAR;
ALTER TABLE raw.metric_ranges ADD COLUMN currency VARCHAR;
ALTER TABLE staging.metric_daily ADD COLUMN currency VARCHAR;
-- The currency a key result's unit names (okr_definitions/currency.py), NULL when it names none.
ALTER TABLE okr.key_results ADD COLUMN currency VARCHAR;

CREATE OR REPLACE VIEW staging.metric_range AS
SELECT
    metric_id, range_start, range_end, value, numerator, denominator, source, request_hash,
    currency
FROM raw.metric_ranges;

-- staging.metric_flags (0009) plus one `currency_mismatch` row per metric-day whose amounts
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
