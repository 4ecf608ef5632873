-- Imports started from the admins' page: each runs in the background, in
-- one transaction; this row says how it went, so a page can show it.
CREATE TABLE import_jobs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    file_name TEXT NOT NULL,
    crs TEXT NOT NULL,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    report_json TEXT,
    error TEXT
);
CREATE INDEX import_jobs_created_at ON import_jobs (created_at);
