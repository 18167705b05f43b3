-- Amplitude Dashboard REST API answers as fetched, with their provenance.
-- One row = one request (an event segmentation or a funnel, all days of a window in one
-- request) and Amplitude's answer to it, verbatim. Written by connectors.amplitude
-- (RAW_SCHEMA in connectors/amplitude/parse.py, same column order). Never holds the API key
-- or the secret key: they travel in the Authorization header only.
CREATE TABLE raw.amplitude_answers (
    fetched_at        TIMESTAMPTZ NOT NULL,  -- when the answer arrived (UTC)
    region            VARCHAR     NOT NULL,  -- the project's data region: 'us' or 'eu'
    project_timezone  VARCHAR     NOT NULL,  -- the project's time zone: its days are these days
    path              VARCHAR     NOT NULL,  -- /api/2/events/segmentation or /api/2/funnels
    params            JSON        NOT NULL,  -- the query parameters as sent, [[name, value], ...]
    request_hash      VARCHAR     NOT NULL,  -- connectors.base.request_hash of path and params
    request_kind      VARCHAR     NOT NULL,  -- 'daily' (a daily series) or 'range' (collapsed)
    metric_ids        VARCHAR[]   NOT NULL,  -- okr metric ids this answer served
    range_start       DATE        NOT NULL,  -- first day asked
    range_end         DATE        NOT NULL,  -- last day asked
    partition_date    DATE        NOT NULL,  -- = range_end: what a re-run of a window replaces
    cost              BIGINT      NOT NULL,  -- Amplitude's cost of the query (its rate limits)
    answer            JSON        NOT NULL,  -- the answer as sent
    CHECK (request_kind IN ('daily', 'range')),
    CHECK (range_start <= range_end)
);
