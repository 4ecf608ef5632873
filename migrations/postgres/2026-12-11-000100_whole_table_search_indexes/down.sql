CREATE INDEX events_live_search ON events USING gin (to_tsvector('simple', search_text)) WHERE deleted_at IS NULL;
DROP INDEX events_search;
CREATE INDEX events_live_point ON events USING gist (point(lon, lat)) WHERE deleted_at IS NULL;
DROP INDEX events_point;
