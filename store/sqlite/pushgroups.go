package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/idpsync/idpsync/reconcile"
)

// storedGroupRow is what a group write checks before writing.
type storedGroupRow struct {
	pk      int64
	name    string
	version int64
	hash    digest
}

// findGroup reads a group of the source; ENOTFOUND if none.
func (pw *pushWriter) findGroup(id string) (*storedGroupRow, error) {
	g := &storedGroupRow{}
	var hash []byte
	err := pw.tx.QueryRowContext(pw.ctx, `SELECT pk, display_name, version, members_hash FROM source_groups
		WHERE source_pk = ? AND id = ?`, pw.pk, id).Scan(&g.pk, &g.name, &g.version, &hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, pw.errorf(reconcile.ENOTFOUND, "group %q not found", id)
	case err != nil:
		return nil, pw.dbErr(err, "group %q", id)
	}
	g.hash = digestOf(hash)
	return g, nil
}

func (pw *pushWriter) checkVersion(g *storedGroupRow, id string, want int64) error {
	if want > 0 && want != g.version {
		return pw.errorf(reconcile.EPRECONDITION, "group %q is at version %d, not %d", id, g.version, want)
	}
	return nil
}

// group creates or replaces a group; with SetMembers its members too.
func (pw *pushWriter) group(g *reconcile.SourceGroup) error {
	var members []string
	if g.SetMembers {
		members = uniqueStrings(g.Members)
		for _, m := range members {
			if m == g.ID {
				return pw.errorf(reconcile.EINVALID, "group %q cannot be a member of itself", g.ID)
			}
		}
	}
	if g.Create {
		switch taken, err := pw.idTaken(g.ID); {
		case err != nil:
			return pw.dbErr(err, "create group %q", g.ID)
		case taken:
			return pw.errorf(reconcile.ECONFLICT, "id %q exists", g.ID)
		}
		hash := membersDigest(members)
		res, err := pw.tx.ExecContext(pw.ctx, `INSERT INTO source_groups (source_pk, id, display_name, display_key,
			external_id, resource, members_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			pw.pk, g.ID, g.DisplayName, displayKey(g.DisplayName), g.ExternalID, resourceText(g.Resource), hash[:], pw.now, pw.now)
		if err != nil {
			return pw.dbErr(err, "create group %q", g.ID)
		}
		pk, err := res.LastInsertId()
		if err != nil {
			return pw.dbErr(err, "create group %q", g.ID)
		}
		add := newBatch(pw.tx, "INSERT INTO source_members (group_pk, member, display) VALUES ", 3)
		defer add.close()
		for _, m := range members {
			if err := add.add(pw.ctx, pk, m, display(g.MemberDisplay, m)); err != nil {
				return pw.dbErr(err, "create group %q: members", g.ID)
			}
		}
		if err := add.flush(pw.ctx); err != nil {
			return pw.dbErr(err, "create group %q: members", g.ID)
		}
		return pw.affectMembers(members)
	}

	old, err := pw.findGroup(g.ID)
	if err != nil {
		return err
	}
	if err := pw.checkVersion(old, g.ID, g.IfVersion); err != nil {
		return err
	}
	if old.name != g.DisplayName {
		// Every user under the group may gain or lose a mapped group.
		if err := pw.affectUnder("SELECT ?", old.pk); err != nil {
			return err
		}
	}
	hash := old.hash
	if g.SetMembers {
		if hash, err = pw.setMembers(old.pk, g.ID, members, g.MemberDisplay); err != nil {
			return err
		}
	}
	_, err = pw.tx.ExecContext(pw.ctx, `UPDATE source_groups SET display_name = ?, display_key = ?, external_id = ?,
		resource = ?, members_hash = ?, updated_at = ?, version = version + 1 WHERE pk = ?`,
		g.DisplayName, displayKey(g.DisplayName), g.ExternalID, resourceText(g.Resource), hash[:], pw.now, old.pk)
	return pw.dbErr(err, "replace group %q", g.ID)
}

// setMembers replaces a group's members (unique) with members, writing only
// the difference, and returns the new members hash (the caller stores it).
// The users affected are those under the members added or removed: the
// others keep every path they had to the group.
func (pw *pushWriter) setMembers(pk int64, id string, members []string, displays map[string]string) (digest, error) {
	rows, err := pw.tx.QueryContext(pw.ctx, "SELECT member, display FROM source_members WHERE group_pk = ?", pk)
	if err != nil {
		return digest{}, pw.dbErr(err, "group %q: members", id)
	}
	stored := map[string]sql.NullString{}
	for rows.Next() {
		var m string
		var d sql.NullString
		if err := rows.Scan(&m, &d); err != nil {
			rows.Close()
			return digest{}, pw.dbErr(err, "group %q: members", id)
		}
		stored[m] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return digest{}, pw.dbErr(err, "group %q: members", id)
	}

	var changed []string
	add := newBatch(pw.tx, "INSERT INTO source_members (group_pk, member, display) VALUES ", 3)
	defer add.close()
	for _, m := range members {
		d := display(displays, m)
		old, ok := stored[m]
		delete(stored, m)
		switch {
		case !ok:
			changed = append(changed, m)
			err = add.add(pw.ctx, pk, m, d)
		case old != nullString(d):
			_, err = pw.tx.ExecContext(pw.ctx, "UPDATE source_members SET display = ? WHERE group_pk = ? AND member = ?", d, pk, m)
		}
		if err != nil {
			return digest{}, pw.dbErr(err, "group %q: members", id)
		}
	}
	if err := add.flush(pw.ctx); err != nil {
		return digest{}, pw.dbErr(err, "group %q: members", id)
	}
	if len(stored) > 0 {
		removed := make([]string, 0, len(stored))
		for m := range stored {
			removed = append(removed, m)
		}
		_, err := pw.tx.ExecContext(pw.ctx, `DELETE FROM source_members WHERE group_pk = ?
			AND member IN (SELECT value FROM json_each(?))`, pk, jsonList(removed))
		if err != nil {
			return digest{}, pw.dbErr(err, "group %q: members", id)
		}
		changed = append(changed, removed...)
	}
	return membersDigest(members), pw.affectMembers(changed)
}

// members adds and removes members of one group: removals first (absent
// ones ignored), then additions (present ones ignored; an id the source
// does not hold is kept as written). Removals go first
// because Okta sends a remove and an add of the same member to mean "keep".
func (pw *pushWriter) members(mw *reconcile.MemberWrite) error {
	g, err := pw.findGroup(mw.Group)
	if err != nil {
		return err
	}
	if err := pw.checkVersion(g, mw.Group, mw.IfVersion); err != nil {
		return err
	}
	var changed []string
	for _, m := range uniqueStrings(mw.Remove) {
		res, err := pw.tx.ExecContext(pw.ctx, "DELETE FROM source_members WHERE group_pk = ? AND member = ?", g.pk, m)
		if err != nil {
			return pw.dbErr(err, "group %q: remove %q", mw.Group, m)
		}
		if n, err := res.RowsAffected(); err != nil {
			return pw.dbErr(err, "group %q: remove %q", mw.Group, m)
		} else if n > 0 {
			g.hash.toggle(m)
			changed = append(changed, m)
		}
	}
	for _, m := range uniqueStrings(mw.Add) {
		if m == mw.Group {
			return pw.errorf(reconcile.EINVALID, "group %q cannot be a member of itself", mw.Group)
		}
		// An id the source does not hold (yet) is kept as written, like a
		// SourceGroup's members: IdPs may add a member before creating it,
		// and Microsoft's validator adds bare ids. It gives no one a role.
		d := display(mw.Display, m)
		res, err := pw.tx.ExecContext(pw.ctx, `INSERT INTO source_members (group_pk, member, display) VALUES (?, ?, ?)
			ON CONFLICT DO NOTHING`, g.pk, m, d)
		if err != nil {
			return pw.dbErr(err, "group %q: add %q", mw.Group, m)
		}
		n, err := res.RowsAffected()
		switch {
		case err != nil:
			return pw.dbErr(err, "group %q: add %q", mw.Group, m)
		case n > 0:
			g.hash.toggle(m)
			changed = append(changed, m)
		case d != nil:
			_, err = pw.tx.ExecContext(pw.ctx, "UPDATE source_members SET display = ? WHERE group_pk = ? AND member = ?", d, g.pk, m)
			if err != nil {
				return pw.dbErr(err, "group %q: add %q", mw.Group, m)
			}
		}
	}
	if err := pw.touchGroup(g.pk, g.hash); err != nil {
		return err
	}
	return pw.affectMembers(changed)
}

// deleteGroup removes a group, its memberships and its membership in
// other groups. Every user under it is affected.
func (pw *pushWriter) deleteGroup(id string) error {
	g, err := pw.findGroup(id)
	if err != nil {
		return err
	}
	if err := pw.affectUnder("SELECT ?", g.pk); err != nil {
		return err
	}
	if err := pw.dropMember(id); err != nil {
		return err
	}
	_, err = pw.tx.ExecContext(pw.ctx, "DELETE FROM source_groups WHERE pk = ?", g.pk) // its members cascade
	return pw.dbErr(err, "delete group %q", id)
}

// affectMembers marks the users among ids, and every user under the groups
// among ids (through nesting), as affected. Other ids are ignored.
func (pw *pushWriter) affectMembers(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	before := len(pw.affected)
	if err := pw.collect(`SELECT id FROM source_users WHERE source_pk = ? AND id IN (SELECT value FROM json_each(?))`,
		pw.pk, jsonList(ids)); err != nil {
		return err
	}
	var rest []string // the ids that may be groups
	if len(pw.affected)-before < len(ids) {
		for _, id := range ids {
			if !pw.affected[id] {
				rest = append(rest, id)
			}
		}
	}
	if len(rest) == 0 {
		return nil
	}
	return pw.affectUnder("SELECT pk FROM source_groups WHERE source_pk = ? AND id IN (SELECT value FROM json_each(?))",
		pw.pk, jsonList(rest))
}

// affectUnder marks every user under the groups seed selects (group pks),
// through nesting, as affected.
func (pw *pushWriter) affectUnder(seed string, args ...any) error {
	// CROSS JOIN keeps SQLite from driving the join from source_users (every
	// user of the source) rather than from the groups found.
	return pw.collect(`WITH RECURSIVE sub(pk) AS (
			`+seed+`
			UNION
			SELECT g.pk FROM sub CROSS JOIN source_members m ON m.group_pk = sub.pk
			CROSS JOIN source_groups g ON g.source_pk = ? AND g.id = m.member
		)
		SELECT DISTINCT u.id FROM sub CROSS JOIN source_members m ON m.group_pk = sub.pk
		CROSS JOIN source_users u ON u.source_pk = ? AND u.id = m.member`, append(args, pw.pk, pw.pk)...)
}

// collect adds the ids a query returns to the affected users.
func (pw *pushWriter) collect(query string, args ...any) error {
	rows, err := pw.tx.QueryContext(pw.ctx, query, args...)
	if err != nil {
		return pw.dbErr(err, "affected users")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return pw.dbErr(err, "affected users")
		}
		pw.affected[id] = true
	}
	return pw.dbErr(rows.Err(), "affected users")
}

// display returns the display sent for a member, or nil (NULL).
func display(m map[string]string, id string) any {
	if d, ok := m[id]; ok {
		return d
	}
	return nil
}

func nullString(v any) sql.NullString {
	s, ok := v.(string)
	return sql.NullString{String: s, Valid: ok}
}

// uniqueStrings returns ss without repeats, in first-seen order.
func uniqueStrings(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := ss[:0:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// jsonList encodes ids as a JSON array, bound as one parameter and read
// with json_each: one statement for any number of ids.
func jsonList(ids []string) string {
	b, _ := json.Marshal(ids) // a []string always encodes
	return string(b)
}
