package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// applier applies one plan's changes inside Apply's transaction.
type applier struct {
	ctx    context.Context
	tx     *sql.Tx
	p      *reconcile.Plan
	planID int64
	label  string // "plan 12", for messages
	now    string

	enc *planEncoder // encodes the change-log columns

	users map[string]*userRow // the users changes touched, as they are now in the transaction

	getUser, putUser, grant, revoke, dropRoles, touch *sql.Stmt

	creates []newUser // inserted by flush
	log     *batch
}

// userRow is an app user's columns that changes check and set.
type userRow struct {
	id, userName, displayName, email, givenName, familyName, externalID string
	active                                                              bool
	source, sourceID                                                    string
}

// attr returns the field holding a string attribute, or nil for an unknown key.
func (u *userRow) attr(key string) *string {
	switch key {
	case reconcile.AttrUserName:
		return &u.userName
	case reconcile.AttrDisplayName:
		return &u.displayName
	case reconcile.AttrEmail:
		return &u.email
	case reconcile.AttrGivenName:
		return &u.givenName
	case reconcile.AttrFamilyName:
		return &u.familyName
	case reconcile.AttrExternalID:
		return &u.externalID
	}
	return nil
}

func newApplier(ctx context.Context, tx *sql.Tx, p *reconcile.Plan, id int64, now time.Time, enc *planEncoder, creates int) (*applier, error) {
	a := &applier{ctx: ctx, tx: tx, p: p, planID: id, label: planLabel(id), now: formatTime(now), enc: enc,
		users: map[string]*userRow{}, creates: make([]newUser, 0, creates)}
	a.log = newBatch(tx, `INSERT INTO change_log (time, plan_id, actor, kind, user_id, user_name, source,
		source_id, group_name, role, groups, grants, reason, before, after) VALUES `, 15)
	for _, st := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&a.getUser, `SELECT id, user_name, display_name, email, given_name, family_name, external_id,
			active, source, source_id FROM users WHERE id = ?`},
		{&a.putUser, `UPDATE users SET user_name = ?, user_key = ?, display_name = ?, email = ?, given_name = ?,
			family_name = ?, external_id = ?, active = ?, source = ?, source_id = ?, updated_at = ? WHERE id = ?`},
		{&a.grant, "INSERT INTO user_roles (user_id, role) VALUES (?, ?) ON CONFLICT DO NOTHING"},
		{&a.revoke, "DELETE FROM user_roles WHERE user_id = ? AND role = ?"},
		{&a.dropRoles, "DELETE FROM user_roles WHERE user_id = ?"},
		{&a.touch, "UPDATE users SET updated_at = ?1 WHERE id = ?2 AND updated_at <> ?1"},
	} {
		stmt, err := tx.PrepareContext(ctx, st.sql)
		if err != nil {
			a.close()
			return nil, dbError(err, "apply %s: prepare", a.label)
		}
		*st.stmt = stmt
	}
	return a, nil
}

func (a *applier) close() {
	for _, st := range []*sql.Stmt{a.getUser, a.putUser, a.grant, a.revoke, a.dropRoles, a.touch} {
		if st != nil {
			st.Close()
		}
	}
	a.log.close()
}

// flush inserts the queued rows.
func (a *applier) flush() error {
	if err := a.insertCreates(); err != nil {
		return err
	}
	return dbError(a.log.flush(a.ctx), "apply %s: append to the change log", a.label)
}

// stale is the error for a change that no longer fits the current state.
func (a *applier) stale(u *userRow, format string, args ...any) error {
	return reconcile.Errorf(reconcile.ECONFLICT, "%s is stale: user %q (id %s): %s; plan again",
		a.label, u.userName, u.id, fmt.Sprintf(format, args...))
}

// apply applies and logs the plan's i-th change.
func (a *applier) apply(i int) error {
	c := &a.p.Changes[i]
	var err error
	switch c.Kind {
	case reconcile.ChangeConflict:
		return nil // not applied, not logged
	case reconcile.ChangeGroupCreate, reconcile.ChangeGroupUpdate, reconcile.ChangeGroupDelete:
		// Source state is stored from the plan's Directory; the change is only logged.
	case reconcile.ChangeCreate:
		err = a.create(i, c)
	case reconcile.ChangeUpdate, reconcile.ChangeDeactivate, reconcile.ChangeReactivate,
		reconcile.ChangeGrant, reconcile.ChangeRevoke, reconcile.ChangeAdopt:
		err = a.change(c)
	default:
		err = reconcile.Errorf(reconcile.EINVALID, "%s: change %d: unknown kind %q", a.label, i, c.Kind)
	}
	if err != nil {
		return err
	}
	return a.logChange(i, c)
}

// user returns the current state of the user a change names.
func (a *applier) user(c *reconcile.Change) (*userRow, error) {
	if c.UserID == "" {
		return nil, reconcile.Errorf(reconcile.EINVALID, "%s: %s change of user %q has no user id", a.label, c.Kind, c.User)
	}
	if u := a.users[c.UserID]; u != nil {
		return u, nil
	}
	u := &userRow{}
	err := a.getUser.QueryRowContext(a.ctx, c.UserID).Scan(&u.id, &u.userName, &u.displayName, &u.email,
		&u.givenName, &u.familyName, &u.externalID, &u.active, &u.source, &u.sourceID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, reconcile.Errorf(reconcile.ECONFLICT, "%s is stale: user %q (id %s) no longer exists; plan again",
			a.label, c.User, c.UserID)
	}
	if err != nil {
		return nil, dbError(err, "apply %s: read user %s", a.label, c.UserID)
	}
	a.users[u.id] = u
	return u, nil
}

