package api

import (
	"context"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Token scopes. An admin token may do everything a read token may.
const (
	ScopeRead  = "read"  // read users, roles, mappings, rules, plans, sources, changes
	ScopeAdmin = "admin" // also change mappings, roles and rules, decide plans, run and switch sources
)

// Tokens finds API tokens by the SHA-256 hash of the token (store/sqlite
// implements it). API tokens are not SCIM tokens.
type Tokens interface {
	// APITokenByHash returns the id, name and scope of the valid token whose
	// hash is hash; ENOTFOUND when none matches (unknown or revoked).
	APITokenByHash(ctx context.Context, hash []byte) (id, name, scope string, err error)
	// TouchAPIToken records that a token was used at t.
	TouchAPIToken(ctx context.Context, id string, t time.Time) error
}

// Options are what the API serves from. Engine, Store, Tokens and Control
// are required.
type Options struct {
	Engine  *reconcile.Engine
	Store   reconcile.Store
	Tokens  Tokens
	Control Control
	Log     *slog.Logger     // nil: discard
	Now     func() time.Time // nil: time.Now
	// Stop, when closed, makes waiting change-feed requests answer at once
	// (close it when the server shuts down, e.g. from RegisterOnShutdown).
	Stop <-chan struct{}
}

// MaxWait caps the wait of a change-feed long-poll.
const MaxWait = 60 * time.Second

// maxBody is the largest request body read.
const maxBody = 1 << 20

// server is the API: a router over the route table, with authentication.
type server struct {
	engine  *reconcile.Engine
	store   reconcile.Store
	tokens  Tokens
	control Control
	log     *slog.Logger
	now     func() time.Time
	stop    <-chan struct{}

	mux     *http.ServeMux
	touched sync.Map // token id → time.Time of the last recorded use
}

// New returns the API handler. It serves paths relative to /api/v1: mount it
// with http.StripPrefix("/api/v1", api.New(o)).
func New(o Options) http.Handler {
	switch {
	case o.Engine == nil, o.Store == nil, o.Tokens == nil, o.Control == nil:
		panic("api.New: Engine, Store, Tokens and Control are required")
	}
	s := &server{engine: o.Engine, store: o.Store, tokens: o.Tokens, control: o.Control,
		log: o.Log, now: o.Now, stop: o.Stop, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, rt := range routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.endpoint(rt))
	}
	s.mux.HandleFunc("/", s.noRoute)
	return s
}

// ServeHTTP routes the request. An unclean path (empty, "//", "..") is no
// route: ServeMux would redirect it to a path without the mount's prefix.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p == "" || path.Clean(p) != p {
		s.noRoute(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// call is one request being served.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	token  token
	dryRun bool
}

// actor is who the change log records for this request's writes.
func (c *call) actor() string { return "api:" + c.token.name }

// endpoint wraps a route's handler: authentication, scope, dry_run, errors.
func (s *server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, ctx: r.Context()}
		if err := s.admit(c, rt.Route); err != nil {
			s.fail(c, err)
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		if err := rt.handle(s, c); err != nil {
			s.fail(c, err)
		}
	})
}

// admit authenticates the request and checks its scope and dry_run.
func (s *server) admit(c *call, rt Route) error {
	if rt.Scope != "" {
		t, err := s.authenticate(c.r)
		if err != nil {
			return err
		}
		c.token = t
		if rt.Scope == ScopeAdmin && t.scope != ScopeAdmin {
			return &httpError{status: http.StatusForbidden, kind: kindForbidden,
				message: rt.Method + " " + rt.Path + " needs a token with scope admin; this token has scope " + t.scope}
		}
	}
	if v := c.r.URL.Query().Get("dry_run"); v != "" {
		if !rt.DryRun {
			return reconcile.Errorf(reconcile.EINVALID, "dry_run is not supported by %s %s", rt.Method, rt.Path)
		}
		switch v {
		case "true", "1":
			c.dryRun = true
		case "false", "0":
		default:
			return reconcile.Errorf(reconcile.EINVALID, "dry_run: %q is not true or false", v)
		}
	}
	return nil
}

// noRoute answers requests no route matches: 401 without a valid token
// (the routes are not for strangers to list), else 405 when another method
// of the path is served, else 404.
func (s *server) noRoute(w http.ResponseWriter, r *http.Request) {
	c := &call{w: w, r: r, ctx: r.Context()}
	if _, err := s.authenticate(r); err != nil {
		s.fail(c, err)
		return
	}
	if allow := s.allowed(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.fail(c, &httpError{status: http.StatusMethodNotAllowed, kind: kindMethodNotAllowed,
			message: r.Method + " is not supported on " + r.URL.Path})
		return
	}
	s.fail(c, &httpError{status: http.StatusNotFound, kind: kindNoRoute, message: "no such endpoint: " + r.Method + " " + r.URL.Path})
}

// allowed lists the methods routes serve on the request's (clean) path.
func (s *server) allowed(r *http.Request) []string {
	if p := r.URL.Path; p == "" || path.Clean(p) != p {
		return nil
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}
