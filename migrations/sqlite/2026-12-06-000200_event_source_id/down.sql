DROP INDEX events_source_id;
ALTER TABLE events DROP COLUMN source_id;
