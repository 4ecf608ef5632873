-- The change feed (GET /api/v1/<entity>/changes): one row per change of an
-- incident, actor, concession or case, written by triggers wherever rows are
-- written. `seq` comes from a sequence at insert time, so a transaction that
-- commits late can hold smaller numbers than ones already read. Each row
-- therefore records its transaction id; the feed serves only rows of
-- transactions older than every transaction still running
-- (txid < pg_snapshot_xmin(pg_current_snapshot())), ordered by (txid, seq):
-- what it has served never gains an earlier row. A long transaction holds
-- the feed back until it ends; it never makes it skip.
CREATE TABLE changes (
    seq BIGSERIAL PRIMARY KEY,
    txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL DEFAULT (date_trunc('microseconds', clock_timestamp() AT TIME ZONE 'UTC'))
);
CREATE INDEX changes_feed ON changes (entity, txid, seq);

-- What exists already: one change per record, as the oldest transaction (0).
INSERT INTO changes (txid, entity, entity_id, kind, at)
SELECT 0, entity, id, kind, at FROM (
    SELECT 'event' AS entity, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS kind, created_at AS at FROM events
    UNION ALL
    SELECT 'actor' AS entity, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS kind, created_at AS at FROM actors
    UNION ALL
    SELECT 'concession' AS entity, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS kind, created_at AS at FROM concessions
    UNION ALL
    SELECT 'case' AS entity, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS kind, created_at AS at FROM cases
) AS existing ORDER BY at, entity, id;

-- A record's own row: created (or copied in already deleted), updated,
-- deleted or restored (a soft delete is an update of deleted_at).
CREATE FUNCTION changes_of_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO changes (entity, entity_id, kind) VALUES (TG_ARGV[0], NEW.id,
            CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END);
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO changes (entity, entity_id, kind) VALUES (TG_ARGV[0], NEW.id, CASE
            WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN 'delete'
            WHEN OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN 'restore'
            ELSE 'update' END);
    ELSE
        INSERT INTO changes (entity, entity_id, kind) VALUES (TG_ARGV[0], OLD.id, 'delete');
    END IF;
    RETURN NULL;
END $$;

-- A link row (an incident's actors, concessions, cases, files; a case's
-- companies and report entries) changes what its parent shows: an update of
-- the parent named by column TG_ARGV[1], and of the old parent if it moved.
CREATE FUNCTION changes_of_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent TEXT;
    old_parent TEXT;
BEGIN
    IF TG_OP <> 'DELETE' THEN parent := to_jsonb(NEW) ->> TG_ARGV[1]; END IF;
    IF TG_OP <> 'INSERT' THEN old_parent := to_jsonb(OLD) ->> TG_ARGV[1]; END IF;
    IF parent IS NOT NULL THEN
        INSERT INTO changes (entity, entity_id, kind) VALUES (TG_ARGV[0], parent, 'update');
    END IF;
    IF old_parent IS NOT NULL AND old_parent IS DISTINCT FROM parent THEN
        INSERT INTO changes (entity, entity_id, kind) VALUES (TG_ARGV[0], old_parent, 'update');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER events_changes AFTER INSERT OR UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION changes_of_row('event');
CREATE TRIGGER actors_changes AFTER INSERT OR UPDATE OR DELETE ON actors
    FOR EACH ROW EXECUTE FUNCTION changes_of_row('actor');
CREATE TRIGGER concessions_changes AFTER INSERT OR UPDATE OR DELETE ON concessions
    FOR EACH ROW EXECUTE FUNCTION changes_of_row('concession');
CREATE TRIGGER cases_changes AFTER INSERT OR UPDATE OR DELETE ON cases
    FOR EACH ROW EXECUTE FUNCTION changes_of_row('case');
CREATE TRIGGER event_actors_changes AFTER INSERT OR UPDATE OR DELETE ON event_actors
    FOR EACH ROW EXECUTE FUNCTION changes_of_link('event', 'event_id');
CREATE TRIGGER event_concessions_changes AFTER INSERT OR UPDATE OR DELETE ON event_concessions
    FOR EACH ROW EXECUTE FUNCTION changes_of_link('event', 'event_id');
CREATE TRIGGER event_cases_changes AFTER INSERT OR UPDATE OR DELETE ON event_cases
    FOR EACH ROW EXECUTE FUNCTION changes_of_link('event', 'event_id');
CREATE TRIGGER attachments_changes AFTER INSERT OR UPDATE OR DELETE ON attachments
    FOR EACH ROW EXECUTE FUNCTION changes_of_link('event', 'event_id');
CREATE TRIGGER case_companies_changes AFTER INSERT OR UPDATE OR DELETE ON case_companies
    FOR EACH ROW EXECUTE FUNCTION changes_of_link('case', 'case_id');
CREATE TRIGGER report_entries_changes AFTER INSERT OR UPDATE OR DELETE ON report_entries
    FOR EACH ROW EXECUTE FUNCTION changes_of_link('case', 'case_id');
