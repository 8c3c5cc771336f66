-- Bearer tokens of push (SCIM) sources. Only a SHA-256 hash of each token
-- is kept: the token itself is shown once, when it is made.
CREATE TABLE tokens (
    id           TEXT PRIMARY KEY,          -- short public id, for listing and revoking
    source       TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE,      -- SHA-256 of the token
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) WITHOUT ROWID;
CREATE INDEX tokens_source ON tokens (source, created_at);
