DROP INDEX events_live_position;
CREATE INDEX events_live_position ON events (lon, lat) WHERE deleted_at IS NULL;
