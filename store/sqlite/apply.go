package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Apply applies a plan in one transaction: every change is checked against
// the current state and applied in order, and logged; then the plan's
// Directory, Admin rules and RulesHash are stored, DropSource's state is
// dropped, and the plan is recorded as applied. On any error (a stale
// change, a cancelled ctx) nothing is written and p is left as it was.
//
// Creates get their new user id in p.Changes[i].UserID.
func (s *Store) Apply(ctx context.Context, p *reconcile.Plan) (err error) {
	if p == nil {
		return reconcile.Errorf(reconcile.EINVALID, "apply: no plan")
	}
	if p.Directory != nil && p.Source == "" {
		return reconcile.Errorf(reconcile.EINVALID, "apply: the plan has a directory but no source")
	}
	now := s.clock()
	pp := s.prepare(p)
	defer func() {
		if err != nil {
			pp.undo()
			s.report(err) // what the helpers' dbError marked
		}
	}()
	tx, err := s.writeTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	id, err := s.applyPlan(ctx, tx, pp, now)
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.dbError(err, "apply plan: commit")
	}
	p.ID, p.Status = id, reconcile.StatusApplied
	return nil
}

// prepared is a plan made ready to apply: its creates have their ids, and
// its changes are being encoded on another goroutine.
type prepared struct {
	p       *reconcile.Plan
	enc     *planEncoder
	creates []int    // indexes of the create changes
	oldIDs  []string // their UserIDs before prepare
}

// prepare gives every create its id before anything is written, so that
// the plan can be encoded for storage (with the ids) while the changes are
// applied. Ids are handed out in the order of the users' keys: see
// insertCreates.
func (s *Store) prepare(p *reconcile.Plan) *prepared {
	pp := &prepared{p: p}
	for i := range p.Changes {
		if p.Changes[i].Kind == reconcile.ChangeCreate {
			pp.creates = append(pp.creates, i)
		}
	}
	keys := make([]string, len(pp.creates))
	for j, i := range pp.creates {
		keys[j] = createKey(&p.Changes[i])
	}
	byKey := make([]int, len(pp.creates))
	for j := range byKey {
		byKey[j] = j
	}
	slices.SortStableFunc(byKey, func(x, y int) int { return strings.Compare(keys[x], keys[y]) })
	pp.oldIDs = make([]string, len(pp.creates))
	for _, j := range byKey {
		c := &p.Changes[pp.creates[j]]
		pp.oldIDs[j], c.UserID = c.UserID, s.ids.next()
	}
	pp.enc = startEncoder(p.Changes)
	return pp
}

// undo leaves the plan as it was before prepare, after a failed apply.
func (pp *prepared) undo() {
	pp.enc.cancel() // it reads p.Changes: stop it before restoring them
	for j, i := range pp.creates {
		pp.p.Changes[i].UserID = pp.oldIDs[j]
	}
}

// applyPlan applies a prepared plan inside tx (Apply's and ApplyPush's) and
// returns its id. The caller commits, or undoes the plan on an error.
func (s *Store) applyPlan(ctx context.Context, tx *sql.Tx, pp *prepared, now time.Time) (int64, error) {
	p := pp.p
	id, err := s.startPlan(ctx, tx, p, now)
	if err != nil {
		return 0, err
	}
	a, err := newApplier(ctx, tx, p, id, now, pp.enc, len(pp.creates))
	if err != nil {
		return 0, err
	}
	defer a.close()
	for i := range p.Changes {
		if err := ctx.Err(); err != nil {
			return 0, s.dbError(err, "apply plan")
		}
		if err := a.apply(i); err != nil {
			return 0, err
		}
		if s.hooks != nil && s.hooks.change != nil {
			s.hooks.change(i)
		}
	}
	if err := a.flush(); err != nil {
		return 0, err
	}

	if p.Directory != nil {
		written, err := replaceDirectory(ctx, tx, p.Source, p.Directory, now)
		if err != nil {
			return 0, err
		}
		if s.hooks != nil && s.hooks.directory != nil {
			s.hooks.directory(written)
		}
	}
	if p.Cursor != "" && p.Source != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO source_states (name) VALUES (?) ON CONFLICT (name) DO NOTHING`, p.Source); err != nil {
			return 0, s.dbError(err, "store the cursor of source %q", p.Source)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE source_states SET cursor = ? WHERE name = ?", p.Cursor, p.Source); err != nil {
			return 0, s.dbError(err, "store the cursor of source %q", p.Source)
		}
	}
	if p.Admin != nil {
		if err := replaceAdminRules(ctx, tx, p.Admin); err != nil {
			return 0, err
		}
	}
	if p.RulesHash != "" {
		if err := setMeta(ctx, tx, metaRulesHash, p.RulesHash); err != nil {
			return 0, err
		}
	}
	if p.DropSource != "" {
		if _, err := tx.ExecContext(ctx, "DELETE FROM source_states WHERE name = ?", p.DropSource); err != nil {
			return 0, s.dbError(err, "drop the state of source %q", p.DropSource)
		}
	}

	changes, err := pp.enc.wait()
	if err != nil {
		return 0, err
	}
	if err := s.finishPlan(ctx, tx, p, id, changes, now); err != nil {
		return 0, err
	}
	return id, nil
}

// startPlan checks that a stored plan may be applied, or inserts a new plan
// row (its changes are written by finishPlan), and returns the plan's id.
func (s *Store) startPlan(ctx context.Context, tx *sql.Tx, p *reconcile.Plan, now time.Time) (int64, error) {
	if p.ID != 0 {
		var status string
		err := tx.QueryRowContext(ctx, "SELECT status FROM plans WHERE id = ?", p.ID).Scan(&status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return 0, reconcile.Errorf(reconcile.ENOTFOUND, "plan %d not found", p.ID)
		case err != nil:
			return 0, s.dbError(err, "apply plan %d", p.ID)
		case status != reconcile.StatusDryRun && status != reconcile.StatusHeld:
			return 0, reconcile.Errorf(reconcile.EINVALID, "plan %d is %s; only dry-run and held plans can be applied", p.ID, status)
		}
		return p.ID, nil
	}
	pr, err := newPlanRow(p, reconcile.StatusApplied, nil, now)
	if err != nil {
		return 0, err
	}
	return insertPlan(ctx, tx, pr)
}

// finishPlan records the plan as applied. The directory it carried is not
// kept: the source state now holds it.
func (s *Store) finishPlan(ctx context.Context, tx *sql.Tx, p *reconcile.Plan, id int64, changes []byte, now time.Time) error {
	pr, err := newPlanRow(p, reconcile.StatusApplied, changes, now)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE plans SET status = ?, actor = ?, updated_at = ?, summary = ?,
		changes = ?, directory = NULL, admin = ?, rules_hash = ?, drop_source = ? WHERE id = ?`,
		pr.status, pr.actor, pr.updatedAt, pr.summary, pr.changes, pr.admin, pr.rulesHash, pr.dropSource, id)
	return s.dbError(err, "record plan %d as applied", id)
}

// planLabel names a plan in messages.
func planLabel(id int64) string {
	if id == 0 {
		return "plan"
	}
	return fmt.Sprintf("plan %d", id)
}
