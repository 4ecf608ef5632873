-- The map's clusters read every live incident of the box. The position
-- index now also holds the type and the date, the map's usual filters, so
-- a filtered view is counted by an index-only scan as an unfiltered one is
-- (PostgreSQL reads the partial index's condition from its definition; it
-- needs no deleted_at column).
DROP INDEX events_live_position;
CREATE INDEX events_live_position ON events (lon, lat) INCLUDE (event_type, occurred_on)
    WHERE deleted_at IS NULL;
