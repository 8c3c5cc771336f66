package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/idpsync/idpsync/reconcile"
)

// RecordRun stores a finished run and sets r.ID.
func (s *Store) RecordRun(ctx context.Context, r *reconcile.Run) error {
	if r == nil || r.Source == "" {
		return reconcile.Errorf(reconcile.EINVALID, "record run: no source")
	}
	summary, err := json.Marshal(r.Summary)
	if err != nil {
		return reconcile.Errorf(reconcile.EINVALID, "record run: %w", err)
	}
	var plan any
	if r.PlanID != 0 {
		plan = r.PlanID
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO runs (source, triggered_by, started_at, finished_at, outcome,
		plan_id, summary, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Source, r.Trigger, nullTime(r.Started), nullTime(r.Finished), r.Outcome, plan, string(summary), r.Error)
	if err != nil {
		return s.dbError(err, "record run of source %q", r.Source)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return s.dbError(err, "record run of source %q", r.Source)
	}
	r.ID = id
	return nil
}

// Runs lists the runs of source (every source when it is ""), newest first,
// at most limit of them (0: all).
func (s *Store) Runs(ctx context.Context, source string, limit int) ([]reconcile.Run, error) {
	query := `SELECT id, source, triggered_by, started_at, finished_at, outcome, plan_id, summary, error FROM runs`
	var args []any
	if source != "" {
		query, args = query+" WHERE source = ?", append(args, source)
	}
	query += " ORDER BY id DESC"
	if limit > 0 {
		query, args = query+" LIMIT ?", append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.dbError(err, "list runs")
	}
	defer rows.Close()
	var out []reconcile.Run
	for rows.Next() {
		var (
			r                 reconcile.Run
			started, finished sql.NullString
			plan              sql.NullInt64
			summary           string
		)
		if err := rows.Scan(&r.ID, &r.Source, &r.Trigger, &started, &finished, &r.Outcome, &plan, &summary, &r.Error); err != nil {
			return nil, s.dbError(err, "list runs")
		}
		if r.Started, err = parseNullTime(started); err != nil {
			return nil, err
		}
		if r.Finished, err = parseNullTime(finished); err != nil {
			return nil, err
		}
		r.PlanID = plan.Int64
		if err := json.Unmarshal([]byte(summary), &r.Summary); err != nil {
			return nil, reconcile.Errorf(reconcile.EINTERNAL, "run %d: stored summary: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, s.dbError(rows.Err(), "list runs")
}
