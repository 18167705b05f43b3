-- What okr-sync published to each destination (DESIGN.md "Destinations": exactly once,
-- recorded). A target is where the rows went, never with a password: for PostgreSQL
-- `postgresql://user@host:port/database` and the schema prefix.
CREATE SCHEMA publish;

-- One row per (target, table, day) as it stands in the target: the row count and fingerprint
-- (the sum of the rows' hashes) of what was published. day is NULL for the tables published
-- whole (the definition tables). The next publish replaces exactly the days whose rows differ.
CREATE TABLE publish.postgres_published (
    target        VARCHAR NOT NULL,
    table_name    VARCHAR NOT NULL,
    day           DATE,
    row_count     BIGINT NOT NULL,
    fingerprint   HUGEINT NOT NULL,
    published_at  TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR NOT NULL
);

-- One row per publish: for which days it ran, what it replaced, and the answer.
CREATE TABLE publish.postgres_runs (
    run_id         VARCHAR NOT NULL,
    target         VARCHAR NOT NULL,
    first_day      DATE,
    last_day       DATE,
    full_rebuild   BOOLEAN NOT NULL,
    outcome        VARCHAR NOT NULL,   -- published | unchanged | failed
    days_replaced  INTEGER NOT NULL,
    rows_written   BIGINT NOT NULL,
    tables         VARCHAR[] NOT NULL, -- the tables that changed in the target
    message        VARCHAR,            -- the error of a failed publish (never a secret)
    started_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ NOT NULL
);
