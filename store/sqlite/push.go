package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

var _ reconcile.PushStore = (*Store)(nil)

// ApplyPush applies a push source's writes (one SCIM request) and the plan
// they cause, in one transaction: it writes w to the source's state (see
// pushWriter), reads the PushState (pushstate.go), calls plan, and applies
// the plan it returns as Apply does. An error from plan, or from anything
// else, rolls everything back and is returned as it is. A nil plan leaves
// app state unchanged; the writes are still committed.
//
// A push plan carries no Directory (the writes are the source's new
// state) and drops no source.
func (s *Store) ApplyPush(ctx context.Context, w *reconcile.SourceWrites, plan func(*reconcile.PushState) (*reconcile.Plan, error)) (err error) {
	switch {
	case w == nil || w.Source == "":
		return reconcile.Errorf(reconcile.EINVALID, "push: no source")
	case plan == nil:
		return reconcile.Errorf(reconcile.EINVALID, "push: no plan function")
	}
	if err := checkWrites(w); err != nil {
		return err
	}
	defer func() { s.report(err) }() // what the helpers' dbError marked
	now := s.clock()
	tx, err := s.writeTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	pw, err := newPushWriter(ctx, tx, w.Source, now)
	if err != nil {
		return err
	}
	if err := pw.write(w); err != nil {
		return err
	}
	st, err := pw.state()
	if err != nil {
		return err
	}
	p, err := plan(st)
	if err != nil {
		return err
	}
	var id int64
	if p != nil {
		if p.Directory != nil || p.DropSource != "" {
			return reconcile.Errorf(reconcile.EINVALID, "push to source %q: a push plan carries no directory and drops no source", w.Source)
		}
		pp := s.prepare(p)
		defer func() {
			if err != nil {
				pp.undo()
			}
		}()
		if id, err = s.applyPlan(ctx, tx, pp, now); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return s.dbError(err, "push to source %q: commit", w.Source)
	}
	if p != nil {
		p.ID, p.Status = id, reconcile.StatusApplied
	}
	return nil
}

// checkWrites rejects writes that could never apply, before anything is written.
func checkWrites(w *reconcile.SourceWrites) error {
	bad := func(format string, args ...any) error {
		return reconcile.Errorf(reconcile.EINVALID, "push to source %q: "+format, append([]any{w.Source}, args...)...)
	}
	for i := range w.Users {
		u := &w.Users[i]
		switch {
		case u.ID == "":
			return bad("user %d has no id", i)
		case reconcile.FoldName(u.UserName) == "":
			return bad("user %q has no userName", u.ID)
		case u.Resource != nil && !json.Valid(u.Resource):
			return bad("user %q: the resource is not JSON", u.ID)
		}
	}
	for i := range w.Groups {
		g := &w.Groups[i]
		switch {
		case g.ID == "":
			return bad("group %d has no id", i)
		case g.DisplayName == "":
			return bad("group %q has no displayName", g.ID)
		case g.Resource != nil && !json.Valid(g.Resource):
			return bad("group %q: the resource is not JSON", g.ID)
		}
	}
	return nil
}

// pushWriter writes a push source's changes inside ApplyPush's transaction
// and collects the users they affect.
type pushWriter struct {
	ctx      context.Context
	tx       *sql.Tx
	source   string
	pk       int64 // source_states.pk
	now      string
	affected map[string]bool // source ids of the users whose app state may change
}

func newPushWriter(ctx context.Context, tx *sql.Tx, source string, now time.Time) (*pushWriter, error) {
	pw := &pushWriter{ctx: ctx, tx: tx, source: source, now: formatTime(now), affected: map[string]bool{}}
	err := tx.QueryRowContext(ctx, "SELECT pk FROM source_states WHERE name = ?", source).Scan(&pw.pk)
	if errors.Is(err, sql.ErrNoRows) {
		var res sql.Result
		if res, err = tx.ExecContext(ctx, "INSERT INTO source_states (name) VALUES (?)", source); err == nil {
			pw.pk, err = res.LastInsertId()
		}
	}
	if err != nil {
		return nil, dbError(err, "push to source %q", source)
	}
	return pw, nil
}

// write applies the writes: users, groups, membership changes, then deletions.
func (pw *pushWriter) write(w *reconcile.SourceWrites) error {
	for i := range w.Users {
		if err := pw.user(&w.Users[i]); err != nil {
			return err
		}
	}
	for i := range w.Groups {
		if err := pw.group(&w.Groups[i]); err != nil {
			return err
		}
	}
	for i := range w.Members {
		if err := pw.members(&w.Members[i]); err != nil {
			return err
		}
	}
	for _, id := range w.DeletedGroups {
		if err := pw.deleteGroup(id); err != nil {
			return err
		}
	}
	for _, id := range w.DeletedUsers {
		if err := pw.deleteUser(id); err != nil {
			return err
		}
	}
	return nil
}

func (pw *pushWriter) errorf(kind, format string, args ...any) error {
	return reconcile.Errorf(kind, "source %q: "+format, append([]any{pw.source}, args...)...)
}

// dbErr wraps a driver error (nil stays nil).
func (pw *pushWriter) dbErr(err error, format string, args ...any) error {
	return dbError(err, "push to source %q: "+format, append([]any{pw.source}, args...)...)
}

