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
-- The currency_mismatch flags are in staging.metric_flags (0012).
