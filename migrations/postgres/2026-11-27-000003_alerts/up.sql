-- Watches (what a researcher wants to hear about), the mail outbox that
-- carries their alerts and confirmations, and the key that signs mail links.

CREATE TABLE watches (
    id                TEXT PRIMARY KEY NOT NULL,
    version           BIGINT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    created_by        TEXT NOT NULL,
    -- the API key that owns the watch: other researchers never see it
    owner_key_id      TEXT,
    email             TEXT NOT NULL,
    -- concession | holder | area | admin_area
    target_type       TEXT NOT NULL,
    concession_id     TEXT,
    actor_id          TEXT,
    -- GeoJSON Polygon or MultiPolygon (WGS 84) and its box, for area watches
    area              TEXT,
    min_lon           DOUBLE PRECISION,
    min_lat           DOUBLE PRECISION,
    max_lon           DOUBLE PRECISION,
    max_lat           DOUBLE PRECISION,
    -- 2, 4 or 6 digits, for admin_area watches
    ubigeo            TEXT,
    -- JSON array; empty means every type
    event_types       TEXT NOT NULL,
    min_verification  TEXT NOT NULL,
    frequency         TEXT NOT NULL,
    language          TEXT NOT NULL,
    -- pending | active | unsubscribed
    status            TEXT NOT NULL,
    activated_at      TIMESTAMP,
    -- the current confirmation link: a resend replaces the nonce, so older
    -- links stop working
    confirm_nonce     TEXT NOT NULL,
    confirm_expires_at TIMESTAMP NOT NULL,
    confirm_sent_at   TIMESTAMP NOT NULL,
    deleted_at        TIMESTAMP
);
CREATE INDEX watches_owner ON watches (owner_key_id, created_at);
CREATE INDEX watches_active_concession ON watches (concession_id) WHERE status = 'active' AND deleted_at IS NULL;
CREATE INDEX watches_active_actor ON watches (actor_id) WHERE status = 'active' AND deleted_at IS NULL;
CREATE INDEX watches_active_ubigeo ON watches (ubigeo) WHERE status = 'active' AND deleted_at IS NULL;
CREATE INDEX watches_active_area ON watches (min_lon, max_lon) WHERE status = 'active' AND deleted_at IS NULL AND target_type = 'area';

-- The outbox. A row is written in the transaction that makes it due (the
-- incident change, the new watch) and leaves `pending` only when sent,
-- given up on, or cancelled.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY NOT NULL,
    -- alert | confirmation
    kind            TEXT NOT NULL,
    watch_id        TEXT NOT NULL REFERENCES watches (id),
    event_id        TEXT REFERENCES events (id),
    recipient       TEXT NOT NULL,
    -- immediate | daily (alerts); immediate (confirmations)
    frequency       TEXT NOT NULL,
    -- JSON: why the recipient gets it (the concession, holder, area or ubigeo)
    reason          TEXT NOT NULL,
    -- pending | sent | failed | cancelled
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    -- a worker's claim: until lease_until no other worker takes the row
    lease_owner     TEXT,
    lease_until     TIMESTAMP
);
-- Exactly one alert per (watch, incident), whatever edits follow.
CREATE UNIQUE INDEX alerts_watch_event ON alerts (watch_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX alerts_due ON alerts (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alerts_event ON alerts (event_id);
CREATE INDEX alerts_created ON alerts (created_at, id);

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
