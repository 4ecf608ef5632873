DROP INDEX events_published;
ALTER TABLE attachments DROP COLUMN public;
DROP TABLE event_publications;
ALTER TABLE events DROP COLUMN publication;
