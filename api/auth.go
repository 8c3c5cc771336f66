package api

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// token is who a request's bearer token says it is.
type token struct {
	id    string
	name  string
	scope string
}

// authenticate finds the request's API token. Tokens are looked up by their
// SHA-256 hash (the store compares it again in constant time); the token
// itself is never logged or kept.
func (s *server) authenticate(r *http.Request) (token, error) {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return token{}, &httpError{status: http.StatusUnauthorized, kind: kindUnauthorized,
			message: "missing bearer token: send Authorization: Bearer <token> (make one with idpsync api-tokens create)"}
	}
	hash := sha256.Sum256([]byte(raw))
	id, name, scope, err := s.tokens.APITokenByHash(r.Context(), hash[:])
	switch {
	case reconcile.ErrorKind(err) == reconcile.ENOTFOUND:
		return token{}, &httpError{status: http.StatusUnauthorized, kind: kindUnauthorized, message: "invalid or revoked API token"}
	case err != nil:
		return token{}, err
	case scope != ScopeRead && scope != ScopeAdmin:
		return token{}, &httpError{status: http.StatusForbidden, kind: kindForbidden, message: "the token has an unknown scope " + scope}
	}
	s.touch(r.Context(), id)
	return token{id: id, name: name, scope: scope}, nil
}

// touch records a token's use at most once a minute, so busy clients (a
// change-feed follower) do not add a write per request.
func (s *server) touch(ctx context.Context, id string) {
	now := s.now()
	if last, ok := s.touched.Load(id); ok && now.Sub(last.(time.Time)) < time.Minute {
		return
	}
	s.touched.Store(id, now)
	if err := s.tokens.TouchAPIToken(context.WithoutCancel(ctx), id, now); err != nil {
		s.log.Warn("recording an API token's use", "token", id, "err", err) // never fails a request
	}
}
