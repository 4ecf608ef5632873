-- PostgreSQL's migration of this version makes its text and spatial
-- indexes cover every row, so that its planner can combine them with the
-- other list indexes. SQLite's FTS5 table and R*Tree already hold every
-- row; this version exists so that both backends' schemas carry the same
-- versions.
SELECT 1;
