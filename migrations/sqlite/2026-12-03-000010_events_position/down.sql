DROP INDEX events_live_position;
