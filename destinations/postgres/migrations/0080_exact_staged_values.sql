-- The warehouse's staged values as exact decimals (warehouse migration 0080), in the
-- warehouse's order (the rows are copied by position).

ALTER TABLE {staging}.metric_daily ADD COLUMN value_exact numeric(38, 15);
ALTER TABLE {staging}.metric_daily ADD COLUMN numerator_exact numeric(38, 15);
ALTER TABLE {staging}.metric_daily ADD COLUMN denominator_exact numeric(38, 15);
