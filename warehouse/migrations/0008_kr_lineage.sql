-- Where every key result's numbers come from, as data: one row per (key result, source
-- metric it reads). A ratio key result has two rows (its numerator and denominator metrics).
-- Replaced with the other definition tables; the Dagster UI shows the same mapping.
CREATE TABLE okr.kr_lineage (
    kr_id             VARCHAR NOT NULL,
    objective_id      VARCHAR NOT NULL,
    team              VARCHAR NOT NULL,
    metric_id         VARCHAR NOT NULL,  -- the metric the key result names
    role              VARCHAR NOT NULL,  -- value | numerator | denominator
    source_metric_id  VARCHAR NOT NULL,  -- the metric a source delivers
    source            VARCHAR NOT NULL,  -- file, ga4, matomo, hubspot
    source_asset      VARCHAR NOT NULL,  -- the Dagster asset that fetches it, e.g. raw/ga4
    query_json        VARCHAR NOT NULL   -- the exact source query (no secrets)
)
