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
	var (
		where []string
		args  []any
	)
	if f.Source != "" {
		where, args = append(where, "u.source = ?"), append(args, f.Source)
	}
	if f.Active != nil {
		where, args = append(where, "u.active = ?"), append(args, boolInt(*f.Active))
	}
	if f.Role != "" {
		where, args = append(where, "u.id IN (SELECT user_id FROM user_roles WHERE role = ?)"), append(args, f.Role)
	}
	if f.Query != "" {
		q := strings.ToLower(f.Query)
		where = append(where, `(instr(idpsync_lower(u.user_name), ?) > 0
			OR instr(idpsync_lower(u.display_name), ?) > 0
			OR instr(idpsync_lower(u.email), ?) > 0)`)
		args = append(args, q, q, q)
	}
	from := " FROM users u"
	if len(where) > 0 {
		from += " WHERE " + strings.Join(where, " AND ")
	}
	from += " ORDER BY u.user_key"
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit == 0 {
			limit = -1 // SQLite: no limit
		}
		from += " LIMIT ? OFFSET ?"
		args = append(args, limit, f.Offset)
	}

	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var out []reconcile.AppUser
	switch {
	case f.Limit > 0:
		out = make([]reconcile.AppUser, 0, min(f.Limit, 1024))
	case len(where) == 0:
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
			return nil, s.dbError(err, "list users")
		}
		out = make([]reconcile.AppUser, 0, n)
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+userColumns+from, args...)
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
	ids := ""
	if len(where) > 0 || f.Limit > 0 || f.Offset > 0 {
		ids = "SELECT u.id" + from
	}
	if err := readRoles(ctx, tx, out, ids, args...); err != nil {
		return nil, s.dbError(err, "list users: roles")
	}
	return out, nil
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
	rows, err := s.db.QueryContext(ctx,
		"SELECT name FROM source_states UNION SELECT source FROM users ORDER BY 1")
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
