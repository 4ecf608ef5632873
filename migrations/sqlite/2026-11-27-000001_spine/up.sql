-- Vigía spine: API keys, incidents (events) and the audit trail.
-- Portable types only: UUIDs as TEXT, UTC timestamps as TIMESTAMP without zone.

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);
-- A name identifies one live key; a revoked key's name can be given out again.
CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;

CREATE TABLE events (
    id                 TEXT PRIMARY KEY NOT NULL,
    version            BIGINT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    created_by         TEXT NOT NULL,
    title              TEXT NOT NULL,
    description        TEXT NOT NULL,
    event_type         TEXT NOT NULL,
    sub_event_type     TEXT,
    occurred_on        DATE NOT NULL,
    time_precision     TEXT NOT NULL,
    lat                REAL NOT NULL,
    lon                REAL NOT NULL,
    location_precision TEXT NOT NULL,
    place              TEXT,
    ubigeo             TEXT,
    region             TEXT,
    province           TEXT,
    district           TEXT,
    admin_source       TEXT,
    region_key         TEXT,
    province_key       TEXT,
    district_key       TEXT,
    fatalities         INTEGER NOT NULL,
    injuries           INTEGER NOT NULL,
    sources            TEXT NOT NULL,
    verification       TEXT NOT NULL,
    search_text        TEXT NOT NULL,
    deleted_at         TIMESTAMP
);
CREATE INDEX events_live_order ON events (occurred_on DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX events_live_region ON events (region_key, occurred_on DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX events_live_ubigeo ON events (ubigeo) WHERE deleted_at IS NULL;

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TIMESTAMP NOT NULL,
    key_id      TEXT,
    key_name    TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, seq);
CREATE INDEX audit_log_key ON audit_log (key_id, seq);
