package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/idpsync/idpsync/reconcile"
)

const metaRulesHash = "rules_hash"

// AdminRules returns the roles and mappings admins added, in order (empty
// lists if none).
func (s *Store) AdminRules(ctx context.Context) (*reconcile.AdminRules, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := &reconcile.AdminRules{Roles: []reconcile.Role{}, Mappings: []reconcile.Mapping{}}
	rows, err := tx.QueryContext(ctx, "SELECT name, origin FROM admin_roles ORDER BY position")
	if err != nil {
		return nil, dbError(err, "read admin roles")
	}
	defer rows.Close()
	for rows.Next() {
		var r reconcile.Role
		if err := rows.Scan(&r.Name, &r.Origin); err != nil {
			return nil, dbError(err, "read admin roles")
		}
		out.Roles = append(out.Roles, r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "read admin roles")
	}
	rows.Close()

	rows, err = tx.QueryContext(ctx, "SELECT group_name, role, origin FROM admin_mappings ORDER BY position")
	if err != nil {
		return nil, dbError(err, "read admin mappings")
	}
	defer rows.Close()
	for rows.Next() {
		var m reconcile.Mapping
		if err := rows.Scan(&m.Group, &m.Role, &m.Origin); err != nil {
			return nil, dbError(err, "read admin mappings")
		}
		out.Mappings = append(out.Mappings, m)
	}
	return out, dbError(rows.Err(), "read admin mappings")
}

// replaceAdminRules replaces the admin roles and mappings, keeping their order.
func replaceAdminRules(ctx context.Context, tx *sql.Tx, a *reconcile.AdminRules) error {
	for _, q := range []string{"DELETE FROM admin_roles", "DELETE FROM admin_mappings"} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return dbError(err, "replace admin rules")
		}
	}
	for i, r := range a.Roles {
		_, err := tx.ExecContext(ctx, "INSERT INTO admin_roles (position, name, origin) VALUES (?, ?, ?)", i, r.Name, r.Origin)
		if isUnique(err) {
			return reconcile.Errorf(reconcile.EINVALID, "admin rules: duplicate role %q", r.Name)
		}
		if err != nil {
			return dbError(err, "replace admin rules")
		}
	}
	for i, m := range a.Mappings {
		_, err := tx.ExecContext(ctx, "INSERT INTO admin_mappings (position, group_name, role, origin) VALUES (?, ?, ?, ?)",
			i, m.Group, m.Role, m.Origin)
		if err != nil {
			return dbError(err, "replace admin rules")
		}
	}
	return nil
}

// RulesHash returns the fingerprint stored by the last applied plan that had
// one, or "".
func (s *Store) RulesHash(ctx context.Context) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", metaRulesHash).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, dbError(err, "read the rules hash")
}

func setMeta(ctx context.Context, tx *sql.Tx, key, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return dbError(err, "store %s", key)
}
