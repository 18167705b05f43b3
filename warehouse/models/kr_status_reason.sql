-- status_reason for the daily rows of warehouse/daily_rows.py that have one (`reason_rows`,
-- one row per such row: `row`, its position, and the columns status_reason.sql reads).
SELECT
    s.row,
    status_reason(s) AS status_reason
FROM reason_rows AS s
