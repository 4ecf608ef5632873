-- An analyst's note on why an incident is verified or disputed.
ALTER TABLE events ADD COLUMN verification_note TEXT;

-- A suggested case an analyst said an incident does not belong to: not
-- suggested again for that incident.
CREATE TABLE case_dismissals (
    event_id     TEXT NOT NULL REFERENCES events (id),
    case_id      TEXT NOT NULL REFERENCES cases (id),
    dismissed_at TIMESTAMP NOT NULL,
    dismissed_by TEXT NOT NULL,
    PRIMARY KEY (event_id, case_id)
);

-- The review queue: live unverified incidents, the longest waiting first.
CREATE INDEX events_review_queue ON events (verification, created_at, id) WHERE deleted_at IS NULL;

-- A file a person uploaded and was shown the check of, kept until they
-- confirm what to import (a day at most): the page does not ask for it
-- twice.
CREATE TABLE staged_uploads (
    id         TEXT PRIMARY KEY NOT NULL,
    owner      TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    filename   TEXT NOT NULL,
    data       BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL
);
