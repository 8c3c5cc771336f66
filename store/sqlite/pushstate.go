package sqlite

import (
	"maps"
	"slices"

	"github.com/idpsync/idpsync/reconcile"
)

// state reads the PushState after the writes: the affected users, the
// slice of the source's state they need, and the app users they may touch.
// Every query is bounded by the affected set, never by the source's size:
// the slice's groups are found by walking up from its users through the
// reverse membership index (source_members_member).
func (pw *pushWriter) state() (*reconcile.PushState, error) {
	ids := slices.Sorted(maps.Keys(pw.affected))
	st := &reconcile.PushState{Affected: ids, Slice: &reconcile.Directory{}}
	if len(ids) == 0 {
		return st, nil
	}
	var err error
	if st.Slice.Users, err = pw.sliceUsers(ids); err != nil {
		return nil, err
	}
	if st.Slice.Groups, err = pw.sliceGroups(st.Slice.Users); err != nil {
		return nil, err
	}
	if st.Users, err = pw.appUsers(ids, st.Slice.Users); err != nil {
		return nil, err
	}
	return st, nil
}

// sliceUsers reads the affected users that still exist, sorted by id.
func (pw *pushWriter) sliceUsers(ids []string) ([]reconcile.User, error) {
	rows, err := pw.tx.QueryContext(pw.ctx, `SELECT id, user_name, display_name, email, given_name, family_name,
		external_id, active FROM source_users WHERE source_pk = ? AND id IN (SELECT value FROM json_each(?)) ORDER BY id`,
		pw.pk, jsonList(ids))
	if err != nil {
		return nil, pw.dbErr(err, "read the affected users")
	}
	defer rows.Close()
	out := make([]reconcile.User, 0, len(ids))
	for rows.Next() {
		out = append(out, reconcile.User{})
		u := &out[len(out)-1]
		if err := rows.Scan(&u.ID, &u.UserName, &u.DisplayName, &u.Email, &u.GivenName, &u.FamilyName,
			&u.ExternalID, &u.Active); err != nil {
			return nil, pw.dbErr(err, "read the affected users")
		}
	}
	return out, pw.dbErr(rows.Err(), "read the affected users")
}

// sliceGroups returns every group containing one of users, directly or
// through nesting, sorted by id, each with its members among users and
// those groups (sorted). It walks up one nesting level per query.
func (pw *pushWriter) sliceGroups(users []reconcile.User) ([]reconcile.Group, error) {
	frontier := make([]string, len(users))
	for i := range users {
		frontier[i] = users[i].ID
	}
	groups := map[string]*reconcile.Group{}
	for len(frontier) > 0 {
		rows, err := pw.tx.QueryContext(pw.ctx, `SELECT m.member, g.id, g.display_name
			FROM json_each(?) j CROSS JOIN source_members m ON m.member = j.value
			JOIN source_groups g ON g.pk = m.group_pk WHERE g.source_pk = ?`, jsonList(frontier), pw.pk)
		if err != nil {
			return nil, pw.dbErr(err, "read the affected groups")
		}
		frontier = frontier[:0]
		for rows.Next() {
			var member, id, name string
			if err := rows.Scan(&member, &id, &name); err != nil {
				rows.Close()
				return nil, pw.dbErr(err, "read the affected groups")
			}
			g := groups[id]
			if g == nil {
				g = &reconcile.Group{ID: id, DisplayName: name}
				groups[id] = g
				frontier = append(frontier, id)
			}
			g.Members = append(g.Members, member)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, pw.dbErr(err, "read the affected groups")
		}
	}
	out := make([]reconcile.Group, 0, len(groups))
	for _, id := range slices.Sorted(maps.Keys(groups)) {
		g := groups[id]
		slices.Sort(g.Members)
		out = append(out, *g)
	}
	return out, nil
}

// appUsers reads the app users the source owns under the affected ids, and
// those whose userName a slice user has (a collision, or an adoption), with
// their roles.
func (pw *pushWriter) appUsers(ids []string, slice []reconcile.User) ([]reconcile.AppUser, error) {
	keys := make([]string, len(slice))
	for i := range slice {
		keys[i] = reconcile.FoldName(slice[i].UserName)
	}
	rows, err := pw.tx.QueryContext(pw.ctx, "SELECT "+userColumns+` FROM users u
		WHERE u.source = ? AND u.source_id IN (SELECT value FROM json_each(?))
		UNION SELECT `+userColumns+` FROM users u WHERE u.user_key IN (SELECT value FROM json_each(?))`,
		pw.source, jsonList(ids), jsonList(keys))
	if err != nil {
		return nil, pw.dbErr(err, "read the affected app users")
	}
	defer rows.Close()
	var out []reconcile.AppUser
	for rows.Next() {
		out = append(out, reconcile.AppUser{})
		if err := scanUser(rows, &out[len(out)-1]); err != nil {
			return nil, pw.dbErr(err, "read the affected app users")
		}
	}
	if err := rows.Err(); err != nil {
		return nil, pw.dbErr(err, "read the affected app users")
	}
	rows.Close()
	appIDs := make([]string, len(out))
	for i := range out {
		appIDs[i] = out[i].ID
	}
	err = readRoles(pw.ctx, pw.tx, out, "SELECT value FROM json_each(?)", jsonList(appIDs))
	return out, pw.dbErr(err, "read the affected app users' roles")
}
