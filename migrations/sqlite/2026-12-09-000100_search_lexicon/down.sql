DROP TABLE events_fts_words;
