-- 0001: the initial schema.
--
-- Times are TEXT in UTC, RFC 3339 with a fixed nine-digit fraction
-- ("2006-01-02T15:04:05.000000000Z"): readable in the sqlite3 shell and
-- ordered as text. Absent strings are '' (NOT NULL); JSON columns are NULL
-- when absent.

-- App state: the application's users and the roles they hold.
CREATE TABLE users (
    id           TEXT PRIMARY KEY,          -- random, time-ordered (UUIDv7 layout)
    user_name    TEXT NOT NULL,
    user_key     TEXT NOT NULL,             -- reconcile.FoldName(user_name): the case-insensitive key
    display_name TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    given_name   TEXT NOT NULL DEFAULT '',
    family_name  TEXT NOT NULL DEFAULT '',
    external_id  TEXT NOT NULL DEFAULT '',
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    source       TEXT NOT NULL,             -- owner: a source name or 'manual'
    source_id    TEXT NOT NULL DEFAULT '',  -- the owner's id for the user
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX users_user_key ON users (user_key);
CREATE INDEX users_source ON users (source, source_id);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
) WITHOUT ROWID;
CREATE INDEX user_roles_role ON user_roles (role, user_id);

-- Source state: what each source last asserted. A row in source_states means
-- the source has stored state (possibly an empty directory).
CREATE TABLE source_states (
    pk   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE source_users (
    source_pk    INTEGER NOT NULL REFERENCES source_states (pk) ON DELETE CASCADE,
    id           TEXT NOT NULL,             -- the source's own id
    user_name    TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    given_name   TEXT NOT NULL DEFAULT '',
    family_name  TEXT NOT NULL DEFAULT '',
    external_id  TEXT NOT NULL DEFAULT '',
    active       INTEGER NOT NULL CHECK (active IN (0, 1)),
    PRIMARY KEY (source_pk, id)
) WITHOUT ROWID;

CREATE TABLE source_groups (
    pk           INTEGER PRIMARY KEY,
    source_pk    INTEGER NOT NULL REFERENCES source_states (pk) ON DELETE CASCADE,
    id           TEXT NOT NULL,             -- the source's own id
    display_name TEXT NOT NULL,
    -- SHA-256 of the sorted member ids: a sync compares it and reads or
    -- writes the members of changed groups only.
    members_hash BLOB NOT NULL,
    UNIQUE (source_pk, id)
);

CREATE TABLE source_members (
    group_pk INTEGER NOT NULL REFERENCES source_groups (pk) ON DELETE CASCADE,
    member   TEXT NOT NULL,                 -- a user's or a nested group's source id
    PRIMARY KEY (group_pk, member)
) WITHOUT ROWID;

-- Plans: dry-run and held plans wait here; applied and discarded ones stay
-- as a record.
CREATE TABLE plans (
    id          INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: the change log refers to it
    kind        TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('dry-run', 'held', 'applied', 'discarded')),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    decided_by  TEXT NOT NULL DEFAULT '',  -- who discarded the plan
    held_reason TEXT NOT NULL DEFAULT '',
    summary     TEXT NOT NULL,             -- JSON reconcile.Summary
    changes     BLOB NOT NULL,             -- gzip JSON []reconcile.Change
    directory   BLOB,                      -- gzip JSON reconcile.Directory; kept while dry-run or held
    admin       TEXT,                      -- JSON reconcile.AdminRules
    rules_hash  TEXT NOT NULL DEFAULT '',
    drop_source TEXT NOT NULL DEFAULT ''
);
CREATE INDEX plans_status ON plans (status, source);

-- Admin rules: the roles and mappings admins added, in order.
CREATE TABLE admin_roles (
    position INTEGER PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    origin   TEXT NOT NULL DEFAULT ''
);

CREATE TABLE admin_mappings (
    position   INTEGER PRIMARY KEY,
    group_name TEXT NOT NULL,
    role       TEXT NOT NULL,
    origin     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT NOT NULL,
    triggered_by TEXT NOT NULL DEFAULT '',  -- "start", "schedule", "cli", "api"
    started_at   TEXT,
    finished_at  TEXT,
    outcome      TEXT NOT NULL,
    plan_id      INTEGER,
    summary      TEXT NOT NULL,             -- JSON reconcile.Summary
    error        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_source ON runs (source, id);

-- The change log: append-only. Applications follow it by seq.
CREATE TABLE change_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    time       TEXT NOT NULL,
    plan_id    INTEGER NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    user_name  TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL DEFAULT '',
    source_id  TEXT NOT NULL DEFAULT '',
    group_name TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL DEFAULT '',
    groups     TEXT,                        -- JSON []string
    grants     TEXT,                        -- JSON []reconcile.Grant
    reason     TEXT NOT NULL DEFAULT '',
    before     TEXT,                        -- JSON object
    after      TEXT                         -- JSON object
);
CREATE INDEX change_log_user ON change_log (user_id, seq) WHERE user_id <> '';

CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'change_log is append-only');
END;
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'change_log is append-only');
END;
