-- HubSpot CRM objects as read, with their provenance, plus the cursor of the incremental read.
-- Written from connectors.hubspot (OBJECTS_SCHEMA and PIPELINE_STAGES_SCHEMA in
-- connectors/hubspot/objects.py, same column order; run_id is added by the loader).
-- Never holds credentials: the access token travels in a header and is not part of any request
-- hash.

-- Current state: one row = one deal or contact as last read (upserted on object_type,
-- object_id when a newer updated_at arrives). Archived objects stay, flagged, so a deleted deal
-- visibly stops counting instead of silently vanishing.
CREATE TABLE raw.hubspot_objects (
    object_type   VARCHAR     NOT NULL,  -- 'deals' | 'contacts'
    object_id     VARCHAR     NOT NULL,  -- HubSpot's record id (hs_object_id), digits
    archived      BOOLEAN     NOT NULL,  -- in HubSpot's recycle bin (deleted)
    created_at    TIMESTAMPTZ,           -- createdAt
    updated_at    TIMESTAMPTZ NOT NULL,  -- updatedAt = hs_lastmodifieddate / lastmodifieddate
    archived_at   TIMESTAMPTZ,           -- archivedAt, for archived objects
    properties    MAP(VARCHAR, VARCHAR) NOT NULL,  -- the properties read, HubSpot's strings
    fetched_at    TIMESTAMPTZ NOT NULL,  -- when the answer arrived (UTC)
    request_hash  VARCHAR     NOT NULL,  -- connectors.base.request_hash of the page's request
    run_id        VARCHAR,               -- the Dagster run that read it
    PRIMARY KEY (object_type, object_id),
    CHECK (object_type IN ('deals', 'contacts'))
);

-- Change history: one row = one version of an object (object, updated_at) the first time a run
-- saw it. Restated past values (an amount corrected after the deal was counted) stay here, so
-- a key result's history can be explained.
CREATE TABLE raw.hubspot_object_history (
    object_type   VARCHAR     NOT NULL,
    object_id     VARCHAR     NOT NULL,
    archived      BOOLEAN     NOT NULL,
    created_at    TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL,
    archived_at   TIMESTAMPTZ,
    properties    MAP(VARCHAR, VARCHAR) NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL,  -- first time this version was read
    request_hash  VARCHAR     NOT NULL,
    run_id        VARCHAR,
    PRIMARY KEY (object_type, object_id, updated_at, archived)
);

-- Deal pipelines: one row = one stage of one pipeline, as of the last read (replaced whole).
-- `outcome` comes from the stage metadata (isClosed, probability), never from the stage id.
CREATE TABLE raw.hubspot_pipelines (
    object_type             VARCHAR     NOT NULL,  -- 'deals'
    pipeline_id             VARCHAR     NOT NULL,
    pipeline_label          VARCHAR,
    pipeline_display_order  INTEGER,
    pipeline_archived       BOOLEAN     NOT NULL,
    stage_id                VARCHAR     NOT NULL,
    stage_label             VARCHAR,
    stage_display_order     INTEGER,
    is_closed               BOOLEAN,               -- metadata.isClosed (NULL when absent)
    probability             DOUBLE,                -- metadata.probability
    outcome                 VARCHAR     NOT NULL,  -- 'won' | 'lost' | 'open'
    stage_archived          BOOLEAN     NOT NULL,
    fetched_at              TIMESTAMPTZ NOT NULL,
    request_hash            VARCHAR     NOT NULL,
    run_id                  VARCHAR,
    PRIMARY KEY (object_type, pipeline_id, stage_id),
    CHECK (outcome IN ('won', 'lost', 'open'))
);

-- The incremental cursor: one row per object type. The next run reads objects modified since
-- cursor_updated_at minus the connector's overlap (search index lag). A cursor older than 90
-- days cannot see every archived object (HubSpot's recycle bin keeps them 90 days): then the
-- loader runs a full read, recorded in last_full_read_at.
CREATE TABLE raw.hubspot_sync_state (
    object_type        VARCHAR     NOT NULL PRIMARY KEY,
    cursor_updated_at  TIMESTAMPTZ,           -- newest updated_at loaded so far
    last_fetched_at    TIMESTAMPTZ NOT NULL,  -- when the last successful read ran
    last_full_read_at  TIMESTAMPTZ,           -- when all objects were last read
    last_run_id        VARCHAR,
    objects_read       BIGINT      NOT NULL,  -- rows the last read returned
    CHECK (object_type IN ('deals', 'contacts'))
);
