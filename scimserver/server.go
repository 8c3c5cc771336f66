package scimserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/idpsync/idpsync/reconcile"
)

// Store reads stored pushed resources (store/sqlite implements it).
type Store interface {
	// Resource returns one resource of a source; typ is "User" or "Group".
	Resource(ctx context.Context, source, typ, id string, withMembers bool) (*reconcile.Resource, error)
	// Resources runs a filter (nil: all) in the store and returns the total
	// number of matches and the page from startIndex (1-based), count long.
	Resources(ctx context.Context, source, typ string, f filter.Expression, startIndex, count int, withMembers bool) (int, []reconcile.Resource, error)
	// GroupMembersIn returns a group with only those of ids that are its
	// members now: a PATCH naming a few members of a big group reads no more.
	GroupMembersIn(ctx context.Context, source, id string, ids []string) (*reconcile.Resource, error)
}

// Pusher applies a push: reconcile.Engine.
type Pusher interface {
	Push(ctx context.Context, w *reconcile.SourceWrites, actor string) (*reconcile.Plan, error)
}

// Authenticator tells which push source a bearer token writes as.
type Authenticator interface {
	// Authenticate returns the token's source; ENOTFOUND when no valid token matches.
	Authenticate(ctx context.Context, token string) (source string, err error)
	// Enabled reports whether a source takes pushes now.
	Enabled(source string) bool
}

// Resource types.
const (
	TypeUser  = "User"
	TypeGroup = "Group"
)

// DefaultCount is the page size of a list request that does not give count.
const DefaultCount = 100

// Server serves the SCIM 2.0 API of every push source. Mount it under its
// prefix with http.StripPrefix; the request's token decides the source.
type Server struct {
	store  Store
	push   Pusher
	auth   Authenticator
	log    *slog.Logger
	prefix string
	locks  [64]sync.Mutex // per-resource PATCH serialisation, by hash of the resource
}

// New returns a server whose resources live under prefix (e.g. "/scim/v2").
func New(store Store, push Pusher, auth Authenticator, log *slog.Logger, prefix string) *Server {
	return &Server{store: store, push: push, auth: auth, log: log, prefix: strings.TrimRight(prefix, "/")}
}

// request is what every handler needs.
type request struct {
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	source string
	base   string // absolute URL of the API root, for meta.location
}

// ServeHTTP authenticates the request and routes it. Paths compare
// case-insensitively (/users works: Microsoft's validator sends it).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	source, err := s.authenticate(r)
	if err != nil {
		if e := AsError(err); e.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="idpsync"`)
		}
		WriteError(w, err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	req := &request{w: w, r: r, ctx: r.Context(), source: source, base: s.baseURL(r)}
	what, id, ok := endpointOf(r.URL.Path)
	switch {
	case !ok:
		WriteError(w, NotFound("no such endpoint %q", r.URL.Path))
	case what == "users":
		s.resource(req, TypeUser, id)
	case what == "groups":
		s.resource(req, TypeGroup, id)
	default:
		s.discovery(req, what, id)
	}
}

// endpointOf reads a path relative to the prefix: the endpoint it names
// (lowercase: users, groups, schemas, resourcetypes, serviceproviderconfig,
// serviceconfiguration) and the id after it, if any; false when it names
// none. Paths compare case-insensitively.
func endpointOf(path string) (what, id string, ok bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) > 2 {
		return "", "", false
	}
	if len(segs) > 1 {
		id = segs[1]
	}
	what = strings.ToLower(segs[0])
	_, ok = routeNames[what]
	return what, id, ok
}

// routeNames spells each endpoint as route patterns do.
var routeNames = map[string]string{
	"users": "Users", "groups": "Groups", "schemas": "Schemas", "resourcetypes": "ResourceTypes",
	"serviceproviderconfig": "ServiceProviderConfig", "serviceconfiguration": "serviceConfiguration",
}

// Route names the route pattern of a request to the server (its path
// relative to the prefix, as ServeHTTP gets it), for metrics: the method
// and the endpoint under the prefix, an id as "{id}", such as
// "GET /scim/v2/Users/{id}". Paths compare case-insensitively, so
// "/users/7" is that route too. A path no endpoint serves, or a method the
// endpoint does not take, is the prefix alone: "/scim/v2/". Route reads
// only the method and the path: unauthenticated requests have routes too.
func (s *Server) Route(r *http.Request) string {
	what, id, ok := endpointOf(r.URL.Path)
	if !ok || !slices.Contains(methods(what, id != ""), r.Method) {
		return s.prefix + "/"
	}
	route := r.Method + " " + s.prefix + "/" + routeNames[what]
	if id != "" {
		route += "/{id}"
	}
	return route
}

// methods lists the methods an endpoint takes, with an id or without.
func methods(what string, withID bool) []string {
	switch {
	case what == "users" || what == "groups":
		if withID {
			return []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete}
		}
		return []string{http.MethodGet, http.MethodPost}
	case withID && (what == "serviceproviderconfig" || what == "serviceconfiguration"):
		return nil // no such document
	}
	return []string{http.MethodGet}
}

func (s *Server) authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", &Error{Status: http.StatusUnauthorized, Detail: "missing bearer token: send Authorization: Bearer <token>"}
	}
	source, err := s.auth.Authenticate(r.Context(), strings.TrimSpace(token))
	switch {
	case reconcile.ErrorKind(err) == reconcile.ENOTFOUND:
		return "", &Error{Status: http.StatusUnauthorized, Detail: "invalid or revoked bearer token"}
	case err != nil:
		return "", err
	case !s.auth.Enabled(source):
		return "", &Error{Status: http.StatusForbidden, Detail: "provisioning into source " + source + " is switched off (enabled = false)"}
	}
	return source, nil
}

func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.prefix
}

// resource routes /Users and /Groups by method.
func (s *Server) resource(req *request, typ, id string) {
	var err error
	switch m := req.r.Method; {
	case m == http.MethodGet && id == "":
		err = s.list(req, typ)
	case m == http.MethodGet:
		err = s.get(req, typ, id)
	case m == http.MethodPost && id == "":
		err = s.create(req, typ)
	case m == http.MethodPut && id != "":
		err = s.replace(req, typ, id)
	case m == http.MethodPatch && id != "":
		err = s.patch(req, typ, id)
	case m == http.MethodDelete && id != "":
		err = s.delete(req, typ, id)
	default:
		err = &Error{Status: http.StatusMethodNotAllowed, Detail: m + " is not supported here"}
	}
	if err != nil {
		s.fail(req, err)
	}
}

// fail writes err; unexpected errors are logged (their detail is not sent).
func (s *Server) fail(req *request, err error) {
	if e := AsError(err); e.Status >= 500 {
		s.log.Error("scim request failed", "method", req.r.Method, "path", req.r.URL.Path, "source", req.source, "err", err)
	}
	WriteError(req.w, err)
}

// body reads the request body (at most MaxBodyBytes: 413 above).
func (req *request) body() ([]byte, error) {
	b, err := io.ReadAll(req.r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, InvalidSyntax("reading the body: %v", err)
	}
	return b, nil
}

// newID returns a fresh resource id: 128 random bits, hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
