-- A restated day is a trust signal like sampling: the number moved after people saw it.
-- staging.metric_flags now also lists every (metric, day) with a revision, flag `restated`.
CREATE OR REPLACE VIEW staging.metric_flags AS
SELECT DISTINCT metric_id, date, flag, reason, source
FROM raw.metric_flags
UNION
SELECT DISTINCT
    metric_id,
    date,
    'restated' AS flag,
    'value changed after it was first loaded (see staging.metric_revisions)' AS reason,
    source
FROM staging.metric_revisions
