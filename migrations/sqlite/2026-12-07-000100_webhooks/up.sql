-- A watch's webhook (issue 15): at most one per watch.
CREATE TABLE webhooks (
    watch_id    TEXT PRIMARY KEY NOT NULL REFERENCES watches (id),
    url         TEXT NOT NULL,
    -- The signing secret: base64 of 32 random bytes. It is a shared secret
    -- by nature (Standard Webhooks sign with HMAC: Vigía must hold the key
    -- the receiver verifies with), so it cannot be stored hashed; it is
    -- shown once and never answered again.
    secret      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    rotated_at  TIMESTAMP NOT NULL,
    -- The last delivery's answer (HTTP status) or error, for the page.
    last_status INTEGER,
    last_error  TEXT,
    last_at     TIMESTAMP
);

-- One POST per alert row (so per (watch, incident)): the webhook's own
-- delivery state beside the mail's, with the same lease and retry columns,
-- so each channel succeeds or retries independently of the other.
CREATE TABLE webhook_deliveries (
    alert_id        TEXT PRIMARY KEY NOT NULL REFERENCES alerts (id),
    watch_id        TEXT NOT NULL REFERENCES watches (id),
    -- pending | sent | failed | cancelled
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    lease_owner     TEXT,
    lease_until     TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_watch ON webhook_deliveries (watch_id, status);
