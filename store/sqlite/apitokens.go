package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// APIToken is a bearer token of the application API, as listed: never the
// token itself. Scope is "read" or "admin".
type APIToken struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Scope    string    `json:"scope"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed"` // zero: never used
	Revoked  time.Time `json:"revoked"`  // zero: valid
}

// CreateAPIToken stores the SHA-256 hash of a new API token named name with
// scope "read" or "admin", and returns its record.
func (s *Store) CreateAPIToken(ctx context.Context, name, scope string, hash []byte) (*APIToken, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return nil, reconcile.Errorf(reconcile.EINVALID, "API token: a name is required (who holds it)")
	case scope != "read" && scope != "admin":
		return nil, reconcile.Errorf(reconcile.EINVALID, "API token: scope %q is not \"read\" or \"admin\"", scope)
	case len(hash) != 32:
		return nil, reconcile.Errorf(reconcile.EINVALID, "API token: want a SHA-256 hash, got %d bytes", len(hash))
	}
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	t := &APIToken{ID: "api_" + hex.EncodeToString(b[:]), Name: name, Scope: scope, Created: s.clock()}
	_, err := s.db.ExecContext(ctx, `INSERT INTO api_tokens (id, name, scope, hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.Name, t.Scope, hash, formatTime(t.Created))
	if err != nil {
		return nil, s.dbError(err, "create API token")
	}
	return t, nil
}

// APITokens lists the API tokens, revoked ones too, oldest first.
func (s *Store) APITokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, scope, created_at, last_used_at, revoked_at
		FROM api_tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, s.dbError(err, "list API tokens")
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		var d tokenDates
		if err := rows.Scan(append([]any{&t.ID, &t.Name, &t.Scope}, d.dest()...)...); err != nil {
			return nil, s.dbError(err, "list API tokens")
		}
		if t.Created, t.LastUsed, t.Revoked, err = d.parse(); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, s.dbError(rows.Err(), "list API tokens")
}

// RevokeAPIToken revokes an API token by id; ENOTFOUND if there is no valid
// token with that id.
func (s *Store) RevokeAPIToken(ctx context.Context, id string) error {
	return s.revoke(ctx, "api_tokens", "API token", id)
}

// APITokenByHash returns the id, name and scope of the valid API token whose
// SHA-256 hash is hash; ENOTFOUND if none. The stored hash is compared again
// in constant time.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (id, name, scope string, err error) {
	var stored []byte
	err = s.db.QueryRowContext(ctx, `SELECT id, name, scope, hash FROM api_tokens WHERE hash = ? AND revoked_at IS NULL`, hash).
		Scan(&id, &name, &scope, &stored)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(stored, hash) != 1) {
		return "", "", "", reconcile.Errorf(reconcile.ENOTFOUND, "no such API token")
	}
	if err != nil {
		return "", "", "", s.dbError(err, "find API token")
	}
	return id, name, scope, nil
}

// TouchAPIToken records that an API token was used at t.
func (s *Store) TouchAPIToken(ctx context.Context, id string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, formatTime(t), id)
	return s.dbError(err, "touch API token")
}
