DROP TABLE watch_state;