// change applies a change to an existing user.
func (a *applier) change(c *reconcile.Change) error {
	u, err := a.user(c)
	if err != nil {
		return err
	}
	switch c.Kind {
	case reconcile.ChangeUpdate:
		return a.update(u, c)
	case reconcile.ChangeDeactivate:
		if !u.active {
			return a.stale(u, "already inactive")
		}
		u.active = false
		if _, err := a.dropRoles.ExecContext(a.ctx, u.id); err != nil {
			return dbError(err, "apply %s: deactivate %q", a.label, u.userName)
		}
		return a.write(u)
	case reconcile.ChangeReactivate:
		if u.active {
			return a.stale(u, "already active")
		}
		u.active = true
		return a.write(u)
	case reconcile.ChangeGrant, reconcile.ChangeRevoke:
		return a.role(u, c)
	case reconcile.ChangeAdopt:
		return a.adopt(u, c)
	}
	return nil
}

// update checks that every attribute it changes still has its Before value,
// then sets the After values.
func (a *applier) update(u *userRow, c *reconcile.Change) error {
	known := 0
	for _, k := range append(reconcile.UserAttrs[:len(reconcile.UserAttrs):len(reconcile.UserAttrs)], reconcile.AttrActive) {
		after, ok := c.After[k]
		if !ok {
			continue
		}
		known++
		before, ok := c.Before[k]
		if !ok {
			return reconcile.Errorf(reconcile.EINVALID, "%s: update of user %q: %s has no before value", a.label, u.userName, k)
		}
		if k == reconcile.AttrActive {
			b, ok1 := before.(bool)
			n, ok2 := after.(bool)
			if !ok1 || !ok2 {
				return reconcile.Errorf(reconcile.EINVALID, "%s: update of user %q: active is not a boolean", a.label, u.userName)
			}
			if u.active != b {
				return a.stale(u, "active is %t, the plan expected %t", u.active, b)
			}
			u.active = n
			continue
		}
		b, ok1 := before.(string)
		n, ok2 := after.(string)
		if !ok1 || !ok2 {
			return reconcile.Errorf(reconcile.EINVALID, "%s: update of user %q: %s is not a string", a.label, u.userName, k)
		}
		if k == reconcile.AttrUserName && n == "" {
			return reconcile.Errorf(reconcile.EINVALID, "%s: update of user %q: empty userName", a.label, u.userName)
		}
		field := u.attr(k)
		if *field != b {
			return a.stale(u, "%s is %q, the plan expected %q", k, *field, b)
		}
		*field = n
	}
	if known != len(c.After) {
		for k := range c.After {
			if k != reconcile.AttrActive && u.attr(k) == nil {
				return reconcile.Errorf(reconcile.EINVALID, "%s: update of user %q: unknown attribute %q", a.label, u.userName, k)
			}
		}
	}
	return a.write(u)
}

func (a *applier) role(u *userRow, c *reconcile.Change) error {
	if c.Role == "" {
		return reconcile.Errorf(reconcile.EINVALID, "%s: %s for user %q names no role", a.label, c.Kind, u.userName)
	}
	stmt, held := a.grant, "already holds"
	if c.Kind == reconcile.ChangeRevoke {
		stmt, held = a.revoke, "does not hold"
	}
	res, err := stmt.ExecContext(a.ctx, u.id, c.Role)
	if err != nil {
		return dbError(err, "apply %s: %s role %q for %q", a.label, c.Kind, c.Role, u.userName)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return dbError(err, "apply %s: %s role %q for %q", a.label, c.Kind, c.Role, u.userName)
		}
		return a.stale(u, "%s role %q", held, c.Role)
	}
	_, err = a.touch.ExecContext(a.ctx, a.now, u.id)
	return dbError(err, "apply %s: %s role %q for %q", a.label, c.Kind, c.Role, u.userName)
}

// adopt moves a user's ownership: its owner must still be Before's.
func (a *applier) adopt(u *userRow, c *reconcile.Change) error {
	get := func(m map[string]any, key string) (string, bool) {
		v, ok := m[key]
		if !ok {
			return "", key == "sourceId" // a manual owner has no id
		}
		s, ok := v.(string)
		return s, ok
	}
	bs, ok1 := get(c.Before, "source")
	bid, ok2 := get(c.Before, "sourceId")
	as, ok3 := get(c.After, "source")
	aid, ok4 := get(c.After, "sourceId")
	if !ok1 || !ok2 || !ok3 || !ok4 || as == "" {
		return reconcile.Errorf(reconcile.EINVALID, "%s: adopt of user %q: before and after need a source and a sourceId", a.label, u.userName)
	}
	if u.source != bs || u.sourceID != bid {
		return a.stale(u, "owned by %q (id %q), the plan expected %q (id %q)", u.source, u.sourceID, bs, bid)
	}
	u.source, u.sourceID = as, aid
	return a.write(u)
}

// write stores a user's row as changes left it.
func (a *applier) write(u *userRow) error {
	_, err := a.putUser.ExecContext(a.ctx, u.userName, reconcile.FoldName(u.userName), u.displayName, u.email,
		u.givenName, u.familyName, u.externalID, boolInt(u.active), u.source, u.sourceID, a.now, u.id)
	if isUnique(err) {
		return a.stale(u, "userName %q is taken by another user", u.userName)
	}
	return dbError(err, "apply %s: update user %q", a.label, u.userName)
}
