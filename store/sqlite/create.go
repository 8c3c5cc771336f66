package sqlite

import (
	"cmp"
	"database/sql"
	"errors"
	"slices"

	"github.com/idpsync/idpsync/reconcile"
)

// newUser is a create waiting to be inserted.
type newUser struct {
	change int
	id     string
	key    string    // folded userName
	attrs  [6]string // in reconcile.UserAttrs order: userName, displayName, email, givenName, familyName, externalId
	active bool
	source string
	srcID  string
	grants []reconcile.Grant // the plan's: roles may repeat
}

// createKey returns the unique key of a create's userName ("" if it has none).
func createKey(c *reconcile.Change) string {
	name, _ := c.After[reconcile.AttrUserName].(string)
	return reconcile.FoldName(name)
}

// create checks a create and queues it; insertCreates writes the queue.
func (a *applier) create(i int, c *reconcile.Change) error {
	u := newUser{change: i, id: c.UserID, source: c.Source, srcID: c.SourceID, active: true}
	for j, k := range reconcile.UserAttrs {
		v, ok := c.After[k]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return reconcile.Errorf(reconcile.EINVALID, "%s: create of user %q: %s is not a string", a.label, c.User, k)
		}
		u.attrs[j] = s
	}
	name := u.attrs[0]
	if u.key = reconcile.FoldName(name); u.key == "" {
		return reconcile.Errorf(reconcile.EINVALID, "%s: create: change %d has no userName", a.label, i)
	}
	if v, ok := c.After[reconcile.AttrActive]; ok {
		if u.active, ok = v.(bool); !ok {
			return reconcile.Errorf(reconcile.EINVALID, "%s: create of user %q: active is not a boolean", a.label, name)
		}
	}
	if c.Source == "" {
		return reconcile.Errorf(reconcile.EINVALID, "%s: create of user %q: no source (owner)", a.label, name)
	}
	for j, g := range c.Grants {
		if g.Role == "" {
			return reconcile.Errorf(reconcile.EINVALID, "%s: create of user %q: grant %d names no role", a.label, name, j)
		}
	}
	u.grants = c.Grants
	a.creates = append(a.creates, u)
	return nil
}

// insertCreates inserts the queued users, then their roles, in the order of
// their keys: Apply gave them ids in that order too, so both the table and
// its userName index are appended to rather than written all over.
func (a *applier) insertCreates() error {
	slices.SortFunc(a.creates, func(x, y newUser) int { return cmp.Compare(x.key, y.key) })
	for i := 1; i < len(a.creates); i++ {
		if x, y := &a.creates[i-1], &a.creates[i]; x.key == y.key {
			return reconcile.Errorf(reconcile.ECONFLICT, "%s creates userName %q twice (also as %q)", a.label, y.attrs[0], x.attrs[0])
		}
	}
	users := newBatch(a.tx, `INSERT INTO users (id, user_name, user_key, display_name, email, given_name,
		family_name, external_id, active, source, source_id, created_at, updated_at) VALUES `, 13)
	defer users.close()
	start := 0 // the first create of the batch being filled
	for i := range a.creates {
		u := &a.creates[i]
		if users.pending() == 0 {
			start = i
		}
		err := users.add(a.ctx, u.id, u.attrs[0], u.key, u.attrs[1], u.attrs[2], u.attrs[3], u.attrs[4], u.attrs[5],
			boolInt(u.active), u.source, u.srcID, a.now, a.now)
		if err != nil {
			return a.createError(err, a.creates[start:i+1])
		}
	}
	if err := users.flush(a.ctx); err != nil {
		return a.createError(err, a.creates[start:])
	}

	roles := newBatch(a.tx, "INSERT INTO user_roles (user_id, role) VALUES ", 2)
	defer roles.close()
	for i := range a.creates {
		u := &a.creates[i]
		for j, g := range u.grants {
			if slices.ContainsFunc(u.grants[:j], func(h reconcile.Grant) bool { return h.Role == g.Role }) {
				continue // a role given twice
			}
			if err := roles.add(a.ctx, u.id, g.Role); err != nil {
				return dbError(err, "apply %s: insert roles", a.label)
			}
		}
	}
	return dbError(roles.flush(a.ctx), "apply %s: insert roles", a.label)
}

// createError explains a failed insert of creates: a userName already taken.
// (A plan creating one name twice was refused before inserting.) The failed statement
// inserted none of batch, so a user found under one of its keys is the one in
// the way.
func (a *applier) createError(err error, batch []newUser) error {
	if !isUnique(err) {
		return dbError(err, "apply %s: create users", a.label)
	}
	for _, u := range batch {
		var id, taken string
		err := a.tx.QueryRowContext(a.ctx, "SELECT id, user_name FROM users WHERE user_key = ?", u.key).Scan(&id, &taken)
		switch {
		case err == nil:
			return reconcile.Errorf(reconcile.ECONFLICT, "%s is stale: userName %q is already taken by user %q (id %s); plan again",
				a.label, u.attrs[0], taken, id)
		case !errors.Is(err, sql.ErrNoRows):
			return dbError(err, "apply %s: create user %q", a.label, u.attrs[0])
		}
	}
	return reconcile.Errorf(reconcile.ECONFLICT, "%s: create users: %w", a.label, err)
}

// logChange appends a change to the change log. Its JSON columns were
// encoded by the plan's encoder.
func (a *applier) logChange(i int, c *reconcile.Change) error {
	cols, err := a.enc.columns(i)
	if err != nil {
		return err
	}
	userName := c.User
	if userName == "" {
		if u := a.users[c.UserID]; u != nil {
			userName = u.userName
		}
	}
	err = a.log.add(a.ctx, a.now, a.planID, a.p.Actor, c.Kind, c.UserID, userName, c.Source, c.SourceID,
		c.Group, c.Role, cols.groups, cols.grants, c.Reason, cols.before, cols.after)
	return dbError(err, "apply %s: append to the change log", a.label)
}
