-- Past values that changed after they were first staged: a source restated a day (GA4 and
-- Matomo re-process recent days; a CRM deal's amount, stage or close date was edited).
-- One row per (metric, day) change seen by a staging rebuild. Nothing is rewritten silently.
CREATE TABLE staging.metric_revisions (
    metric_id        VARCHAR NOT NULL,
    date             DATE NOT NULL,
    old_value        DOUBLE,
    new_value        DOUBLE,
    old_numerator    DOUBLE,
    new_numerator    DOUBLE,
    old_denominator  DOUBLE,
    new_denominator  DOUBLE,
    source           VARCHAR NOT NULL,
    old_request_hash VARCHAR,
    new_request_hash VARCHAR,
    seen_at          TIMESTAMPTZ NOT NULL
)
