-- An objective's two facts under their own names (README, "The tables you query"):
--   pace_status    the objective's own pace: its score against its expected progress, with the
--                  organisation's on_track / at_risk margins (achieved at a score of 1)
--   weakest_kr_id  its weakest key result: the worst status, then the furthest behind pace
-- `status` stays what it was (the weakest key result's status), so existing queries keep
-- their meaning. Rows written before this migration read NULL in both until their days are
-- computed again (the next `okr run` over them).
ALTER TABLE okr.objective_progress_daily ADD COLUMN IF NOT EXISTS pace_status VARCHAR;
ALTER TABLE okr.objective_progress_daily ADD COLUMN IF NOT EXISTS weakest_kr_id VARCHAR;
