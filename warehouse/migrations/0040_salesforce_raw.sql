-- Salesforce records as read, with their provenance, plus the cursor of the incremental read.
-- Written from connectors.salesforce (RECORDS_SCHEMA in connectors/salesforce/parse.py, same
-- column order; run_id is added by the loader). Never holds credentials: the access token
-- travels in a header and is not part of any request hash.

-- Current state: one row = one record as last read (upserted on object, record_id when a
-- newer SystemModstamp arrives). Deleted records stay, flagged, so a deleted opportunity
-- visibly stops counting instead of silently vanishing; an undeleted one comes back.
CREATE TABLE raw.salesforce_records (
    object           VARCHAR     NOT NULL,  -- API name: Opportunity, Lead, ...
    record_id        VARCHAR     NOT NULL,  -- Id (18 characters)
    is_deleted       BOOLEAN     NOT NULL,  -- IsDeleted: in the recycle bin
    system_modstamp  TIMESTAMPTZ NOT NULL,  -- SystemModstamp, the incremental cursor
    fields           MAP(VARCHAR, VARCHAR) NOT NULL,  -- the fields read, as Salesforce's text
    fetched_at       TIMESTAMPTZ NOT NULL,  -- when the answer arrived (UTC)
    request_hash     VARCHAR     NOT NULL,  -- connectors.base.request_hash of the page's request
    run_id           VARCHAR,               -- the Dagster run that read it
    PRIMARY KEY (object, record_id)
);

-- Change history: one row = one version of a record (record, SystemModstamp, deleted) the
-- first time a run saw it. Restated values (an amount corrected after the opportunity was
-- won) stay here, so a key result's history can be explained.
CREATE TABLE raw.salesforce_record_history (
    object           VARCHAR     NOT NULL,
    record_id        VARCHAR     NOT NULL,
    is_deleted       BOOLEAN     NOT NULL,
    system_modstamp  TIMESTAMPTZ NOT NULL,
    fields           MAP(VARCHAR, VARCHAR) NOT NULL,
    fetched_at       TIMESTAMPTZ NOT NULL,  -- first time this version was read
    request_hash     VARCHAR     NOT NULL,
    run_id           VARCHAR,
    PRIMARY KEY (object, record_id, system_modstamp, is_deleted)
);

-- The incremental cursor: one row per object. The next run reads records with SystemModstamp
-- from cursor_modstamp minus the connector's overlap. A full read happens on the first run,
-- when the metrics need other fields or records (read_shape changes), and when the last read
-- is older than the recycle bin's 15 days (a deletion could have been purged unseen).
CREATE TABLE raw.salesforce_sync_state (
    object             VARCHAR     NOT NULL PRIMARY KEY,
    cursor_modstamp    TIMESTAMPTZ,           -- newest SystemModstamp loaded so far
    read_shape         VARCHAR     NOT NULL,  -- the fields and full-read condition last used
    last_fetched_at    TIMESTAMPTZ NOT NULL,  -- when the last successful read ran
    last_full_read_at  TIMESTAMPTZ,           -- when the last full read ran
    last_run_id        VARCHAR,
    records_read       BIGINT      NOT NULL,  -- records the last read returned
    requests           BIGINT      NOT NULL,  -- requests the last read took
    read_kind          VARCHAR     NOT NULL,  -- 'REST' | 'Bulk API 2.0'
    api_usage          VARCHAR                -- Sforce-Limit-Info after the read
);
