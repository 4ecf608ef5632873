-- PostgreSQL's migration of this version drops the alerts' foreign keys
-- (each check locked a watch's row; see its comment). SQLite's checks are
-- index lookups that lock nothing, and dropping a key would mean copying
-- the whole outbox table; this version exists so that both backends'
-- schemas carry the same versions.
SELECT 1;
