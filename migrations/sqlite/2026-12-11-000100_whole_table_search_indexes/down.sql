DROP INDEX events_deleted;
