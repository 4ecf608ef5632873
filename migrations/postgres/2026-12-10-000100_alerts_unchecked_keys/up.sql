-- An incident under 10,000 watches writes 10,000 alerts in its own
-- transaction. Each alert's two foreign keys ran a check per row, and the
-- one on `watch_id` took a key-share lock on each watch (a write to every
-- watch's row): 115 of the 290 ms the inserts took (issue 11, watches at
-- scale). No code deletes a watch or an incident row (both are retired by
-- `deleted_at`), and `alerts::matching::enqueue` writes alerts only for the
-- watches it has just read, so the keys checked nothing the code does not
-- already hold; `event_concessions` dropped its keys for the same reason.
ALTER TABLE alerts DROP CONSTRAINT alerts_watch_id_fkey;
ALTER TABLE alerts DROP CONSTRAINT alerts_event_id_fkey;
