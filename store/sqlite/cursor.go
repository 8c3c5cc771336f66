package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// Cursor returns where a source's next incremental read resumes: the
// cursor stored by the last applied plan that carried one, or "".
func (s *Store) Cursor(ctx context.Context, source string) (string, error) {
	var c string
	err := s.db.QueryRowContext(ctx, "SELECT cursor FROM source_states WHERE name = ?", source).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return c, s.dbError(err, "read the cursor of source %q", source)
}

// SetCursor stores a source's cursor without a plan; a source without
// stored state is left alone.
func (s *Store) SetCursor(ctx context.Context, source, cursor string) error {
	_, err := s.db.ExecContext(ctx, "UPDATE source_states SET cursor = ? WHERE name = ?", cursor, source)
	return s.dbError(err, "store the cursor of source %q", source)
}
