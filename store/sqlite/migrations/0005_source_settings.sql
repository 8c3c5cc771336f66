-- Sources switched on or off at run time (the API, the admin UI), kept
-- across restarts. A source without a row follows config.toml; a source
-- disabled in config.toml stays disabled whatever its row says.
CREATE TABLE source_settings (
    name       TEXT PRIMARY KEY,
    enabled    INTEGER NOT NULL,   -- 0 or 1
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL       -- the actor who switched it
) WITHOUT ROWID;
