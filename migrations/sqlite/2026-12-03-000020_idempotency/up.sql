-- Creates sent with an Idempotency-Key: the answer given, kept for ever (a
-- phone offline for weeks may send again), per caller. The primary key is
-- what makes two requests with one key, in any process, one write: the
-- row is inserted in the same transaction as what it records.
CREATE TABLE idempotency_keys (
    owner       TEXT NOT NULL,
    key         TEXT NOT NULL,
    -- SHA-256 of the route and the request body as read.
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT NOT NULL,
    location    TEXT,
    etag        TEXT,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (owner, key)
);
