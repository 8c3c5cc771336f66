package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/idpsync/idpsync/reconcile"
)

// The SCIM server's reads of pushed resources. A push source's users and
// groups are rows of source_users and source_groups; their resource column
// is the JSON the IdP wrote.

// resourceTable returns the table holding a resource type.
func resourceTable(typ string) (string, error) {
	switch typ {
	case "User":
		return "source_users", nil
	case "Group":
		return "source_groups", nil
	}
	return "", reconcile.Errorf(reconcile.EINVALID, "unknown resource type %q (want User or Group)", typ)
}

const resourceColumns = "r.pk, r.id, r.resource, r.created_at, r.updated_at, r.version"

// scanResource reads a row selected with resourceColumns.
func scanResource(sc interface{ Scan(...any) error }, res *reconcile.Resource) (pk int64, err error) {
	var raw sql.NullString
	var created, updated string
	if err := sc.Scan(&pk, &res.ID, &raw, &created, &updated, &res.Version); err != nil {
		return 0, err
	}
	if raw.Valid {
		res.Raw = []byte(raw.String)
	}
	if res.Created, err = parseTime(created); err != nil {
		return 0, err
	}
	res.Modified, err = parseTime(updated)
	return pk, err
}

// Resource returns one resource of a source; typ is "User" or "Group".
// withMembers reads a group's members (sorted by id) and their displays.
// ENOTFOUND if the source has no such resource.
func (s *Store) Resource(ctx context.Context, source, typ, id string, withMembers bool) (*reconcile.Resource, error) {
	table, err := resourceTable(typ)
	if err != nil {
		return nil, err
	}
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res := &reconcile.Resource{}
	pk, err := scanResource(tx.QueryRowContext(ctx, "SELECT "+resourceColumns+" FROM "+table+` r
		JOIN source_states s ON s.pk = r.source_pk WHERE s.name = ? AND r.id = ?`, source, id), res)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, reconcile.Errorf(reconcile.ENOTFOUND, "%s %q not found", typ, id)
	case err != nil:
		return nil, s.dbError(err, "read %s %q of source %q", typ, id, source)
	}
	if typ == "Group" && withMembers {
		if err := readMembers(ctx, tx, []*reconcile.Resource{res}, []int64{pk}); err != nil {
			return nil, s.dbError(err, "read the members of group %q", id)
		}
	}
	return res, nil
}

// Resources runs a filter (nil: every resource) over a source's resources
// of one type, in SQL, and returns how many match and the page of them from
// startIndex (1-based; less than 1 counts as 1), at most count (0: none,
// only the total). Resources are in creation order.
func (s *Store) Resources(ctx context.Context, source, typ string, f filter.Expression, startIndex, count int, withMembers bool) (int, []reconcile.Resource, error) {
	table, err := resourceTable(typ)
	if err != nil {
		return 0, nil, err
	}
	where, args, err := translateFilter(typ, f)
	if err != nil {
		return 0, nil, err
	}
	startIndex, count = max(startIndex, 1), max(count, 0)
	tx, err := s.readTx(ctx)
	if err != nil {
		return 0, nil, err
	}
	defer tx.Rollback()
	var spk int64
	err = tx.QueryRowContext(ctx, "SELECT pk FROM source_states WHERE name = ?", source).Scan(&spk)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, []reconcile.Resource{}, nil
	case err != nil:
		return 0, nil, s.dbError(err, "list the %ss of source %q", typ, source)
	}
	from := " FROM " + table + " r WHERE r.source_pk = ? AND " + where
	all := append([]any{spk}, args...)
	out := []reconcile.Resource{}
	var pks []int64
	if count > 0 {
		rows, err := tx.QueryContext(ctx, "SELECT "+resourceColumns+from+" ORDER BY r.pk LIMIT ? OFFSET ?",
			append(all, count, startIndex-1)...)
		if err != nil {
			return 0, nil, s.dbError(err, "list the %ss of source %q", typ, source)
		}
		defer rows.Close()
		for rows.Next() {
			out = append(out, reconcile.Resource{})
			pk, err := scanResource(rows, &out[len(out)-1])
			if err != nil {
				return 0, nil, s.dbError(err, "list the %ss of source %q", typ, source)
			}
			pks = append(pks, pk)
		}
		if err := rows.Err(); err != nil {
			return 0, nil, s.dbError(err, "list the %ss of source %q", typ, source)
		}
		rows.Close()
	}
	// A page that is not full and not empty ends the results: its length
	// gives the total without running the filter a second time (a lookup by
	// userName, or a filter that scans, costs half).
	total := startIndex - 1 + len(out)
	if len(out) == count || len(out) == 0 && startIndex > 1 {
		if err := tx.QueryRowContext(ctx, "SELECT count(*)"+from, all...).Scan(&total); err != nil {
			return 0, nil, s.dbError(err, "count the %ss of source %q", typ, source)
		}
	}
	if typ == "Group" && withMembers {
		groups := make([]*reconcile.Resource, len(out))
		for i := range out {
			groups[i] = &out[i]
		}
		if err := readMembers(ctx, tx, groups, pks); err != nil {
			return 0, nil, s.dbError(err, "list the groups of source %q: members", source)
		}
	}
	return total, out, nil
}

