package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Directory returns a source's stored state: users sorted by id, groups
// sorted by id, each group's members sorted. It returns nil, nil for a
// source with no stored state.
func (s *Store) Directory(ctx context.Context, source string) (*reconcile.Directory, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var pk int64
	err = tx.QueryRowContext(ctx, "SELECT pk FROM source_states WHERE name = ?", source).Scan(&pk)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, s.dbError(err, "read the state of source %q", source)
	}
	d := &reconcile.Directory{}
	if d.Users, err = readSourceUsers(ctx, tx, pk); err != nil {
		return nil, s.dbError(err, "read the users of source %q", source)
	}
	slices.SortFunc(d.Users, func(a, b reconcile.User) int { return strings.Compare(a.ID, b.ID) })
	if d.Groups, err = readSourceGroups(ctx, tx, pk); err != nil {
		return nil, s.dbError(err, "read the groups of source %q", source)
	}
	return d, nil
}

// readSourceUsers reads a source's users in creation order. (Reading them
// in table order and sorting them here is faster than SQLite's ORDER BY id
// through the id index, which visits the table at random.)
func readSourceUsers(ctx context.Context, tx *sql.Tx, pk int64) ([]reconcile.User, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, user_name, display_name, email, given_name, family_name,
		external_id, active FROM source_users WHERE source_pk = ? ORDER BY pk`, pk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reconcile.User
	for rows.Next() {
		out = append(out, reconcile.User{})
		u := &out[len(out)-1]
		if err := rows.Scan(&u.ID, &u.UserName, &u.DisplayName, &u.Email, &u.GivenName, &u.FamilyName,
			&u.ExternalID, &u.Active); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

func readSourceGroups(ctx context.Context, tx *sql.Tx, pk int64) ([]reconcile.Group, error) {
	rows, err := tx.QueryContext(ctx,
		"SELECT pk, id, display_name FROM source_groups WHERE source_pk = ? ORDER BY id", pk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []reconcile.Group
	index := map[int64]int{} // group pk → index in out
	for rows.Next() {
		var gpk int64
		out = append(out, reconcile.Group{})
		g := &out[len(out)-1]
		if err := rows.Scan(&gpk, &g.ID, &g.DisplayName); err != nil {
			return nil, err
		}
		index[gpk] = len(out) - 1
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()

	rows, err = tx.QueryContext(ctx, `SELECT m.group_pk, m.member FROM source_groups g
		JOIN source_members m ON m.group_pk = g.pk WHERE g.source_pk = ? ORDER BY g.id, m.member`, pk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		gpk    int64
		member string
		cur    = -1
		curPK  int64
	)
	for rows.Next() {
		if err := rows.Scan(&gpk, &member); err != nil {
			return nil, err
		}
		if cur < 0 || gpk != curPK {
			cur, curPK = index[gpk], gpk
		}
		out[cur].Members = append(out[cur].Members, member)
	}
	return out, rows.Err()
}

// dirWriter replaces a source's stored state with a new directory, writing
// only the difference: an unchanged directory writes nothing.
type dirWriter struct {
	ctx     context.Context
	tx      *sql.Tx
	source  string
	now     string // stamps created_at and updated_at
	pk      int64
	fresh   bool // the source had no state: nothing to compare
	written int  // rows inserted, updated or deleted
}

func replaceDirectory(ctx context.Context, tx *sql.Tx, source string, d *reconcile.Directory, now time.Time) (int, error) {
	w := &dirWriter{ctx: ctx, tx: tx, source: source, now: formatTime(now)}
	err := tx.QueryRowContext(ctx, "SELECT pk FROM source_states WHERE name = ?", source).Scan(&w.pk)
	if errors.Is(err, sql.ErrNoRows) {
		var res sql.Result
		if res, err = tx.ExecContext(ctx, "INSERT INTO source_states (name) VALUES (?)", source); err == nil {
			w.pk, err = res.LastInsertId()
		}
		w.fresh, w.written = true, 1
	}
	if err != nil {
		return 0, dbError(err, "store the state of source %q", source)
	}
	if err := w.users(d.Users); err != nil {
		return 0, err
	}
	if err := w.groups(d.Groups); err != nil {
		return 0, err
	}
	return w.written, nil
}

// stmt prepares a statement once, on first use.
func (w *dirWriter) stmt(p **sql.Stmt, query string) (*sql.Stmt, error) {
	if *p == nil {
		st, err := w.tx.PrepareContext(w.ctx, query)
		if err != nil {
			return nil, err
		}
		*p = st
	}
	return *p, nil
}

func closeStmts(sts ...*sql.Stmt) {
	for _, st := range sts {
		if st != nil {
			st.Close()
		}
	}
}

func (w *dirWriter) err(err error, what string) error {
	if isUnique(err) {
		dup := what + " id"
		if what == "user" {
			dup += " or userName"
		}
		return reconcile.Errorf(reconcile.EINVALID, "directory of source %q: duplicate %s: %w", w.source, dup, err)
	}
	return dbError(err, "store the %ss of source %q", what, w.source)
}

func (w *dirWriter) users(users []reconcile.User) (err error) {
	var old map[string]reconcile.User
	if !w.fresh {
		list, err := readSourceUsers(w.ctx, w.tx, w.pk)
		if err != nil {
			return w.err(err, "user")
		}
		old = make(map[string]reconcile.User, len(list))
		for _, u := range list {
			old[u.ID] = u
		}
	}
	// userNames are unique in the source (source_users_user_key), in the new
	// directory as in the stored one, but not necessarily in between: two
	// users may swap names, or a new user take a leaving one's. So the
	// leaving users go first, and the renamed ones are parked under a key no
	// userName folds to before anything takes their old names.
	if err := w.dropUsers(old, users); err != nil {
		return err
	}
	ins := newBatch(w.tx, `INSERT INTO source_users (source_pk, id, user_name, user_key, display_name, email,
		given_name, family_name, external_id, active, created_at, updated_at) VALUES `, 12)
	var upd *sql.Stmt
	defer func() { ins.close(); closeStmts(upd) }()
	for i := range users {
		u := &users[i]
		if o, ok := old[u.ID]; ok {
			if o == *u {
				continue
			}
			if _, err = w.stmt(&upd, `UPDATE source_users SET user_name = ?, user_key = ?, display_name = ?, email = ?,
				given_name = ?, family_name = ?, external_id = ?, active = ?, updated_at = ?, version = version + 1
				WHERE source_pk = ? AND id = ?`); err == nil {
				_, err = upd.ExecContext(w.ctx, u.UserName, reconcile.FoldName(u.UserName), u.DisplayName, u.Email,
					u.GivenName, u.FamilyName, u.ExternalID, boolInt(u.Active), w.now, w.pk, u.ID)
			}
		} else {
			err = ins.add(w.ctx, w.pk, u.ID, u.UserName, reconcile.FoldName(u.UserName), u.DisplayName, u.Email,
				u.GivenName, u.FamilyName, u.ExternalID, boolInt(u.Active), w.now, w.now)
		}
		if err != nil {
			return w.err(err, "user")
		}
		w.written++
	}
	return w.err(ins.flush(w.ctx), "user")
}

// dropUsers deletes the stored users the new directory no longer has, and
// parks the renamed ones (see users).
func (w *dirWriter) dropUsers(old map[string]reconcile.User, users []reconcile.User) (err error) {
	if len(old) == 0 {
		return nil
	}
	var del, park *sql.Stmt
	defer func() { closeStmts(del, park) }()
	kept := make(map[string]bool, len(users))
	for i := range users {
		u := &users[i]
		o, ok := old[u.ID]
		if !ok {
			continue
		}
		kept[u.ID] = true
		if reconcile.FoldName(o.UserName) == reconcile.FoldName(u.UserName) {
			continue
		}
		if _, err = w.stmt(&park, "UPDATE source_users SET user_key = char(0) || id WHERE source_pk = ? AND id = ?"); err == nil {
			_, err = park.ExecContext(w.ctx, w.pk, u.ID)
		}
		if err != nil {
			return w.err(err, "user")
		}
	}
	for id := range old {
		if kept[id] {
			continue
		}
		if _, err = w.stmt(&del, "DELETE FROM source_users WHERE source_pk = ? AND id = ?"); err == nil {
			_, err = del.ExecContext(w.ctx, w.pk, id)
		}
		if err != nil {
			return w.err(err, "user")
		}
		w.written++
	}
	return nil
}

// The first sync of a big directory drops the reverse membership index
// (migration 0002) and builds it again once the members are in: inserting
// members group by group writes it all over, building it sorts (at 500,000
// memberships: 2.6 s of inserts against 0.3 s). Its definition here must
// stay the migration's.
const (
	rebuildMembers    = 20_000
	createMemberIndex = "CREATE INDEX source_members_member ON source_members (member)"
)

func memberCount(groups []reconcile.Group) int {
	n := 0
	for i := range groups {
		n += len(groups[i].Members)
	}
	return n
}

type storedGroup struct {
	pk   int64
	name string
	hash []byte
}

func (w *dirWriter) groups(groups []reconcile.Group) (err error) {
	old := map[string]storedGroup{}
	if !w.fresh {
		if old, err = w.storedGroups(); err != nil {
			return w.err(err, "group")
		}
	}
	rebuild := w.fresh && memberCount(groups) >= rebuildMembers
	if rebuild {
		if _, err := w.tx.ExecContext(w.ctx, "DROP INDEX source_members_member"); err != nil {
			return w.err(err, "group member")
		}
	}
	members := newBatch(w.tx, "INSERT INTO source_members (group_pk, member) VALUES ", 2)
	var ins, upd, del, delMember *sql.Stmt
	defer func() { members.close(); closeStmts(ins, upd, del, delMember) }()
	for i := range groups {
		g := &groups[i]
		ms := sortedUnique(g.Members)
		hash := membersDigest(ms)

		o, ok := old[g.ID]
		delete(old, g.ID)
		var added []string
		switch {
		case !ok:
			if _, err = w.stmt(&ins, `INSERT INTO source_groups (source_pk, id, display_name, display_key,
				members_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`); err != nil {
				break
			}
			var res sql.Result
			if res, err = ins.ExecContext(w.ctx, w.pk, g.ID, g.DisplayName, displayKey(g.DisplayName), hash[:],
				w.now, w.now); err == nil {
				o.pk, err = res.LastInsertId()
			}
			added = ms
			w.written++
		case o.name != g.DisplayName || !bytes.Equal(o.hash, hash[:]):
			if _, err = w.stmt(&upd, `UPDATE source_groups SET display_name = ?, display_key = ?, members_hash = ?,
				updated_at = ?, version = version + 1 WHERE pk = ?`); err == nil {
				_, err = upd.ExecContext(w.ctx, g.DisplayName, displayKey(g.DisplayName), hash[:], w.now, o.pk)
			}
			w.written++
			if err != nil || bytes.Equal(o.hash, hash[:]) {
				break
			}
			var removed []string
			if added, removed, err = w.memberDiff(o.pk, ms); err != nil {
				break
			}
			for _, m := range removed {
				if _, err = w.stmt(&delMember, "DELETE FROM source_members WHERE group_pk = ? AND member = ?"); err == nil {
					_, err = delMember.ExecContext(w.ctx, o.pk, m)
				}
				if err != nil {
					break
				}
				w.written++
			}
		}
		if err != nil {
			return w.err(err, "group")
		}
		for _, m := range added {
			if err := members.add(w.ctx, o.pk, m); err != nil {
				return w.err(err, "group member")
			}
		}
		w.written += len(added)
	}
	if err := members.flush(w.ctx); err != nil {
		return w.err(err, "group member")
	}
	if rebuild {
		if _, err := w.tx.ExecContext(w.ctx, createMemberIndex); err != nil {
			return w.err(err, "group member")
		}
	}
	for _, o := range old {
		if _, err = w.stmt(&del, "DELETE FROM source_groups WHERE pk = ?"); err == nil { // members cascade
			_, err = del.ExecContext(w.ctx, o.pk)
		}
		if err != nil {
			return w.err(err, "group")
		}
		w.written++
	}
	return nil
}

func (w *dirWriter) storedGroups() (map[string]storedGroup, error) {
	rows, err := w.tx.QueryContext(w.ctx,
		"SELECT pk, id, display_name, members_hash FROM source_groups WHERE source_pk = ?", w.pk)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]storedGroup{}
	for rows.Next() {
		var id string
		var g storedGroup
		if err := rows.Scan(&g.pk, &id, &g.name, &g.hash); err != nil {
			return nil, err
		}
		out[id] = g
	}
	return out, rows.Err()
}

// memberDiff compares a group's stored members with its new, sorted ones.
func (w *dirWriter) memberDiff(pk int64, cur []string) (added, removed []string, err error) {
	rows, err := w.tx.QueryContext(w.ctx, "SELECT member FROM source_members WHERE group_pk = ? ORDER BY member", pk)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var old []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, nil, err
		}
		old = append(old, m)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	i, j := 0, 0
	for i < len(old) || j < len(cur) {
		switch {
		case j == len(cur) || (i < len(old) && old[i] < cur[j]):
			removed = append(removed, old[i])
			i++
		case i == len(old) || cur[j] < old[i]:
			added = append(added, cur[j])
			j++
		default:
			i++
			j++
		}
	}
	return added, removed, nil
}

// displayKey is the key under which group display names are compared in
// SCIM filters: case-insensitively, as Entra and Okta look groups up.
func displayKey(name string) string { return strings.ToLower(name) }

// sortedUnique returns the members sorted and without duplicates, copying
// them only when they are not already so.
func sortedUnique(ms []string) []string {
	for i := 1; i < len(ms); i++ {
		if ms[i-1] >= ms[i] {
			out := slices.Clone(ms)
			slices.Sort(out)
			return slices.Compact(out)
		}
	}
	return ms
}