// found runs a query for one row and reports whether there was one.
func (pw *pushWriter) found(query string, args ...any) (bool, error) {
	var one int
	err := pw.tx.QueryRowContext(pw.ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// idTaken reports whether the source has a user or a group with this id.
func (pw *pushWriter) idTaken(id string) (bool, error) {
	return pw.found(`SELECT 1 FROM source_users WHERE source_pk = ?1 AND id = ?2
		UNION ALL SELECT 1 FROM source_groups WHERE source_pk = ?1 AND id = ?2 LIMIT 1`, pw.pk, id)
}

// resourceText stores a resource as JSON text, or NULL when there is none.
func resourceText(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// user creates or replaces a user.
func (pw *pushWriter) user(u *reconcile.SourceUser) error {
	key := reconcile.FoldName(u.UserName)
	var other string
	err := pw.tx.QueryRowContext(pw.ctx, "SELECT id FROM source_users WHERE source_pk = ? AND user_key = ?", pw.pk, key).Scan(&other)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return pw.dbErr(err, "user %q", u.ID)
	}
	if other != "" && other != u.ID {
		return pw.errorf(reconcile.ECONFLICT, "userName %q already exists (user %q)", u.UserName, other)
	}
	if u.Create {
		switch taken, err := pw.idTaken(u.ID); {
		case err != nil:
			return pw.dbErr(err, "create user %q", u.ID)
		case taken:
			return pw.errorf(reconcile.ECONFLICT, "id %q exists", u.ID)
		}
		_, err = pw.tx.ExecContext(pw.ctx, `INSERT INTO source_users (source_pk, id, user_name, user_key, display_name,
			email, given_name, family_name, external_id, active, resource, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			pw.pk, u.ID, u.UserName, key, u.DisplayName, u.Email, u.GivenName, u.FamilyName, u.ExternalID,
			boolInt(u.Active), resourceText(u.Resource), pw.now, pw.now)
		if err != nil {
			return pw.dbErr(err, "create user %q", u.ID)
		}
		pw.affected[u.ID] = true
		return nil
	}
	var version int64
	err = pw.tx.QueryRowContext(pw.ctx, "SELECT version FROM source_users WHERE source_pk = ? AND id = ?", pw.pk, u.ID).Scan(&version)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return pw.errorf(reconcile.ENOTFOUND, "user %q not found", u.ID)
	case err != nil:
		return pw.dbErr(err, "replace user %q", u.ID)
	case u.IfVersion > 0 && u.IfVersion != version:
		return pw.errorf(reconcile.EPRECONDITION, "user %q is at version %d, not %d", u.ID, version, u.IfVersion)
	}
	_, err = pw.tx.ExecContext(pw.ctx, `UPDATE source_users SET user_name = ?, user_key = ?, display_name = ?, email = ?,
		given_name = ?, family_name = ?, external_id = ?, active = ?, resource = ?, updated_at = ?, version = version + 1
		WHERE source_pk = ? AND id = ?`,
		u.UserName, key, u.DisplayName, u.Email, u.GivenName, u.FamilyName, u.ExternalID, boolInt(u.Active),
		resourceText(u.Resource), pw.now, pw.pk, u.ID)
	if err != nil {
		return pw.dbErr(err, "replace user %q", u.ID)
	}
	pw.affected[u.ID] = true
	return nil
}

// deleteUser removes a user and its memberships in the source's groups.
func (pw *pushWriter) deleteUser(id string) error {
	res, err := pw.tx.ExecContext(pw.ctx, "DELETE FROM source_users WHERE source_pk = ? AND id = ?", pw.pk, id)
	if err != nil {
		return pw.dbErr(err, "delete user %q", id)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return pw.dbErr(err, "delete user %q", id)
		}
		return pw.errorf(reconcile.ENOTFOUND, "user %q not found", id)
	}
	if err := pw.dropMember(id); err != nil {
		return err
	}
	pw.affected[id] = true
	return nil
}

// dropMember removes id from every group of the source it is a member of.
func (pw *pushWriter) dropMember(id string) error {
	rows, err := pw.tx.QueryContext(pw.ctx, `SELECT g.pk, g.members_hash FROM source_members m
		JOIN source_groups g ON g.pk = m.group_pk WHERE m.member = ? AND g.source_pk = ?`, id, pw.pk)
	if err != nil {
		return pw.dbErr(err, "remove %q from its groups", id)
	}
	type group struct {
		pk   int64
		hash digest
	}
	var groups []group
	for rows.Next() {
		var g group
		var hash []byte
		if err := rows.Scan(&g.pk, &hash); err != nil {
			rows.Close()
			return pw.dbErr(err, "remove %q from its groups", id)
		}
		g.hash = digestOf(hash)
		g.hash.toggle(id)
		groups = append(groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return pw.dbErr(err, "remove %q from its groups", id)
	}
	for _, g := range groups {
		if _, err := pw.tx.ExecContext(pw.ctx, "DELETE FROM source_members WHERE group_pk = ? AND member = ?", g.pk, id); err != nil {
			return pw.dbErr(err, "remove %q from its groups", id)
		}
		if err := pw.touchGroup(g.pk, g.hash); err != nil {
			return err
		}
	}
	return nil
}

// touchGroup stores a group's new members hash and bumps its version.
func (pw *pushWriter) touchGroup(pk int64, hash digest) error {
	_, err := pw.tx.ExecContext(pw.ctx, `UPDATE source_groups SET members_hash = ?, updated_at = ?,
		version = version + 1 WHERE pk = ?`, hash[:], pw.now, pk)
	return pw.dbErr(err, "update group %d", pk)
}
