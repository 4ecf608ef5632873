-- People: accounts for the web pages (API keys stay for scripts), their
-- server-side sessions, one-time links (invitation, password reset) and
-- failed sign-ins for throttling. Portable types only.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    -- The address lower-cased: one account per address however it is typed.
    email_key     TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    -- Folded display name: what the audit trail records must name one person.
    name_key      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    -- Argon2id PHC string; NULL until the person sets one through a link.
    password_hash TEXT,
    language      TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    disabled_at   TIMESTAMP,
    version       BIGINT NOT NULL
);

CREATE TABLE sessions (
    -- SHA-256 of the cookie's random id: a copy of the table signs no one in.
    id_hash      TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    csrf_token   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE user_links (
    -- SHA-256 of the token the link carries.
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id),
    -- 'invitation' (72 h) or 'reset' (1 h).
    purpose    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE INDEX user_links_user ON user_links (user_id);

CREATE TABLE sign_in_failures (
    id      TEXT PRIMARY KEY NOT NULL,
    -- 'account:<email_key>' or 'client:<address>'.
    subject TEXT NOT NULL,
    at      TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_failures_subject ON sign_in_failures (subject, at);

-- A key may belong to a person (their scripts); disabling the person
-- does not revoke it by itself, an admin does.
ALTER TABLE api_keys ADD COLUMN user_id TEXT REFERENCES users (id);

-- Mail that is not about a watch (an invitation, a password reset): written
-- ready to send in the transaction that asks for it, sent by the delivery
-- worker with the same retries as alerts; the bodies (they carry one-time
-- links) are cleared once the mail is sent or given up.
CREATE TABLE account_mails (
    id              TEXT PRIMARY KEY NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    lease_owner     TEXT,
    lease_until     TIMESTAMP
);
CREATE INDEX account_mails_due ON account_mails (status, next_attempt_at);
