-- Issue 15, the public map: an incident is `internal` (only signed-in
-- people read it) until an admin publishes it. When it was (last)
-- published is kept beside it, in `event_publications` (events has the 32
-- columns diesel's default build allows): a row there also says it was
-- public once, which the public change feed needs to tell a withdrawn
-- incident (a delete) from one never published (never named). Sources keep
-- their `confidential` mark inside the `sources` JSON text (read as false
-- when absent). An attachment is shown to anonymous visitors only when
-- marked public.
ALTER TABLE events ADD COLUMN publication TEXT NOT NULL DEFAULT 'internal';
CREATE TABLE event_publications (
    event_id TEXT PRIMARY KEY REFERENCES events (id),
    published_at TIMESTAMP NOT NULL
);
ALTER TABLE attachments ADD COLUMN public BOOLEAN NOT NULL DEFAULT 0;
-- The public list: published live incidents in list order.
CREATE INDEX events_published ON events (occurred_on DESC, id)
    WHERE publication = 'published' AND deleted_at IS NULL;
