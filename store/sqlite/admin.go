package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/idpsync/idpsync/reconcile"
)

// Meta keys: the rules hash, and the admin's rule settings ("" / absent: none).
const (
	metaRulesHash        = "rules_hash"
	metaAdminDefaultRole = "admin_default_role"
	metaAdminSingleRole  = "admin_single_role" // "true" when set
)

// AdminRules returns the roles and mappings admins added, in order (empty
// lists if none), and their default role and single_role settings.
func (s *Store) AdminRules(ctx context.Context) (*reconcile.AdminRules, error) {
	tx, err := s.readTx(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out := &reconcile.AdminRules{Roles: []reconcile.Role{}, Mappings: []reconcile.Mapping{}}
	rows, err := tx.QueryContext(ctx, "SELECT name, origin FROM admin_roles ORDER BY position")
	if err != nil {
		return nil, s.dbError(err, "read admin roles")
	}
	defer rows.Close()
	for rows.Next() {
		var r reconcile.Role
		if err := rows.Scan(&r.Name, &r.Origin); err != nil {
			return nil, s.dbError(err, "read admin roles")
		}
		out.Roles = append(out.Roles, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbError(err, "read admin roles")
	}
	rows.Close()

	rows, err = tx.QueryContext(ctx, "SELECT group_name, role, origin FROM admin_mappings ORDER BY position")
	if err != nil {
		return nil, s.dbError(err, "read admin mappings")
	}
	defer rows.Close()
	for rows.Next() {
		var m reconcile.Mapping
		if err := rows.Scan(&m.Group, &m.Role, &m.Origin); err != nil {
			return nil, s.dbError(err, "read admin mappings")
		}
		out.Mappings = append(out.Mappings, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbError(err, "read admin mappings")
	}
	rows.Close()

	rows, err = tx.QueryContext(ctx, "SELECT key, value FROM meta WHERE key IN (?, ?)", metaAdminDefaultRole, metaAdminSingleRole)
	if err != nil {
		return nil, s.dbError(err, "read admin rule settings")
	}
	defer rows.Close()
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			return nil, s.dbError(err, "read admin rule settings")
		}
		switch key {
		case metaAdminDefaultRole:
			out.DefaultRole = value
		case metaAdminSingleRole:
			out.SingleRole = value == "true"
		}
	}
	return out, s.dbError(rows.Err(), "read admin rule settings")
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
	if _, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE key IN (?, ?)", metaAdminDefaultRole, metaAdminSingleRole); err != nil {
		return dbError(err, "replace admin rules")
	}
	if a.DefaultRole != "" {
		if err := setMeta(ctx, tx, metaAdminDefaultRole, a.DefaultRole); err != nil {
			return err
		}
	}
	if a.SingleRole {
		return setMeta(ctx, tx, metaAdminSingleRole, "true")
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
	return v, s.dbError(err, "read the rules hash")
}

func setMeta(ctx context.Context, tx *sql.Tx, key, value string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return dbError(err, "store %s", key)
}
