-- Delta cursors (e.g. Graph deltaLinks): where a source's next incremental
-- read resumes. A source's cursor moves only with the plan that applied the
-- state read up to it, in the same transaction; a held plan carries its own.
ALTER TABLE source_states ADD COLUMN cursor TEXT NOT NULL DEFAULT '';
ALTER TABLE plans ADD COLUMN cursor TEXT NOT NULL DEFAULT '';
