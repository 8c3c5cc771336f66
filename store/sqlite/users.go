package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// userColumns selects an app user, without its roles (see readRoles).
const userColumns = `u.id, u.user_name, u.display_name, u.email, u.given_name, u.family_name,
	u.external_id, u.active, u.source, u.source_id, u.created_at, u.updated_at`

// scanUser reads a row selected with userColumns.
func scanUser(sc interface{ Scan(...any) error }, u *reconcile.AppUser) error {
	var created, updated string
	err := sc.Scan(&u.ID, &u.UserName, &u.DisplayName, &u.Email, &u.GivenName, &u.FamilyName,
		&u.ExternalID, &u.Active, &u.Source, &u.SourceID, &created, &updated)
	if err != nil {
		return err
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return err
	}
	u.UpdatedAt, err = parseTime(updated)
	u.Roles = []string{} // [] rather than null for API callers; readRoles fills it
	return err
}

// readRoles fills in the roles of users, sorted by name. ids selects the
// users' ids (a subquery with its args), or is "" for every user. Reading
// them in one ordered pass is cheaper than a subquery per user.
func readRoles(ctx context.Context, tx *sql.Tx, users []reconcile.AppUser, ids string, args ...any) error {
	if len(users) == 0 {
		return nil
	}
	index := make(map[string]int, len(users))
	for i := range users {
		index[users[i].ID] = i
	}
	query := "SELECT user_id, role FROM user_roles"
	if ids != "" {
		query += " WHERE user_id IN (" + ids + ")"
	}
	rows, err := tx.QueryContext(ctx, query+" ORDER BY user_id, role", args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var id, role string
	cur := -1
	for rows.Next() {
		if err := rows.Scan(&id, &role); err != nil {
			return err
		}
		if cur < 0 || users[cur].ID != id {
			i, ok := index[id]
			if !ok {
				continue
			}
			cur = i
		}
		users[cur].Roles = append(users[cur].Roles, role)
	}
	return rows.Err()
}

// Users lists app users matching f, ordered by userName (case-insensitive).
// Every filter, and the paging, is done in SQL.
func (s *Store) Users(ctx context.Context, f reconcile.UserFilter) ([]reconcile.AppUser, error) {
	if f.Limit < 0 || f.Offset < 0 {
		return nil, reconcile.Errorf(reconcile.EINVALID, "users: negative limit or offset")
	}
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	where, args, err := userWhere(ctx, tx, f)
	if err != nil {
		return nil, s.dbError(err, "list users")
	}
	var (
		query = "SELECT " + userColumns + " FROM users u ORDER BY u.user_key"
		out   []reconcile.AppUser
	)
	switch {
	case where == "" && f.Limit == 0 && f.Offset == 0:
		// Every user (the engine's input): one pass in userName order.
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
			return nil, s.dbError(err, "list users")
		}
		out = make([]reconcile.AppUser, 0, n)
	default:
		// The page's ids first, from users_list alone: it is in userName
		// order and holds what the filters check. Through users_user_key,
		// SQLite would look up the row of every user it checks (users is
		// WITHOUT ROWID: no deferred seek); this way, only the page's rows.
		page := "SELECT u.id, u.user_key FROM users u" + where + " ORDER BY u.user_key"
		if f.Limit > 0 || f.Offset > 0 {
			limit := f.Limit
			if limit == 0 {
				limit = -1 // SQLite: no limit
			}
			page += " LIMIT ? OFFSET ?"
			args = append(args, limit, f.Offset)
		}
		if f.Limit > 0 {
			out = make([]reconcile.AppUser, 0, min(f.Limit, 1024))
		}
		query = "SELECT " + userColumns + " FROM (" + page + ") p JOIN users u ON u.id = p.id ORDER BY p.user_key"
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.dbError(err, "list users")
	}
	defer rows.Close()
	for rows.Next() {
		out = append(out, reconcile.AppUser{})
		if err := scanUser(rows, &out[len(out)-1]); err != nil {
			return nil, s.dbError(err, "list users")
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbError(err, "list users")
	}
	rows.Close()
	// A page's roles are looked up by its ids; many users' in one pass over
	// every role (readRoles skips the others).
	var ids string
	var idArgs []any
	if len(out) <= rolesByID {
		list := make([]string, len(out))
		for i := range out {
			list[i] = out[i].ID
		}
		ids, idArgs = "SELECT value FROM json_each(?)", []any{jsonList(list)}
	}
	if err := readRoles(ctx, tx, out, ids, idArgs...); err != nil {
		return nil, s.dbError(err, "list users: roles")
	}
	return out, nil
}

// rolesByID is how many users' roles Users looks up by id at most; past it,
// one pass over user_roles is cheaper.
const rolesByID = 1000

// CountUsers returns how many app users match f's filters (Limit and
// Offset ignored): the total behind a page of Users, under the same
// conditions (userWhere).
func (s *Store) CountUsers(ctx context.Context, f reconcile.UserFilter) (int, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	where, args, err := userWhere(ctx, tx, f)
	if err != nil {
		return 0, s.dbError(err, "count users")
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users u"+where, args...).Scan(&n); err != nil {
		return 0, s.dbError(err, "count users")
	}
	return n, nil
}

// userWhere returns the WHERE clause (with a leading space, or "") that
// selects the users f matches, and its arguments: Users and CountUsers share
// it. The terms are written so that SQLite scans users_list in userName
// order, checking them as it goes, and stops once a page is full: at worst
// (a rare search) that reads the index once. Only a source or a role that
// few users have is read through its own index instead (see few). SQLite
// checks the terms in the order written: the cheap ones first.
func userWhere(ctx context.Context, tx *sql.Tx, f reconcile.UserFilter) (string, []any, error) {
	var (
		where []string
		args  []any
	)
	if f.Source != "" {
		few, err := few(ctx, tx, "users WHERE source = ?", f.Source)
		if err != nil {
			return "", nil, err
		}
		if few {
			where = append(where, "u.source = ?")
		} else {
			where = append(where, "+u.source = ?") // + keeps SQLite off users_source
		}
		args = append(args, f.Source)
	}
	if f.Active != nil {
		where, args = append(where, "u.active = ?"), append(args, boolInt(*f.Active))
	}
	if f.Query != "" {
		term, targs := searchTerm(f.Query)
		where, args = append(where, term), append(args, targs...)
	}
	if f.Role != "" {
		few, err := few(ctx, tx, "user_roles WHERE role = ?", f.Role)
		if err != nil {
			return "", nil, err
		}
		if few {
			where = append(where, "u.id IN (SELECT user_id FROM user_roles WHERE role = ?)")
		} else {
			where = append(where, "EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = u.id AND r.role = ?)")
		}
		args = append(args, f.Role)
	}
	if len(where) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(where, " AND "), args, nil
}

// fewRows decides how a source or a role filter runs. One that fewer users
// have drives the query: SQLite reads them through users_source or
// user_roles_role, looks each up and sorts them, in a few ms. One that more
// users have is checked on each row of the scan in userName order, which
// stops when the page is full; reading them all through the index and
// sorting them would cost more, and grow with them (at 100,000 holders of a
// role, ~300 ms a page).
const fewRows = 1000

// few reports whether from (a table and a WHERE clause on one argument,
// served by an index) has fewer than fewRows rows, counting no further.
func few(ctx context.Context, tx *sql.Tx, from string, arg any) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM "+from+" LIMIT ?)", arg, fewRows).Scan(&n)
	return n < fewRows, err
}

