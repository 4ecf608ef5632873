-- Issue 11: a word of `q` finds the words it begins (`apurim` finds
-- Apurímac). FTS5 matches a prefix ("apurim"*) by merging the entries of
-- every word it begins into one list before the words are combined; exact
-- words are combined while they are read, skipping what cannot match. The
-- index's own vocabulary, read through fts5vocab (no copy to keep), lets
-- the store turn each typed prefix into the exact words it begins
-- (`events::store::expand_words`).
CREATE VIRTUAL TABLE events_fts_words USING fts5vocab(events_fts, 'row');
