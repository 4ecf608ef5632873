-- Defensoría del Pueblo cases, their monthly report entries, and the links
-- that tie incidents to them.

CREATE TABLE cases (
    id           TEXT PRIMARY KEY NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    created_by   TEXT NOT NULL,
    name         TEXT NOT NULL,
    case_type    TEXT NOT NULL,
    activity     TEXT,
    region       TEXT,
    province     TEXT,
    district     TEXT,
    ubigeo       TEXT,
    -- folded name and place: a case is one name in one district
    name_key     TEXT NOT NULL,
    region_key   TEXT,
    province_key TEXT,
    district_key TEXT NOT NULL,
    -- derived from the entries, rewritten with every change of them
    status       TEXT,
    phase        TEXT,
    first_report INTEGER,
    last_report  INTEGER,
    deleted_at   TIMESTAMP
);
CREATE UNIQUE INDEX cases_live_identity ON cases (name_key, district_key) WHERE deleted_at IS NULL;
CREATE INDEX cases_live_name ON cases (name, id) WHERE deleted_at IS NULL;

CREATE TABLE case_companies (
    case_id  TEXT NOT NULL REFERENCES cases (id),
    actor_id TEXT NOT NULL REFERENCES actors (id),
    PRIMARY KEY (case_id, actor_id)
);
CREATE INDEX case_companies_actor ON case_companies (actor_id);

CREATE TABLE report_entries (
    id            TEXT PRIMARY KEY NOT NULL,
    case_id       TEXT NOT NULL REFERENCES cases (id),
    version       BIGINT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    created_by    TEXT NOT NULL,
    report_number INTEGER NOT NULL,
    -- YYYY-MM
    report_month  TEXT NOT NULL,
    status        TEXT NOT NULL,
    phase         TEXT,
    violence      BOOLEAN NOT NULL,
    dialogue      BOOLEAN NOT NULL,
    description   TEXT NOT NULL,
    deleted_at    TIMESTAMP
);
CREATE UNIQUE INDEX report_entries_live ON report_entries (case_id, report_number) WHERE deleted_at IS NULL;
CREATE INDEX report_entries_number ON report_entries (report_number);
CREATE INDEX report_entries_month ON report_entries (report_month);

CREATE TABLE event_cases (
    event_id   TEXT NOT NULL REFERENCES events (id),
    case_id    TEXT NOT NULL REFERENCES cases (id),
    note       TEXT,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (event_id, case_id)
);
CREATE INDEX event_cases_case ON event_cases (case_id);
