package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// userColumns selects an app user and its roles (a JSON array, sorted).
const userColumns = `u.id, u.user_name, u.display_name, u.email, u.given_name, u.family_name,
	u.external_id, u.active, u.source, u.source_id, u.created_at, u.updated_at,
	(SELECT json_group_array(r.role ORDER BY r.role) FROM user_roles r WHERE r.user_id = u.id)`

// scanUser reads a row selected with userColumns.
func scanUser(sc interface{ Scan(...any) error }, u *reconcile.AppUser) error {
	var created, updated, roles string
	err := sc.Scan(&u.ID, &u.UserName, &u.DisplayName, &u.Email, &u.GivenName, &u.FamilyName,
		&u.ExternalID, &u.Active, &u.Source, &u.SourceID, &created, &updated, &roles)
	if err != nil {
		return err
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return err
	}
	if u.UpdatedAt, err = parseTime(updated); err != nil {
		return err
	}
	u.Roles, err = decodeRoles(roles)
	return err
}

// decodeRoles reads a JSON array of role names; an empty one is a non-nil
// empty slice, so that API callers see [] rather than null.
func decodeRoles(s string) ([]string, error) {
	if s == "[]" || s == "" {
		return []string{}, nil
	}
	var roles []string
	if err := json.Unmarshal([]byte(s), &roles); err != nil {
		return nil, reconcile.Errorf(reconcile.EINTERNAL, "stored roles %q: %w", s, err)
	}
	return roles, nil
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
	query := "SELECT " + userColumns + " FROM users u"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY u.user_key"
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit == 0 {
			limit = -1 // SQLite: no limit
		}
		query += " LIMIT ? OFFSET ?"
		args = append(args, limit, f.Offset)
	}

	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbError(err, "list users")
	}
	defer rows.Close()
	var out []reconcile.AppUser
	if f.Limit > 0 {
		out = make([]reconcile.AppUser, 0, min(f.Limit, 1024))
	}
	for rows.Next() {
		out = append(out, reconcile.AppUser{})
		if err := scanUser(rows, &out[len(out)-1]); err != nil {
			return nil, dbError(err, "list users")
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "list users")
	}
	return out, nil
}

// User finds an app user by id or, failing that, by userName
// (case-insensitive); ENOTFOUND if neither matches.
func (s *Store) User(ctx context.Context, ref string) (*reconcile.AppUser, error) {
	var u reconcile.AppUser
	err := scanUser(s.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ?", ref), &u)
	if errors.Is(err, sql.ErrNoRows) {
		err = scanUser(s.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.user_key = ?",
			reconcile.FoldName(ref)), &u)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, reconcile.Errorf(reconcile.ENOTFOUND, "user %q not found", ref)
	case err != nil:
		return nil, dbError(err, "find user %q", ref)
	}
	return &u, nil
}

// Sources lists every source that has stored state or owns users
// (including reconcile.Manual when manual users exist), sorted.
func (s *Store) Sources(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT name FROM source_states UNION SELECT source FROM users ORDER BY 1")
	if err != nil {
		return nil, dbError(err, "list sources")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, dbError(err, "list sources")
		}
		out = append(out, name)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "list sources")
	}
	return out, nil
}
