-- Issue 11, watches at scale: each process keeps the active area watches in
-- an in-memory R-tree (`alerts::areas`). This version is bumped in the same
-- transaction as every change of an area watch, so a process knows when its
-- index is stale, as `registry_state` does for the concession layer. A table
-- of its own: watch edits do not wait on a concession import's row lock.
CREATE TABLE watch_state (
    id            INTEGER PRIMARY KEY NOT NULL,
    areas_version BIGINT NOT NULL
);
INSERT INTO watch_state (id, areas_version) VALUES (1, 0);
