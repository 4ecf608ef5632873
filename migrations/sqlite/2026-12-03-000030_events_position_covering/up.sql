-- The map's clusters read every live incident of the box. The position
-- index now also holds the type and the date, the map's usual filters, and
-- deleted_at (always NULL in it): SQLite counts a view, with or without
-- those filters, from the index alone instead of reading each row from the
-- table (web benchmark, 1,000,000 incidents, p50: Peru 0.84 s → 0.50 s,
-- Peru with one type 0.42 s → 0.16 s, Apurímac with one type 0.29 s →
-- 0.02 s). What remains of Peru's time is the sort behind GROUP BY.
DROP INDEX events_live_position;
CREATE INDEX events_live_position ON events (lon, lat, event_type, occurred_on, deleted_at)
    WHERE deleted_at IS NULL;
