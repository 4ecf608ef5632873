-- The change feed (GET /api/v1/<entity>/changes): one row per change of an
-- incident, actor, concession or case, written by triggers wherever rows are
-- written, so no code path can forget it. Writers are serialised on SQLite
-- (BEGIN IMMEDIATE, across processes too) and AUTOINCREMENT never reuses a
-- number, so `seq` order is commit order and a reader that has seen seq N
-- has seen every committed change before it. `txid` is PostgreSQL's; here 0.
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    txid BIGINT NOT NULL DEFAULT 0,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))
);
CREATE INDEX changes_feed ON changes (entity, txid, seq);

-- What exists already: one change per record, in creation order, so that a
-- mirror reading the feed from the start holds every record.
INSERT INTO changes (entity, entity_id, kind, at)
SELECT entity, id, kind, at FROM (
    SELECT 'event' AS entity, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS kind, created_at AS at FROM events
    UNION ALL
    SELECT 'actor' AS entity, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS kind, created_at AS at FROM actors
    UNION ALL
    SELECT 'concession' AS entity, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS kind, created_at AS at FROM concessions
    UNION ALL
    SELECT 'case' AS entity, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS kind, created_at AS at FROM cases
) ORDER BY at, entity, id;

CREATE TRIGGER events_changes_insert AFTER INSERT ON events BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    VALUES ('event', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END);
END;
CREATE TRIGGER events_changes_update AFTER UPDATE ON events BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    VALUES ('event', NEW.id, CASE
        WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN 'delete'
        WHEN OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN 'restore'
        ELSE 'update' END);
END;
CREATE TRIGGER events_changes_delete AFTER DELETE ON events BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('event', OLD.id, 'delete');
END;

CREATE TRIGGER actors_changes_insert AFTER INSERT ON actors BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    VALUES ('actor', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END);
END;
CREATE TRIGGER actors_changes_update AFTER UPDATE ON actors BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    VALUES ('actor', NEW.id, CASE
        WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN 'delete'
        WHEN OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN 'restore'
        ELSE 'update' END);
END;
CREATE TRIGGER actors_changes_delete AFTER DELETE ON actors BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('actor', OLD.id, 'delete');
END;

CREATE TRIGGER concessions_changes_insert AFTER INSERT ON concessions BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    VALUES ('concession', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END);
END;
CREATE TRIGGER concessions_changes_update AFTER UPDATE ON concessions BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    VALUES ('concession', NEW.id, CASE
        WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN 'delete'
        WHEN OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN 'restore'
        ELSE 'update' END);
END;
CREATE TRIGGER concessions_changes_delete AFTER DELETE ON concessions BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('concession', OLD.id, 'delete');
END;

CREATE TRIGGER cases_changes_insert AFTER INSERT ON cases BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    VALUES ('case', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END);
END;
CREATE TRIGGER cases_changes_update AFTER UPDATE ON cases BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    VALUES ('case', NEW.id, CASE
        WHEN OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN 'delete'
        WHEN OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN 'restore'
        ELSE 'update' END);
END;
CREATE TRIGGER cases_changes_delete AFTER DELETE ON cases BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('case', OLD.id, 'delete');
END;

-- A link row changes what its incident or case shows: an update of it.
CREATE TRIGGER event_actors_changes_insert AFTER INSERT ON event_actors WHEN NEW.event_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('event', NEW.event_id, 'update');
END;
CREATE TRIGGER event_actors_changes_update AFTER UPDATE ON event_actors BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'event', NEW.event_id, 'update' WHERE NEW.event_id IS NOT NULL;
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'event', OLD.event_id, 'update' WHERE OLD.event_id IS NOT NULL AND OLD.event_id IS NOT NEW.event_id;
END;
CREATE TRIGGER event_actors_changes_delete AFTER DELETE ON event_actors WHEN OLD.event_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('event', OLD.event_id, 'update');
END;

CREATE TRIGGER event_concessions_changes_insert AFTER INSERT ON event_concessions WHEN NEW.event_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('event', NEW.event_id, 'update');
END;
CREATE TRIGGER event_concessions_changes_update AFTER UPDATE ON event_concessions BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'event', NEW.event_id, 'update' WHERE NEW.event_id IS NOT NULL;
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'event', OLD.event_id, 'update' WHERE OLD.event_id IS NOT NULL AND OLD.event_id IS NOT NEW.event_id;
END;
CREATE TRIGGER event_concessions_changes_delete AFTER DELETE ON event_concessions WHEN OLD.event_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('event', OLD.event_id, 'update');
END;

CREATE TRIGGER event_cases_changes_insert AFTER INSERT ON event_cases WHEN NEW.event_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('event', NEW.event_id, 'update');
END;
CREATE TRIGGER event_cases_changes_update AFTER UPDATE ON event_cases BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'event', NEW.event_id, 'update' WHERE NEW.event_id IS NOT NULL;
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'event', OLD.event_id, 'update' WHERE OLD.event_id IS NOT NULL AND OLD.event_id IS NOT NEW.event_id;
END;
CREATE TRIGGER event_cases_changes_delete AFTER DELETE ON event_cases WHEN OLD.event_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('event', OLD.event_id, 'update');
END;

CREATE TRIGGER attachments_changes_insert AFTER INSERT ON attachments WHEN NEW.event_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('event', NEW.event_id, 'update');
END;
CREATE TRIGGER attachments_changes_update AFTER UPDATE ON attachments BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'event', NEW.event_id, 'update' WHERE NEW.event_id IS NOT NULL;
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'event', OLD.event_id, 'update' WHERE OLD.event_id IS NOT NULL AND OLD.event_id IS NOT NEW.event_id;
END;
CREATE TRIGGER attachments_changes_delete AFTER DELETE ON attachments WHEN OLD.event_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('event', OLD.event_id, 'update');
END;

CREATE TRIGGER case_companies_changes_insert AFTER INSERT ON case_companies WHEN NEW.case_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('case', NEW.case_id, 'update');
END;
CREATE TRIGGER case_companies_changes_update AFTER UPDATE ON case_companies BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'case', NEW.case_id, 'update' WHERE NEW.case_id IS NOT NULL;
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'case', OLD.case_id, 'update' WHERE OLD.case_id IS NOT NULL AND OLD.case_id IS NOT NEW.case_id;
END;
CREATE TRIGGER case_companies_changes_delete AFTER DELETE ON case_companies WHEN OLD.case_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('case', OLD.case_id, 'update');
END;

CREATE TRIGGER report_entries_changes_insert AFTER INSERT ON report_entries WHEN NEW.case_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('case', NEW.case_id, 'update');
END;
CREATE TRIGGER report_entries_changes_update AFTER UPDATE ON report_entries BEGIN
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'case', NEW.case_id, 'update' WHERE NEW.case_id IS NOT NULL;
    INSERT INTO changes (entity, entity_id, kind)
    SELECT 'case', OLD.case_id, 'update' WHERE OLD.case_id IS NOT NULL AND OLD.case_id IS NOT NEW.case_id;
END;
CREATE TRIGGER report_entries_changes_delete AFTER DELETE ON report_entries WHEN OLD.case_id IS NOT NULL BEGIN
    INSERT INTO changes (entity, entity_id, kind) VALUES ('case', OLD.case_id, 'update');
END;
