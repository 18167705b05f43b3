-- Mixpanel requests as sent, with their provenance.
-- One row = one request: a Raw Event Export request (one filter set over the run's days; its
-- events are summarised by count, they are counted in DuckDB and not stored) or a Query API
-- request for a saved report (its answer verbatim).
-- Written by connectors.mixpanel (RAW_SCHEMA in connectors/mixpanel/parse.py, same columns).
-- Never holds credentials: the service account travels in the Authorization header only.
CREATE TABLE raw.mixpanel_requests (
    request_hash      VARCHAR     NOT NULL,  -- connectors.base.request_hash of path and params
    request_kind      VARCHAR     NOT NULL,  -- 'export', 'insights' or 'funnels'
    project_id        BIGINT      NOT NULL,
    project_timezone  VARCHAR     NOT NULL,  -- the zone whose days the rows count
    params            JSON        NOT NULL,  -- the query string as sent
    metric_ids        VARCHAR[],             -- okr metric ids this request served
    event_count       BIGINT,                -- export: events in the answer
    answer_bytes      BIGINT      NOT NULL,
    answer            JSON,                  -- Query API answers verbatim
    fetched_at        TIMESTAMPTZ NOT NULL,
    partition_date    DATE        NOT NULL,  -- the last day of the run's window
    CHECK (request_kind IN ('export', 'insights', 'funnels'))
);
