-- PostgreSQL's migration of this version makes its text and spatial
-- indexes cover every row, so that its planner can combine them with the
-- other list indexes; SQLite's FTS5 table and R*Tree already hold every
-- row.
--
-- Here: the deleted incidents, few, indexed apart, so that an estimated
-- total counts them rather than the live ones (`events::store::
-- live_in_dates`: 1,000,000 live incidents took 22 ms to count).
CREATE INDEX events_deleted ON events (deleted_at) WHERE deleted_at IS NOT NULL;
