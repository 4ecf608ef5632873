-- The map's clusters (GET /api/v1/events/clusters) read the live incidents
-- of a box, often grouped without any other filter: a range on lon, with
-- lat beside it, from the index alone.
CREATE INDEX events_live_position ON events (lon, lat) WHERE deleted_at IS NULL;
