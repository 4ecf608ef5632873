-- Every `vigia backup` (from the command line or scheduled in `serve`), so
-- that the last success, and a failure, show to admins and in /metrics.
CREATE TABLE backup_runs (
    id          TEXT PRIMARY KEY NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    ok          BOOLEAN NOT NULL,
    path        TEXT NOT NULL,
    bytes       BIGINT NOT NULL,
    -- the row counts, or what went wrong
    detail      TEXT NOT NULL
);
CREATE INDEX backup_runs_finished ON backup_runs (ok, finished_at);
