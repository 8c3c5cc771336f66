-- 0002: push sources (SCIM).
--
-- A push source keeps its state in the same source tables as a pull source
-- (one source-state model), plus what the SCIM server reads back: the
-- resource as the IdP wrote it, its times and its version (ETag).
--
-- The idpsync_* functions are Go functions the store registers with the
-- driver (migrate.go, digest.go); this migration needs idpsync to run it.

-- source_users is rebuilt as a rowid table: the rowid (pk) is the creation
-- order SCIM lists page in.
CREATE TABLE source_users_new (
    pk           INTEGER PRIMARY KEY,       -- creation order
    source_pk    INTEGER NOT NULL REFERENCES source_states (pk) ON DELETE CASCADE,
    id           TEXT NOT NULL,             -- the source's own id (a push source's SCIM id)
    user_name    TEXT NOT NULL,
    user_key     TEXT NOT NULL,             -- reconcile.FoldName(user_name)
    display_name TEXT NOT NULL DEFAULT '',
    email        TEXT NOT NULL DEFAULT '',
    given_name   TEXT NOT NULL DEFAULT '',
    family_name  TEXT NOT NULL DEFAULT '',
    external_id  TEXT NOT NULL DEFAULT '',
    active       INTEGER NOT NULL CHECK (active IN (0, 1)),
    resource     TEXT,                      -- the SCIM resource as pushed (JSON); NULL for pull sources
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1 -- +1 per write
);
INSERT INTO source_users_new (source_pk, id, user_name, user_key, display_name, email, given_name,
    family_name, external_id, active, created_at, updated_at)
SELECT source_pk, id, user_name, idpsync_fold_name(user_name), display_name, email, given_name,
    family_name, external_id, active,
    strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z', strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z'
FROM source_users ORDER BY source_pk, id;
DROP TABLE source_users;
ALTER TABLE source_users_new RENAME TO source_users;
CREATE UNIQUE INDEX source_users_id ON source_users (source_pk, id);
-- A source's users in creation order (an index on source_pk holds the rowid
-- too): SCIM lists page through it without sorting.
CREATE INDEX source_users_source ON source_users (source_pk);
-- A pull directory is validated unique by folded userName; a push create is checked.
CREATE UNIQUE INDEX source_users_user_key ON source_users (source_pk, user_key);
CREATE INDEX source_users_external_id ON source_users (source_pk, external_id);

ALTER TABLE source_groups ADD COLUMN display_key TEXT NOT NULL DEFAULT ''; -- lower(display_name): SCIM filters compare it case-insensitively
ALTER TABLE source_groups ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
ALTER TABLE source_groups ADD COLUMN resource TEXT;                        -- JSON, without members; NULL for pull sources
ALTER TABLE source_groups ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
ALTER TABLE source_groups ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
ALTER TABLE source_groups ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
-- members_hash is now the XOR of SHA-256(member id) over the members: it
-- does not depend on order, and adding or removing one member updates it
-- without reading the others (a group's members are unique, so no member
-- cancels out). 32 zero bytes for no members.
UPDATE source_groups SET
    display_key = idpsync_lower(display_name),
    created_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z',
    updated_at = strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000000Z',
    members_hash = (SELECT idpsync_members_digest(member) FROM source_members WHERE group_pk = source_groups.pk);
CREATE INDEX source_groups_source ON source_groups (source_pk);
CREATE INDEX source_groups_display_key ON source_groups (source_pk, display_key);
CREATE INDEX source_groups_external_id ON source_groups (source_pk, external_id);

ALTER TABLE source_members ADD COLUMN display TEXT; -- the "display" the IdP sent with the member, if any
-- Reverse lookups: the groups a user (or a nested group) is a member of.
CREATE INDEX source_members_member ON source_members (member);
