package sqlite

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Token is a push source's bearer token, as listed: never the token itself.
type Token struct {
	ID       string    `json:"id"`
	Source   string    `json:"source"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed"` // zero: never used
	Revoked  time.Time `json:"revoked"`  // zero: valid
}

// CreateToken stores the SHA-256 hash of a new token of source and returns its record.
func (s *Store) CreateToken(ctx context.Context, source string, hash []byte) (*Token, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	t := &Token{ID: "tok_" + hex.EncodeToString(b[:]), Source: source, Created: s.clock()}
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens (id, source, hash, created_at) VALUES (?, ?, ?, ?)`,
		t.ID, source, hash, formatTime(t.Created))
	if err != nil {
		return nil, s.dbError(err, "create token")
	}
	return t, nil
}

// Tokens lists the tokens of a source ("" for every source), oldest first.
func (s *Store) Tokens(ctx context.Context, source string) ([]Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, source, created_at, last_used_at, revoked_at FROM tokens
		WHERE ? = '' OR source = ? ORDER BY created_at, id`, source, source)
	if err != nil {
		return nil, s.dbError(err, "list tokens")
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		var t Token
		var created string
		var used, revoked sql.NullString
		if err := rows.Scan(&t.ID, &t.Source, &created, &used, &revoked); err != nil {
			return nil, s.dbError(err, "list tokens")
		}
		if t.Created, err = parseTime(created); err != nil {
			return nil, err
		}
		if t.LastUsed, err = parseNullTime(used); err != nil {
			return nil, err
		}
		if t.Revoked, err = parseNullTime(revoked); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, s.dbError(rows.Err(), "list tokens")
}

// RevokeToken revokes a token by id; ENOTFOUND if there is no valid token with that id.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		formatTime(s.clock()), id)
	if err != nil {
		return s.dbError(err, "revoke token")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return reconcile.Errorf(reconcile.ENOTFOUND, "no valid token %q", id)
	}
	return nil
}

// TokenByHash finds the valid token whose SHA-256 hash is hash; ENOTFOUND
// if none. The stored hash is compared again in constant time.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (*Token, error) {
	var t Token
	var stored []byte
	err := s.db.QueryRowContext(ctx, `SELECT id, source, hash FROM tokens WHERE hash = ? AND revoked_at IS NULL`, hash).
		Scan(&t.ID, &t.Source, &stored)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && subtle.ConstantTimeCompare(stored, hash) != 1) {
		return nil, reconcile.Errorf(reconcile.ENOTFOUND, "no such token")
	}
	if err != nil {
		return nil, s.dbError(err, "find token")
	}
	return &t, nil
}

// TouchToken records that a token was used at t.
func (s *Store) TouchToken(ctx context.Context, id string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, formatTime(t), id)
	return s.dbError(err, "touch token")
}
