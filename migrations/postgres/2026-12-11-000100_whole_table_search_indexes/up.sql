-- The text and spatial indexes over every row, deleted ones too, rather
-- than live rows only (issue 11, counts at 1,000,000 incidents).
--
-- PostgreSQL never combines two indexes (BitmapAnd) whose predicates both
-- use the same query condition, and every list index is partial on
-- `deleted_at IS NULL`: so `count=true` for q=derrame relaves&region=apurimac
-- read all 80,000 rows with the words to keep the region's 4,452 (53,841
-- heap pages, 241 ms p50, 1.4 s cold). With the words' index whole, it is
-- ANDed with the region's: 4,346 pages, 29 ms. The planner also keeps no
-- statistics for a partial index's expression, so it took any words for
-- 0.5 % of the rows; over the whole table it has each word's frequency.
-- Deleted incidents are few and every query tests `deleted_at` anyway.
CREATE INDEX events_search ON events USING gin (to_tsvector('simple', search_text));
DROP INDEX events_live_search;
CREATE INDEX events_point ON events USING gist (point(lon, lat));
DROP INDEX events_live_point;
-- A new index's expression has no statistics until the table is analysed,
-- and autovacuum analyses only after many rows change: without them the
-- planner took any words for 0.5 % of the rows and did not combine them.
ANALYZE events;
