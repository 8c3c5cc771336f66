package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// planRow is a plan as stored.
type planRow struct {
	kind, source, actor, status string
	createdAt, updatedAt        string
	heldReason                  string
	summary                     string
	changes                     []byte // gzip JSON
	directory                   any    // gzip JSON, or NULL
	admin                       any    // JSON, or NULL
	rulesHash, dropSource       string
	cursor                      string
}

// newPlanRow encodes p for storage with the given status. changes is the
// encoded change list (nil: an empty placeholder, written later). The
// directory is kept only while the plan waits (dry-run or held).
func newPlanRow(p *reconcile.Plan, status string, changes []byte, now time.Time) (*planRow, error) {
	created := p.CreatedAt
	if created.IsZero() {
		created = now
	}
	summary, err := json.Marshal(p.Summary)
	if err != nil {
		return nil, reconcile.Errorf(reconcile.EINVALID, "encode plan summary: %w", err)
	}
	if changes == nil {
		changes = []byte{}
	}
	r := &planRow{
		kind: p.Kind, source: p.Source, actor: p.Actor, status: status,
		createdAt: formatTime(created), updatedAt: formatTime(now), heldReason: p.HeldReason,
		summary: string(summary), changes: changes, rulesHash: p.RulesHash, dropSource: p.DropSource,
		cursor: p.Cursor,
	}
	if p.Admin != nil {
		b, err := json.Marshal(p.Admin)
		if err != nil {
			return nil, reconcile.Errorf(reconcile.EINVALID, "encode plan admin rules: %w", err)
		}
		r.admin = string(b)
	}
	if p.Directory != nil && pending(status) {
		b, err := gzipJSON(p.Directory)
		if err != nil {
			return nil, reconcile.Errorf(reconcile.EINVALID, "encode plan directory: %w", err)
		}
		r.directory = b
	}
	return r, nil
}

func pending(status string) bool {
	return status == reconcile.StatusDryRun || status == reconcile.StatusHeld
}

func insertPlan(ctx context.Context, tx *sql.Tx, r *planRow) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO plans (kind, source, actor, status, created_at, updated_at,
		held_reason, summary, changes, directory, admin, rules_hash, drop_source, cursor)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.kind, r.source, r.actor, r.status, r.createdAt, r.updatedAt, r.heldReason, r.summary, r.changes,
		r.directory, r.admin, r.rulesHash, r.dropSource, r.cursor)
	if err != nil {
		return 0, dbError(err, "store plan")
	}
	id, err := res.LastInsertId()
	return id, dbError(err, "store plan")
}

// SavePlan stores a dry-run or held plan, with its Directory and Admin
// rules, and sets p.ID (and p.CreatedAt when it was zero).
func (s *Store) SavePlan(ctx context.Context, p *reconcile.Plan) error {
	switch {
	case p == nil:
		return reconcile.Errorf(reconcile.EINVALID, "save plan: no plan")
	case !pending(p.Status):
		return reconcile.Errorf(reconcile.EINVALID, "save plan: status %q; only dry-run and held plans are saved", p.Status)
	case p.ID != 0:
		return reconcile.Errorf(reconcile.EINVALID, "save plan: plan %d is already stored", p.ID)
	}
	changes, err := encodeChanges(p.Changes)
	if err != nil {
		return err
	}
	now := s.clock()
	r, err := newPlanRow(p, p.Status, changes, now)
	if err != nil {
		return err
	}
	tx, err := s.writeTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	id, err := insertPlan(ctx, tx, r)
	if err != nil {
		return s.report(err)
	}
	if err := tx.Commit(); err != nil {
		return s.dbError(err, "store plan: commit")
	}
	p.ID = id
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now
	}
	return nil
}

// planColumns are the columns Plans lists; Plan adds changes and directory.
const planColumns = `id, kind, source, actor, status, created_at, held_reason, summary, admin, rules_hash, drop_source, cursor`

