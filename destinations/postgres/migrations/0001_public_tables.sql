-- The public tables of okr-sync in PostgreSQL: the same names, columns and types as in the
-- DuckDB warehouse (warehouse/migrations/), with primary keys. {okr} and {staging} are the
-- schema names with the configured prefix. Change them only with a new migration.

CREATE SCHEMA IF NOT EXISTS {okr};
CREATE SCHEMA IF NOT EXISTS {staging};

CREATE TABLE {okr}.teams (
    team_id     text NOT NULL PRIMARY KEY,
    name        text NOT NULL,
    owner       text
);

CREATE TABLE {okr}.objectives (
    objective_id  text NOT NULL PRIMARY KEY,
    team          text NOT NULL,
    title         text NOT NULL,
    description   text,
    period_start  date NOT NULL,
    period_end    date NOT NULL,
    source_file   text NOT NULL
);

CREATE TABLE {okr}.metrics (
    metric_id               text NOT NULL PRIMARY KEY,
    kind                    text NOT NULL,
    source                  text,
    query_json              text,
    numerator_metric_id     text,
    denominator_metric_id   text,
    additive                boolean NOT NULL,
    allowed_lag_days        integer NOT NULL,
    unit                    text,
    description             text,
    definition_hash         text NOT NULL
);

CREATE TABLE {okr}.key_results (
    kr_id            text NOT NULL PRIMARY KEY,
    objective_id     text NOT NULL,
    team             text NOT NULL,
    title            text NOT NULL,
    metric_id        text NOT NULL,
    measure          text NOT NULL,
    window_days      integer,
    period_start     date NOT NULL,
    period_end       date NOT NULL,
    baseline_kind    text NOT NULL,
    baseline_value   double precision,
    target_kind      text NOT NULL,
    target_value     double precision NOT NULL,
    direction        text,
    commitment       text NOT NULL,
    weight           double precision NOT NULL,
    unit             text,
    definition_hash  text NOT NULL,
    source_file      text NOT NULL
);

CREATE TABLE {okr}.kr_lineage (
    kr_id             text NOT NULL,
    objective_id      text NOT NULL,
    team              text NOT NULL,
    metric_id         text NOT NULL,
    role              text NOT NULL,
    source_metric_id  text NOT NULL,
    source            text NOT NULL,
    source_asset      text NOT NULL,
    query_json        text NOT NULL,
    PRIMARY KEY (kr_id, role, source_metric_id)
);

CREATE TABLE {staging}.metric_daily (
    metric_id     text NOT NULL,
    date          date NOT NULL,
    value         double precision,
    numerator     double precision,
    denominator   double precision,
    source        text NOT NULL,
    request_hash  text NOT NULL,
    fetched_at    timestamptz NOT NULL,
    PRIMARY KEY (metric_id, date)
);

CREATE TABLE {okr}.kr_progress_daily (
    as_of_date         date NOT NULL,
    kr_id              text NOT NULL,
    objective_id       text NOT NULL,
    team               text NOT NULL,
    metric_id          text NOT NULL,
    measure            text NOT NULL,
    period_start       date NOT NULL,
    period_end         date NOT NULL,
    value              double precision,
    baseline           double precision,
    target             double precision,
    direction          text,
    progress           double precision,
    score              double precision,
    expected_progress  double precision NOT NULL,
    status             text NOT NULL,
    status_reason      text,
    data_through       date,
    commitment         text NOT NULL,
    weight             double precision NOT NULL,
    unit               text,
    flags              text[] NOT NULL,
    definition_hash    text NOT NULL,
    PRIMARY KEY (as_of_date, kr_id)
);

CREATE TABLE {okr}.objective_progress_daily (
    as_of_date         date NOT NULL,
    objective_id       text NOT NULL,
    team               text NOT NULL,
    period_start       date NOT NULL,
    period_end         date NOT NULL,
    score              double precision NOT NULL,
    expected_progress  double precision NOT NULL,
    status             text NOT NULL,
    kr_count           integer NOT NULL,
    krs_off_track      integer NOT NULL,
    krs_at_risk        integer NOT NULL,
    PRIMARY KEY (as_of_date, objective_id)
);

-- The views as in DuckDB, in PostgreSQL's SQL (DISTINCT ON for DuckDB's QUALIFY).
CREATE VIEW {okr}.kr_progress_latest AS
SELECT DISTINCT ON (kr_id) *
FROM {okr}.kr_progress_daily
ORDER BY kr_id, as_of_date DESC;

CREATE VIEW {okr}.kr_final_grades AS
SELECT
    p.kr_id,
    p.objective_id,
    p.team,
    p.period_start,
    p.period_end,
    p.as_of_date AS graded_on,
    p.metric_id,
    p.measure,
    p.value,
    p.baseline,
    p.target,
    p.direction,
    p.unit,
    p.progress,
    coalesce(p.score, 0.0) AS final_score,
    p.expected_progress AS expected_score,
    p.commitment,
    p.weight,
    p.status AS final_status,
    p.status_reason,
    p.data_through,
    p.flags,
    coalesce(p.score, 0.0) >= p.expected_progress - 1e-9 AS met,
    p.commitment = 'committed' AND coalesce(p.score, 0.0) < 1.0 - 1e-9 AS committed_miss
FROM {okr}.kr_progress_daily AS p
WHERE p.as_of_date = p.period_end;
