-- notify.sent: one row per message a channel was sent (or failed to be sent) — the ledger that
-- makes alerts and digests exactly-once. A row with status 'sent' is never sent again; a
-- 'failed' row is tried again by the next run (and replaced by its outcome).
CREATE SCHEMA IF NOT EXISTS notify;

CREATE TABLE notify.sent (
    channel       VARCHAR NOT NULL,   -- the channel's name under notify.channels
    kind          VARCHAR NOT NULL,   -- alert | digest
    kr_id         VARCHAR NOT NULL,   -- the key result of an alert; '' for a digest
    change        VARCHAR NOT NULL,   -- 'at_risk -> off_track' for an alert, the ISO week for a digest
    day           DATE NOT NULL,      -- the as-of day of an alert; the Monday of a digest's week
    message_hash  VARCHAR NOT NULL,   -- SHA-256 of what was sent (never the webhook URL)
    status        VARCHAR NOT NULL,   -- sent | failed
    attempts      INTEGER NOT NULL,
    error         VARCHAR,            -- why it failed, without secrets
    sent_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, kind, kr_id, change, day)
);
