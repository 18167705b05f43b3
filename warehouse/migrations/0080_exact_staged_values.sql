-- Each staged value also as the exact decimal it was delivered as: its shortest text (the one
-- that reads back as the same double: '0.1', not 0.1000000000000000055…) as DECIMAL(38,15),
-- what the key-result sums add (okr_definitions/README.md, "Exact values"). Computed once
-- when a day is staged (warehouse/models/staging_metric_daily.sql) rather than by every
-- progress run over every day it reads. NULL where the double has no such decimal (beyond
-- 10^23): the progress models then cast the double themselves, and fail as before.
-- The staging step writes them with the values; a value changed by hand needs its `*_exact`
-- set to NULL (then cast on every progress run) or to the new decimal.
ALTER TABLE staging.metric_daily ADD COLUMN IF NOT EXISTS value_exact DECIMAL(38, 15);
ALTER TABLE staging.metric_daily ADD COLUMN IF NOT EXISTS numerator_exact DECIMAL(38, 15);
ALTER TABLE staging.metric_daily ADD COLUMN IF NOT EXISTS denominator_exact DECIMAL(38, 15);
UPDATE staging.metric_daily SET
    value_exact = TRY_CAST(CAST(value AS VARCHAR) AS DECIMAL(38, 15)),
    numerator_exact = TRY_CAST(CAST(numerator AS VARCHAR) AS DECIMAL(38, 15)),
    denominator_exact = TRY_CAST(CAST(denominator AS VARCHAR) AS DECIMAL(38, 15));
