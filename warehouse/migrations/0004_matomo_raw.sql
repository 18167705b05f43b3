-- Matomo Reporting API answers as fetched, with their provenance.
-- One row = one sub-request of an API.getBulkRequest call, for one site-local day
-- (period 'day') or one exact window (period 'range'), with Matomo's answer for it verbatim.
-- Written by connectors.matomo (RAW_SCHEMA, same column order). Never holds token_auth.
CREATE TABLE raw.matomo_answers (
    fetched_at        TIMESTAMPTZ NOT NULL,  -- when the bulk request was answered (UTC)
    site_id           INTEGER     NOT NULL,  -- Matomo idSite
    site_timezone     VARCHAR     NOT NULL,  -- the site's time zone: its days are these days
    method            VARCHAR     NOT NULL,  -- report method, e.g. Goals.get
    params            VARCHAR     NOT NULL,  -- JSON of the sub-request's parameters, no token
    request_hash      VARCHAR     NOT NULL,  -- connectors.base.request_hash of params
    bulk_request_hash VARCHAR     NOT NULL,  -- the whole bulk request (all urls[i]), no token
    period            VARCHAR     NOT NULL,  -- 'day' or 'range'
    partition_date    DATE        NOT NULL,  -- the day answered (range: its last day)
    range_start       DATE        NOT NULL,  -- = partition_date for period 'day'
    range_end         DATE        NOT NULL,
    provisional       BOOLEAN     NOT NULL,  -- touches today/yesterday (site tz): will change
    answer            JSON        NOT NULL,  -- Matomo's answer for that day/window, as sent
    CHECK (period IN ('day', 'range')),
    CHECK (range_start <= range_end)
);
