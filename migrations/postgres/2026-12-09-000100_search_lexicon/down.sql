DROP TRIGGER events_search_lexicon ON events;
DROP FUNCTION search_lexicon_add();
DROP TABLE search_lexicon;
