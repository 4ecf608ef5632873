-- Files attached to incidents and Defensoría cases. The bytes live once per
-- content (SHA-256) in attachment_blobs, in the database by default (one
-- thing to back up, seen by every server process) or, with
-- attachments.dir set, in that directory (data is then NULL).
CREATE TABLE attachment_blobs (
    sha256     TEXT PRIMARY KEY NOT NULL,
    bytes      BIGINT NOT NULL,
    data       BYTEA,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE attachments (
    id               TEXT PRIMARY KEY NOT NULL,
    event_id         TEXT REFERENCES events (id),
    case_id          TEXT REFERENCES cases (id),
    filename         TEXT NOT NULL,
    -- Decided from the bytes, never from what the client said.
    content_type     TEXT NOT NULL,
    bytes            BIGINT NOT NULL,
    -- What is served: for images, the file without its location and
    -- device metadata.
    sha256           TEXT NOT NULL REFERENCES attachment_blobs (sha256),
    thumbnail_sha256 TEXT REFERENCES attachment_blobs (sha256),
    -- The file as uploaded, kept only when attachments.keep_originals is
    -- on, readable only by admins.
    original_sha256  TEXT REFERENCES attachment_blobs (sha256),
    created_at       TIMESTAMP NOT NULL,
    created_by       TEXT NOT NULL,
    deleted_at       TIMESTAMP,
    CHECK ((event_id IS NULL) <> (case_id IS NULL))
);
CREATE INDEX attachments_event ON attachments (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX attachments_case ON attachments (case_id) WHERE case_id IS NOT NULL;
-- One live copy of a file per incident or case: the same photo sent twice
-- (a retry, two monitors) is one attachment.
CREATE UNIQUE INDEX attachments_event_file ON attachments (event_id, sha256)
    WHERE event_id IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX attachments_case_file ON attachments (case_id, sha256)
    WHERE case_id IS NOT NULL AND deleted_at IS NULL;
