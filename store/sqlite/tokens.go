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
		var d tokenDates
		if err := rows.Scan(append([]any{&t.ID, &t.Source}, d.dest()...)...); err != nil {
			return nil, s.dbError(err, "list tokens")
		}
		if t.Created, t.LastUsed, t.Revoked, err = d.parse(); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, s.dbError(rows.Err(), "list tokens")
}

// RevokeToken revokes a token by id; ENOTFOUND if there is no valid token with that id.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	return s.revoke(ctx, "tokens", "token", id)
}

// revoke revokes the valid token id of table (tokens or api_tokens); what
// names its kind in errors.
func (s *Store) revoke(ctx context.Context, table, what, id string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE `+table+` SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		formatTime(s.clock()), id)
	if err != nil {
		return s.dbError(err, "revoke %s", what)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return reconcile.Errorf(reconcile.ENOTFOUND, "no valid %s %q", what, id)
	}
	return nil
}

// tokenDates are the dates every kind of token keeps, as scanned.
type tokenDates struct {
	created       string
	used, revoked sql.NullString
}

func (d *tokenDates) dest() []any { return []any{&d.created, &d.used, &d.revoked} }

func (d *tokenDates) parse() (created, used, revoked time.Time, err error) {
	if created, err = parseTime(d.created); err != nil {
		return
	}
	if used, err = parseNullTime(d.used); err != nil {
		return
	}
	revoked, err = parseNullTime(d.revoked)
	return
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
