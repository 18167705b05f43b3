-- The objective's own pace and its weakest key result (warehouse migration 0060), added at the
-- end in the warehouse's order: the rows are copied by position.

ALTER TABLE {okr}.objective_progress_daily ADD COLUMN pace_status text;
ALTER TABLE {okr}.objective_progress_daily ADD COLUMN weakest_kr_id text;