// User finds an app user by id or, failing that, by userName
// (case-insensitive); ENOTFOUND if neither matches.
func (s *Store) User(ctx context.Context, ref string) (*reconcile.AppUser, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var u reconcile.AppUser
	err = scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ?", ref), &u)
	if errors.Is(err, sql.ErrNoRows) {
		err = scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.user_key = ?",
			reconcile.FoldName(ref)), &u)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, reconcile.Errorf(reconcile.ENOTFOUND, "user %q not found", ref)
	case err != nil:
		return nil, s.dbError(err, "find user %q", ref)
	}
	users := []reconcile.AppUser{u}
	if err := readRoles(ctx, tx, users, "?", u.ID); err != nil {
		return nil, s.dbError(err, "find user %q: roles", ref)
	}
	return &users[0], nil
}

// Sources lists every source that has stored state or owns users
// (including reconcile.Manual when manual users exist), sorted.
func (s *Store) Sources(ctx context.Context) ([]string, error) {
	// The owners are read by leaping from one to the next in users_source,
	// rather than by reading every user (every users page asks).
	rows, err := s.db.QueryContext(ctx, `WITH RECURSIVE owner(name) AS (
			SELECT min(source) FROM users
			UNION ALL SELECT (SELECT min(source) FROM users WHERE source > owner.name) FROM owner WHERE name IS NOT NULL)
		SELECT name FROM source_states UNION SELECT name FROM owner WHERE name IS NOT NULL ORDER BY 1`)
	if err != nil {
		return nil, s.dbError(err, "list sources")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, s.dbError(err, "list sources")
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbError(err, "list sources")
	}
	return out, nil
}
