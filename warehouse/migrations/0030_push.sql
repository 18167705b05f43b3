-- Issue 20: what okr-sync pushed into OKR tools (okr-tracker, Quantive, a webhook, ...).
-- One row per check-in a tool accepted: which key result, as the tool's id, for which day, the
-- value as sent (in the tool's unit) and the tool's answer. It is how a re-run knows it has
-- nothing new to send ("only when the value changed since the last push"). No credentials.
CREATE SCHEMA push;

CREATE TABLE push.sent (
    tool        VARCHAR NOT NULL,      -- okr_tracker | quantive | webhook
    kr_id       VARCHAR NOT NULL,      -- okr-sync's key result id
    target_id   VARCHAR NOT NULL,      -- the tool's id of the key result (YAML `push: {tool: id}`)
    day         DATE NOT NULL,         -- the as_of_date whose value was sent (the check-in date)
    value       DOUBLE NOT NULL,       -- as sent: a percentage as the tool stores it (3.2 for 3.2 %)
    comment     VARCHAR NOT NULL,      -- "okr-sync, data through 2026-12-03, flags: none"
    answer_id   VARCHAR,               -- the tool's id of the check-in, or its answer message
    sent_at     TIMESTAMPTZ NOT NULL
);
