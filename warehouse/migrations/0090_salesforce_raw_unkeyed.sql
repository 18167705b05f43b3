-- Salesforce's current records and change history without primary-key indexes. The loader
-- (warehouse/sources/salesforce.py) keeps one row per record and one per version itself: a
-- full read replaces the object's records with one row each, an incremental read merges its
-- newest versions, and the history takes only versions it does not hold. The indexes cost a
-- quarter of a first read's load (200,000 opportunities: about 0.25 s of 0.9 s) and answered
-- no query. Same columns, same order; the rows are copied as they are.

CREATE TABLE raw.salesforce_records_unkeyed (
    object           VARCHAR     NOT NULL,  -- API name: Opportunity, Lead, ...
    record_id        VARCHAR     NOT NULL,  -- Id (18 characters); one row per record
    is_deleted       BOOLEAN     NOT NULL,  -- IsDeleted: in the recycle bin
    system_modstamp  TIMESTAMPTZ NOT NULL,  -- SystemModstamp, the incremental cursor
    fields           MAP(VARCHAR, VARCHAR) NOT NULL,  -- the fields read, as Salesforce's text
    fetched_at       TIMESTAMPTZ NOT NULL,  -- when the answer arrived (UTC)
    request_hash     VARCHAR     NOT NULL,  -- connectors.base.request_hash of the page's request
    run_id           VARCHAR                -- the Dagster run that read it
);
INSERT INTO raw.salesforce_records_unkeyed SELECT * FROM raw.salesforce_records;
DROP TABLE raw.salesforce_records;
ALTER TABLE raw.salesforce_records_unkeyed RENAME TO salesforce_records;

CREATE TABLE raw.salesforce_record_history_unkeyed (
    object           VARCHAR     NOT NULL,  -- one row per (object, record_id, system_modstamp,
    record_id        VARCHAR     NOT NULL,  --   is_deleted): a version, as first read
    is_deleted       BOOLEAN     NOT NULL,
    system_modstamp  TIMESTAMPTZ NOT NULL,
    fields           MAP(VARCHAR, VARCHAR) NOT NULL,
    fetched_at       TIMESTAMPTZ NOT NULL,  -- first time this version was read
    request_hash     VARCHAR     NOT NULL,
    run_id           VARCHAR
);
INSERT INTO raw.salesforce_record_history_unkeyed SELECT * FROM raw.salesforce_record_history;
DROP TABLE raw.salesforce_record_history;
ALTER TABLE raw.salesforce_record_history_unkeyed RENAME TO salesforce_record_history;
