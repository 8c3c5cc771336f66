-- 0007: bearer tokens of the application API (/api/v1), apart from the SCIM
-- sources' tokens: an API token reads (scope 'read') or also changes rules,
-- plans and sources (scope 'admin'). Only a SHA-256 hash of each token is
-- kept: the token itself is shown once, when it is made.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,          -- short public id, for listing and revoking
    name         TEXT NOT NULL,             -- who holds it; recorded as the actor of its changes
    scope        TEXT NOT NULL CHECK (scope IN ('read', 'admin')),
    hash         BLOB NOT NULL UNIQUE,      -- SHA-256 of the token
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
) WITHOUT ROWID;
