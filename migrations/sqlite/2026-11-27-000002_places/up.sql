-- Actors, mining concessions, districts, and the links that tie incidents to them.

CREATE TABLE actors (
    id          TEXT PRIMARY KEY NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    created_by  TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    aliases     TEXT NOT NULL,
    ruc         TEXT,
    reinfo_code TEXT,
    notes       TEXT NOT NULL,
    -- folded name without legal-form suffixes: how holders are matched
    name_key    TEXT NOT NULL,
    -- folded name and aliases, with and without suffixes: what q searches
    search_text TEXT NOT NULL,
    merged_into TEXT,
    deleted_at  TIMESTAMP
);
CREATE UNIQUE INDEX actors_live_ruc ON actors (ruc) WHERE deleted_at IS NULL AND ruc IS NOT NULL;
CREATE INDEX actors_live_name_key ON actors (name_key) WHERE deleted_at IS NULL;
CREATE INDEX actors_live_name ON actors (name, id) WHERE deleted_at IS NULL;

CREATE TABLE event_actors (
    event_id    TEXT NOT NULL REFERENCES events (id),
    actor_id    TEXT NOT NULL REFERENCES actors (id),
    role        TEXT NOT NULL,
    attribution TEXT NOT NULL,
    note        TEXT,
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT NOT NULL,
    PRIMARY KEY (event_id, actor_id, role)
);
CREATE INDEX event_actors_actor ON event_actors (actor_id);

CREATE TABLE concessions (
    id             TEXT PRIMARY KEY NOT NULL,
    version        BIGINT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    code           TEXT NOT NULL,
    name           TEXT NOT NULL,
    holder_id      TEXT REFERENCES actors (id),
    hectares       DOUBLE PRECISION,
    status         TEXT,
    substance      TEXT,
    filed_on       DATE,
    -- GeoJSON Polygon or MultiPolygon in WGS 84 longitude/latitude
    geometry       TEXT NOT NULL,
    geometry_valid BOOLEAN NOT NULL,
    source_crs     TEXT NOT NULL,
    min_lon        DOUBLE PRECISION NOT NULL,
    min_lat        DOUBLE PRECISION NOT NULL,
    max_lon        DOUBLE PRECISION NOT NULL,
    max_lat        DOUBLE PRECISION NOT NULL,
    -- every attribute of the source, as it came
    attributes     TEXT NOT NULL,
    search_text    TEXT NOT NULL,
    deleted_at     TIMESTAMP
);
-- One row per code for ever: a concession that comes back is the same one.
CREATE UNIQUE INDEX concessions_code ON concessions (code);
CREATE INDEX concessions_live_holder ON concessions (holder_id) WHERE deleted_at IS NULL;

CREATE TABLE concession_changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TIMESTAMP NOT NULL,
    code        TEXT NOT NULL,
    change      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT
);
CREATE INDEX concession_changes_at ON concession_changes (at, seq);

-- Derived data, rebuilt by every rematch; no foreign keys, because on
-- PostgreSQL their checks lock the concession row and made logging an
-- incident ~40% slower. Neither side is ever deleted (deletes are soft).
CREATE TABLE event_concessions (
    event_id      TEXT NOT NULL,
    concession_id TEXT NOT NULL,
    PRIMARY KEY (event_id, concession_id)
);
CREATE INDEX event_concessions_concession ON event_concessions (concession_id);

CREATE TABLE districts (
    ubigeo   TEXT PRIMARY KEY NOT NULL,
    name     TEXT NOT NULL,
    province TEXT NOT NULL,
    region   TEXT NOT NULL,
    geometry TEXT NOT NULL
);

-- Bumped by every change of the concession or district layers, inside the
-- same transaction, so that each process knows when its in-memory spatial
-- index is stale.
CREATE TABLE registry_state (
    id                  INTEGER PRIMARY KEY NOT NULL,
    concessions_version BIGINT NOT NULL,
    districts_version   BIGINT NOT NULL
);
INSERT INTO registry_state (id, concessions_version, districts_version) VALUES (1, 0, 0);
