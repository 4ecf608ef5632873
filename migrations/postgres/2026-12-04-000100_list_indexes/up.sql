-- Every list filter of GET /api/v1/events answers from an index at
-- 1,000,000 incidents (issue 11). The list is ordered by occurred_on desc,
-- id: an index that ends in (occurred_on DESC, id) after the filter's
-- equality columns gives the first page without sorting, however many rows
-- match; a filter that matches few rows is found by its own index.

-- Type and verification, alone and together.
CREATE INDEX events_live_type ON events (event_type, occurred_on DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX events_live_type_verification ON events (event_type, verification, occurred_on DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX events_live_verification ON events (verification, occurred_on DESC, id) WHERE deleted_at IS NULL;

-- Province and district names (region has events_live_region).
CREATE INDEX events_live_province ON events (province_key, occurred_on DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX events_live_district ON events (district_key, occurred_on DESC, id) WHERE deleted_at IS NULL;

-- Ubigeo prefixes: a region (2 digits) and a province (4) are equalities
-- on these expressions (the store writes the same expressions), a district
-- (6) and `none` on the column itself.
DROP INDEX events_live_ubigeo;
CREATE INDEX events_live_ubigeo ON events (ubigeo, occurred_on DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX events_live_ubigeo_region ON events (substr(ubigeo, 1, 2), occurred_on DESC, id) WHERE deleted_at IS NULL;
CREATE INDEX events_live_ubigeo_province ON events (substr(ubigeo, 1, 4), occurred_on DESC, id) WHERE deleted_at IS NULL;

-- Text search over the folded copy the store writes (search_text: lower
-- case, no accents, words and spaces), so the 'simple' configuration (no
-- stemming, no stop words) and no unaccent extension are needed. The store
-- queries the same expression.
CREATE INDEX events_live_search ON events USING gin (to_tsvector('simple', search_text)) WHERE deleted_at IS NULL;

-- Boxes: a GiST index on the point, for `point(lon, lat) <@ box(...)`.
CREATE INDEX events_live_point ON events USING gist (point(lon, lat)) WHERE deleted_at IS NULL;
