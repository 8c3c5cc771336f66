package sqlite

import (
	"context"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// CountUsers returns how many app users match f's filters (Limit and
// Offset ignored): the total behind a page of Users. Its conditions must be
// those of Users; TestCountUsersMatchesUsers holds them together.
func (s *Store) CountUsers(ctx context.Context, f reconcile.UserFilter) (int, error) {
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
	query := "SELECT count(*) FROM users u"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	var n int
	if err := s.db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		return 0, s.dbError(err, "count users")
	}
	return n, nil
}
