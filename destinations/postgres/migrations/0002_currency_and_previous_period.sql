-- The warehouse's columns added since 0001, in the warehouse's order (the rows are copied by
-- position): the currency of amounts of money (warehouse migration 0010) and the previous
-- period a relative target is measured against (warehouse migration 0011).

ALTER TABLE {okr}.key_results ADD COLUMN currency text;
ALTER TABLE {okr}.key_results ADD COLUMN previous_start date;
ALTER TABLE {okr}.key_results ADD COLUMN previous_end date;
ALTER TABLE {staging}.metric_daily ADD COLUMN currency text;
