-- PostgreSQL's migration of this version adds the search lexicon (issue 11:
-- typed words looked up as the exact words they begin, for GIN). SQLite's
-- FTS5 keeps prefixes and needs nothing; this version exists so that both
-- backends' schemas carry the same versions (`vigia migrate`, backups and
-- the "newer than this vigia" check name one version for both).
SELECT 1;