// readMembers fills in the members of groups (their pks in pks, in the
// same order), sorted by member id, with the displays stored.
func readMembers(ctx context.Context, tx *sql.Tx, groups []*reconcile.Resource, pks []int64) error {
	index := make(map[int64]*reconcile.Resource, len(pks))
	for i, pk := range pks {
		index[pk] = groups[i]
		groups[i].Members = []string{}
	}
	list, _ := json.Marshal(pks) // []int64 always encodes
	rows, err := tx.QueryContext(ctx, `SELECT group_pk, member, display FROM source_members
		WHERE group_pk IN (SELECT value FROM json_each(?)) ORDER BY group_pk, member`, string(list))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var pk int64
		var m string
		var d sql.NullString
		if err := rows.Scan(&pk, &m, &d); err != nil {
			return err
		}
		g := index[pk]
		g.Members = append(g.Members, m)
		if d.Valid {
			if g.MemberDisplay == nil {
				g.MemberDisplay = map[string]string{}
			}
			g.MemberDisplay[m] = d.String
		}
	}
	return rows.Err()
}

// GroupMembersIn returns the group resource with Members holding only those
// of ids that are members now (with their display): what a PATCH naming a
// few members of a big group needs, without reading the rest.
func (s *Store) GroupMembersIn(ctx context.Context, source, id string, ids []string) (*reconcile.Resource, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res := &reconcile.Resource{}
	pk, err := scanResource(tx.QueryRowContext(ctx, "SELECT "+resourceColumns+` FROM source_groups r
		JOIN source_states s ON s.pk = r.source_pk WHERE s.name = ? AND r.id = ?`, source, id), res)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, reconcile.Errorf(reconcile.ENOTFOUND, "Group %q not found", id)
	case err != nil:
		return nil, s.dbError(err, "read group %q of source %q", id, source)
	}
	res.Members = []string{}
	list, _ := json.Marshal(ids) // []string always encodes
	rows, err := tx.QueryContext(ctx, `SELECT member, display FROM source_members
		WHERE group_pk = ? AND member IN (SELECT value FROM json_each(?)) ORDER BY member`, pk, string(list))
	if err != nil {
		return nil, s.dbError(err, "read members of group %q", id)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		var d sql.NullString
		if err := rows.Scan(&m, &d); err != nil {
			return nil, s.dbError(err, "read members of group %q", id)
		}
		res.Members = append(res.Members, m)
		if d.Valid {
			if res.MemberDisplay == nil {
				res.MemberDisplay = map[string]string{}
			}
			res.MemberDisplay[m] = d.String
		}
	}
	return res, s.dbError(rows.Err(), "read members of group %q", id)
}
