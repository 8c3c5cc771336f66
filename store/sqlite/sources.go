package sqlite

import (
	"context"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// SourceSetting is a source switched on or off at run time.
type SourceSetting struct {
	Name      string    `json:"name"`
	Enabled   bool      `json:"enabled"`
	UpdatedAt time.Time `json:"updatedAt"`
	UpdatedBy string    `json:"updatedBy"`
}

// SetSourceEnabled records that source is switched on or off, by actor.
func (s *Store) SetSourceEnabled(ctx context.Context, source string, enabled bool, actor string) error {
	if source == "" {
		return reconcile.Errorf(reconcile.EINVALID, "set source enabled: no source")
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO source_settings (name, enabled, updated_at, updated_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		source, boolInt(enabled), formatTime(s.clock()), actor)
	return s.dbError(err, "switch source %q", source)
}

// SourceSettings returns the run-time switches of every source that has
// one, by name.
func (s *Store) SourceSettings(ctx context.Context) (map[string]SourceSetting, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, enabled, updated_at, updated_by FROM source_settings`)
	if err != nil {
		return nil, s.dbError(err, "read source settings")
	}
	defer rows.Close()
	out := map[string]SourceSetting{}
	for rows.Next() {
		var st SourceSetting
		var at string
		if err := rows.Scan(&st.Name, &st.Enabled, &at, &st.UpdatedBy); err != nil {
			return nil, s.dbError(err, "read source settings")
		}
		if st.UpdatedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out[st.Name] = st
	}
	return out, s.dbError(rows.Err(), "read source settings")
}
