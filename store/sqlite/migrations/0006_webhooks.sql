-- Webhook delivery positions: for each [[webhook]], by name, the change-log
-- seq up to which its receiver acknowledged the batches, and the plan and
-- part of the batch that ended there (so a plan split into parts keeps its
-- part numbers across a restart). A position only moves forward. It stays
-- when the webhook leaves the configuration: one added back under the same
-- name resumes where it stopped.
CREATE TABLE webhook_positions (
    name         TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL,            -- change_log.seq of the last record delivered
    plan_id      INTEGER NOT NULL DEFAULT 0,  -- its plan; 0 before the first delivery
    part         INTEGER NOT NULL DEFAULT 0,  -- which part of that plan the batch was
    created_at   TEXT NOT NULL,
    delivered_at TEXT                         -- when the last batch was acknowledged; NULL before
) WITHOUT ROWID;