func scanPlan(sc interface{ Scan(...any) error }, p *reconcile.Plan, extra ...any) error {
	var created, summary string
	var admin sql.NullString
	dest := append([]any{&p.ID, &p.Kind, &p.Source, &p.Actor, &p.Status, &created, &p.HeldReason, &summary,
		&admin, &p.RulesHash, &p.DropSource, &p.Cursor}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return err
	}
	var err error
	if p.CreatedAt, err = parseTime(created); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(summary), &p.Summary); err != nil {
		return reconcile.Errorf(reconcile.EINTERNAL, "plan %d: stored summary: %w", p.ID, err)
	}
	if admin.Valid {
		p.Admin = &reconcile.AdminRules{}
		if err := json.Unmarshal([]byte(admin.String), p.Admin); err != nil {
			return reconcile.Errorf(reconcile.EINTERNAL, "plan %d: stored admin rules: %w", p.ID, err)
		}
	}
	return nil
}

// Plan loads one plan with its changes, and its Directory while it is kept
// (dry-run and held plans); ENOTFOUND if none.
func (s *Store) Plan(ctx context.Context, id int64) (*reconcile.Plan, error) {
	p := &reconcile.Plan{}
	var changes, dir []byte
	err := scanPlan(s.db.QueryRowContext(ctx, "SELECT "+planColumns+", changes, directory FROM plans WHERE id = ?", id),
		p, &changes, &dir)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, reconcile.Errorf(reconcile.ENOTFOUND, "plan %d not found", id)
	case err != nil:
		return nil, s.dbError(err, "load plan %d", id)
	}
	if len(changes) > 0 {
		if err := gunzipJSON(changes, &p.Changes); err != nil {
			return nil, reconcile.Errorf(reconcile.EINTERNAL, "plan %d: stored changes: %w", id, err)
		}
	}
	if dir != nil {
		p.Directory = &reconcile.Directory{}
		if err := gunzipJSON(dir, p.Directory); err != nil {
			return nil, reconcile.Errorf(reconcile.EINTERNAL, "plan %d: stored directory: %w", id, err)
		}
	}
	return p, nil
}

// Plans lists plans matching f, newest first, without their changes or
// directory.
func (s *Store) Plans(ctx context.Context, f reconcile.PlanFilter) ([]reconcile.Plan, error) {
	var (
		where []string
		args  []any
	)
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.Source != "" {
		where, args = append(where, "source = ?"), append(args, f.Source)
	}
	query := "SELECT " + planColumns + " FROM plans"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	if f.Limit > 0 {
		query, args = query+" LIMIT ?", append(args, f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.dbError(err, "list plans")
	}
	defer rows.Close()
	var out []reconcile.Plan
	for rows.Next() {
		out = append(out, reconcile.Plan{})
		if err := scanPlan(rows, &out[len(out)-1]); err != nil {
			return nil, s.dbError(err, "list plans")
		}
	}
	return out, s.dbError(rows.Err(), "list plans")
}

// DiscardPlan marks a dry-run or held plan discarded by actor and drops its
// directory. EINVALID for a plan in any other status, ENOTFOUND for none.
func (s *Store) DiscardPlan(ctx context.Context, id int64, actor string) error {
	tx, err := s.writeTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var status string
	err = tx.QueryRowContext(ctx, "SELECT status FROM plans WHERE id = ?", id).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return reconcile.Errorf(reconcile.ENOTFOUND, "plan %d not found", id)
	case err != nil:
		return s.dbError(err, "discard plan %d", id)
	case !pending(status):
		return reconcile.Errorf(reconcile.EINVALID, "plan %d is %s; only dry-run and held plans can be discarded", id, status)
	}
	_, err = tx.ExecContext(ctx, `UPDATE plans SET status = ?, decided_by = ?, updated_at = ?, directory = NULL
		WHERE id = ?`, reconcile.StatusDiscarded, actor, formatTime(s.clock()), id)
	if err != nil {
		return s.dbError(err, "discard plan %d", id)
	}
	return s.dbError(tx.Commit(), "discard plan %d: commit", id)
}
