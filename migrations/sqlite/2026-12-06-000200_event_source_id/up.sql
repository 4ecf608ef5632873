-- Where an imported incident came from: the id it has in the file it was
-- imported from (ACLED's event_id_cnty, or another Vigía's incident id).
-- Re-importing that file finds the incident by it and changes nothing.
ALTER TABLE events ADD COLUMN source_id TEXT;
CREATE UNIQUE INDEX events_source_id ON events (source_id) WHERE source_id IS NOT NULL;
