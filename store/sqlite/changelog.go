package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/idpsync/idpsync/reconcile"
)

// LastSeq returns the seq of the change log's last record; 0 when it is empty.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM change_log").Scan(&seq)
	return seq, s.dbError(err, "read the change log")
}

// Changes returns change-log records with Seq > f.After, oldest first, at
// most f.Limit of them (0: all), only f.UserID's when it is set.
func (s *Store) Changes(ctx context.Context, f reconcile.ChangeFilter) ([]reconcile.ChangeRecord, error) {
	if f.Limit < 0 {
		return nil, reconcile.Errorf(reconcile.EINVALID, "changes: negative limit")
	}
	query := `SELECT seq, time, plan_id, actor, kind, user_id, user_name, source, source_id, group_name, role,
		groups, grants, reason, before, after FROM change_log WHERE seq > ?`
	args := []any{f.After}
	if f.UserID != "" {
		// user_id <> '' lets SQLite use the partial index change_log_user.
		query, args = query+" AND user_id = ? AND user_id <> ''", append(args, f.UserID)
	}
	query += " ORDER BY seq"
	if f.Limit > 0 {
		query, args = query+" LIMIT ?", append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.dbError(err, "read the change log")
	}
	defer rows.Close()
	var out []reconcile.ChangeRecord
	for rows.Next() {
		r, err := s.scanChangeRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, s.dbError(rows.Err(), "read the change log")
}

// scanChangeRecord reads a change-log row selected in Changes' column order.
func (s *Store) scanChangeRecord(rows *sql.Rows) (reconcile.ChangeRecord, error) {
	var (
		r                             reconcile.ChangeRecord
		t                             string
		groups, grants, before, after sql.NullString
	)
	if err := rows.Scan(&r.Seq, &t, &r.PlanID, &r.Actor, &r.Kind, &r.UserID, &r.User, &r.Source, &r.SourceID,
		&r.Group, &r.Role, &groups, &grants, &r.Reason, &before, &after); err != nil {
		return r, s.dbError(err, "read the change log")
	}
	var err error
	if r.Time, err = parseTime(t); err != nil {
		return r, err
	}
	for _, col := range []struct {
		s sql.NullString
		v any
	}{{groups, &r.Groups}, {grants, &r.Grants}, {before, &r.Before}, {after, &r.After}} {
		if !col.s.Valid {
			continue
		}
		if err := json.Unmarshal([]byte(col.s.String), col.v); err != nil {
			return r, reconcile.Errorf(reconcile.EINTERNAL, "change %d: stored JSON: %w", r.Seq, err)
		}
	}
	return r, nil
}
