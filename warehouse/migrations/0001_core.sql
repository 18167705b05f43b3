-- Core schemas and the public tables of okr-sync.
-- Public names (tables, columns) are a contract with dashboards and queries: change them only
-- with a new migration.

CREATE SCHEMA raw;
CREATE SCHEMA staging;
CREATE SCHEMA okr;

-- Definitions, replaced whole each time the YAML is loaded. One row per declared item.
CREATE TABLE okr.teams (
    team_id     VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    owner       VARCHAR
);

CREATE TABLE okr.objectives (
    objective_id  VARCHAR NOT NULL,
    team          VARCHAR NOT NULL,
    title         VARCHAR NOT NULL,
    description   VARCHAR,
    period_start  DATE NOT NULL,
    period_end    DATE NOT NULL,
    source_file   VARCHAR NOT NULL
);

CREATE TABLE okr.metrics (
    metric_id                VARCHAR NOT NULL,
    kind                     VARCHAR NOT NULL,   -- source | ratio
    source                   VARCHAR,            -- file, ga4, matomo, hubspot (NULL for ratio)
    query_json               VARCHAR,            -- the source query, as declared (no secrets)
    numerator_metric_id      VARCHAR,
    denominator_metric_id    VARCHAR,
    additive                 BOOLEAN NOT NULL,   -- may daily values be summed across days?
    allowed_lag_days         INTEGER NOT NULL,
    unit                     VARCHAR,
    description              VARCHAR,
    definition_hash          VARCHAR NOT NULL
);

CREATE TABLE okr.key_results (
    kr_id            VARCHAR NOT NULL,
    objective_id     VARCHAR NOT NULL,
    team             VARCHAR NOT NULL,
    title            VARCHAR NOT NULL,
    metric_id        VARCHAR NOT NULL,
    measure          VARCHAR NOT NULL,  -- total | rolling | latest | average
    window_days      INTEGER,           -- N of rolling_<N>d
    period_start     DATE NOT NULL,
    period_end       DATE NOT NULL,
    baseline_kind    VARCHAR NOT NULL,  -- number | measured | zero | none
    baseline_value   DOUBLE,
    target_kind      VARCHAR NOT NULL,  -- absolute | relative
    target_value     DOUBLE NOT NULL,   -- absolute target, or relative change (0.4 = +40 %)
    direction        VARCHAR,           -- NULL: inferred from baseline and target
    commitment       VARCHAR NOT NULL,  -- committed | aspirational
    weight           DOUBLE NOT NULL,
    unit             VARCHAR,
    definition_hash  VARCHAR NOT NULL,
    source_file      VARCHAR NOT NULL
);

-- Measured baselines and previous-period targets, frozen the first time they can be measured
-- (per definition hash: editing the key result measures them again).
CREATE TABLE okr.kr_baselines (
    kr_id            VARCHAR NOT NULL,
    definition_hash  VARCHAR NOT NULL,
    baseline         DOUBLE,
    target           DOUBLE,
    measured_at      TIMESTAMPTZ NOT NULL
);

-- Metric rows as the sources delivered them, with provenance. Each source replaces its own
-- rows for the days it fetched.
CREATE TABLE raw.metric_rows (
    source          VARCHAR NOT NULL,
    metric_id       VARCHAR NOT NULL,
    date            DATE NOT NULL,
    value           DOUBLE,
    numerator       DOUBLE,
    denominator     DOUBLE,
    request_hash    VARCHAR NOT NULL,
    fetched_at      TIMESTAMPTZ NOT NULL,
    partition_date  DATE NOT NULL
);

CREATE TABLE raw.metric_ranges (
    source          VARCHAR NOT NULL,
    metric_id       VARCHAR NOT NULL,
    range_start     DATE NOT NULL,
    range_end       DATE NOT NULL,
    value           DOUBLE,
    numerator       DOUBLE,
    denominator     DOUBLE,
    request_hash    VARCHAR NOT NULL,
    fetched_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE raw.metric_flags (
    source          VARCHAR NOT NULL,
    metric_id       VARCHAR NOT NULL,
    date            DATE NOT NULL,
    flag            VARCHAR NOT NULL,
    reason          VARCHAR,
    fetched_at      TIMESTAMPTZ NOT NULL
);

-- The file source's reads: which file (and which version of it) each row came from.
CREATE TABLE raw.file_reads (
    request_hash    VARCHAR NOT NULL,
    metric_id       VARCHAR NOT NULL,
    path            VARCHAR NOT NULL,
    file_sha256     VARCHAR NOT NULL,
    rows_read       BIGINT NOT NULL,
    window_start    DATE NOT NULL,
    window_end      DATE NOT NULL,
    fetched_at      TIMESTAMPTZ NOT NULL
);

-- One row per (metric, day): the cleaned daily values every key result is computed from.
CREATE TABLE staging.metric_daily (
    metric_id     VARCHAR NOT NULL,
    date          DATE NOT NULL,
    value         DOUBLE,
    numerator     DOUBLE,
    denominator   DOUBLE,
    source        VARCHAR NOT NULL,
    request_hash  VARCHAR NOT NULL,
    fetched_at    TIMESTAMPTZ NOT NULL
);

-- One row per (as_of_date, kr_id): where a key result stood on that day.
CREATE TABLE okr.kr_progress_daily (
    as_of_date         DATE NOT NULL,
    kr_id              VARCHAR NOT NULL,
    objective_id       VARCHAR NOT NULL,
    team               VARCHAR NOT NULL,
    metric_id          VARCHAR NOT NULL,
    measure            VARCHAR NOT NULL,
    period_start       DATE NOT NULL,
    period_end         DATE NOT NULL,
    value              DOUBLE,
    baseline           DOUBLE,
    target             DOUBLE,
    direction          VARCHAR,
    progress           DOUBLE,
    score              DOUBLE,
    expected_progress  DOUBLE NOT NULL,
    status             VARCHAR NOT NULL,
    status_reason      VARCHAR,
    data_through       DATE,
    commitment         VARCHAR NOT NULL,
    weight             DOUBLE NOT NULL,
    unit               VARCHAR,
    flags              VARCHAR[] NOT NULL,
    definition_hash    VARCHAR NOT NULL
);

-- One row per (as_of_date, objective_id).
CREATE TABLE okr.objective_progress_daily (
    as_of_date         DATE NOT NULL,
    objective_id       VARCHAR NOT NULL,
    team               VARCHAR NOT NULL,
    period_start       DATE NOT NULL,
    period_end         DATE NOT NULL,
    score              DOUBLE NOT NULL,
    expected_progress  DOUBLE NOT NULL,
    status             VARCHAR NOT NULL,
    kr_count           INTEGER NOT NULL,
    krs_off_track      INTEGER NOT NULL,
    krs_at_risk        INTEGER NOT NULL
);

-- The newest row of each key result.
CREATE VIEW okr.kr_progress_latest AS
SELECT *
FROM okr.kr_progress_daily
QUALIFY row_number() OVER (PARTITION BY kr_id ORDER BY as_of_date DESC) = 1;

CREATE VIEW staging.metric_range AS
SELECT metric_id, range_start, range_end, value, numerator, denominator, source, request_hash
FROM raw.metric_ranges;

CREATE VIEW staging.metric_flags AS
SELECT DISTINCT metric_id, date, flag, reason, source
FROM raw.metric_flags;
