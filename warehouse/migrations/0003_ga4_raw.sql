-- GA4 Data API answers as fetched, with their provenance.
-- One row = one answer (one page of one runReport, or one report of a batchRunReports call),
-- with the request that produced it and its rows verbatim (values are the API's strings).
-- Written by connectors.ga4 (RAW_SCHEMA in connectors/ga4/parse.py, same column order).
-- Never holds credentials: requests carry no secrets (OAuth tokens travel in headers only).
CREATE TABLE raw.ga4_responses (
    property_id              VARCHAR     NOT NULL,  -- numeric GA4 property id
    report_hash              VARCHAR     NOT NULL,  -- the report across its pages (request without offset/limit)
    request_hash             VARCHAR     NOT NULL,  -- connectors.base.request_hash(request_json)
    request_kind             VARCHAR     NOT NULL,  -- 'daily' (by date) or 'range' (exact windows)
    request_json             JSON        NOT NULL,  -- the RunReportRequest as sent (REST JSON)
    metric_ids               VARCHAR[],             -- okr metric ids this answer served
    date_ranges              STRUCT(name VARCHAR, start_date DATE, end_date DATE)[],
    page_offset              BIGINT      NOT NULL,  -- offset of this page
    page_limit               BIGINT      NOT NULL,  -- limit asked for this page
    row_count                BIGINT      NOT NULL,  -- rowCount: rows of the whole report
    rows_returned            BIGINT      NOT NULL,  -- rows in this answer
    dimension_names          VARCHAR[],             -- dimensionHeaders (incl. implicit dateRange)
    metric_names             VARCHAR[],             -- metricHeaders names
    metric_types             VARCHAR[],             -- metricHeaders types (TYPE_INTEGER, ...)
    rows                     STRUCT(dimension_values VARCHAR[], metric_values VARCHAR[])[],
    time_zone                VARCHAR,               -- metadata.timeZone: the property's days
    currency_code            VARCHAR,               -- metadata.currencyCode (TYPE_CURRENCY unit)
    sampled                  BOOLEAN     NOT NULL,  -- samplingMetadatas present
    sampling_metadatas       STRUCT(samples_read_count BIGINT, sampling_space_size BIGINT)[],
    subject_to_thresholding  BOOLEAN     NOT NULL,  -- metadata.subjectToThresholding
    data_loss_from_other_row BOOLEAN     NOT NULL,  -- metadata.dataLossFromOtherRow
    empty_reason             VARCHAR,               -- metadata.emptyReason
    property_quota_json      JSON,                  -- propertyQuota after this request
    fetched_at               TIMESTAMPTZ NOT NULL,  -- when the answer arrived (UTC)
    partition_date           DATE,                  -- the pipeline partition that fetched it
    CHECK (request_kind IN ('daily', 'range')),
    CHECK (rows_returned = len(rows))
);

-- The answers' rows one per line, for tracing a key-result value back to the API.
-- One row = one row of one GA4 answer.
CREATE VIEW raw.ga4_response_rows AS
SELECT
    r.property_id,
    r.request_hash,
    r.request_kind,
    r.metric_ids,
    r.partition_date,
    r.fetched_at,
    r.dimension_names,
    r.metric_names,
    u.row_values.dimension_values AS dimension_values,
    u.row_values.metric_values AS metric_values
FROM raw.ga4_responses AS r,
    UNNEST(r.rows) AS u(row_values);
