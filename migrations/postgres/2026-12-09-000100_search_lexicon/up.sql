-- Issue 11: a word of `q` finds the words it begins (`apurim` finds
-- Apurímac). GIN matches a prefix ('apurim':*) by reading the whole
-- posting list of every word it begins into one bitmap before the words
-- are combined: three common words in no incident together cost 70 ms at
-- 1,000,000 incidents. Exact words are combined while they are read,
-- skipping what cannot match. This lexicon of every word the search index
-- holds lets the store turn each typed prefix into the exact words it
-- begins (`events::store::expand_words`).
--
-- A trigger keeps it in the transaction that writes the text, so every
-- writer (the store, `vigia copy`, a restore, psql) keeps it whole. No
-- unique constraint, on purpose: two writers adding the same new word
-- would wait on each other's uncommitted row, and two adding two each
-- could deadlock. A word held twice costs a row; the store reads it
-- DISTINCT. Never pruned: a word no incident holds any more finds none.
-- "C" collation: byte order, so the words a prefix begins are one range.
CREATE TABLE search_lexicon (word TEXT NOT NULL COLLATE "C");
CREATE INDEX search_lexicon_word ON search_lexicon (word);

CREATE FUNCTION search_lexicon_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_lexicon (word)
    SELECT t.lexeme FROM unnest(to_tsvector('simple', NEW.search_text)) AS t
    WHERE NOT EXISTS (SELECT 1 FROM search_lexicon s WHERE s.word = t.lexeme COLLATE "C");
    RETURN NULL;
END
$$;

CREATE TRIGGER events_search_lexicon AFTER INSERT OR UPDATE OF search_text ON events
    FOR EACH ROW EXECUTE FUNCTION search_lexicon_add();

INSERT INTO search_lexicon (word)
SELECT DISTINCT t.lexeme FROM events, unnest(to_tsvector('simple', events.search_text)) AS t;
