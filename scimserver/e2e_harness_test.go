package scimserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/scimserver"
	"github.com/idpsync/idpsync/store/sqlite"
)

// The end-to-end tests run the real stack: the SCIM server over HTTP, the
// reconcile engine and a SQLite store in a temporary directory. This file
// holds the harness they share.

const (
	scimPrefix = "/scim/v2"

	// sourceSCIM is the push source the IdP writes as; tokenSCIM is its token.
	sourceSCIM = "scim"
	tokenSCIM  = "test-token-scim"
	// sourceOff is a push source switched off (enabled = false).
	sourceOff = "scim-off"
	tokenOff  = "test-token-off"
)

// testAuth is a fixed-token Authenticator.
type testAuth struct {
	tokens  map[string]string // token → source
	enabled map[string]bool
}

var _ scimserver.Authenticator = (*testAuth)(nil)

func (a *testAuth) Authenticate(_ context.Context, token string) (string, error) {
	if s, ok := a.tokens[token]; ok {
		return s, nil
	}
	return "", reconcile.Errorf(reconcile.ENOTFOUND, "no such token")
}

func (a *testAuth) Enabled(source string) bool { return a.enabled[source] }

// testRules are the rules of every end-to-end test: roles Admin, CSM and
// Viewer, Viewer by default, ph-admin → Admin and ph-csm → CSM.
func testRules() reconcile.Rules {
	return reconcile.Rules{
		Roles:            []reconcile.Role{{Name: "Admin"}, {Name: "CSM"}, {Name: "Viewer"}},
		DefaultRole:      "Viewer",
		OnConflict:       reconcile.Adopt,
		MaxDeactivations: reconcile.DefaultThreshold,
		Mappings:         []reconcile.Mapping{{Group: "ph-admin", Role: "Admin"}, {Group: "ph-csm", Role: "CSM"}},
	}
}

// e2e is a running SCIM server on a fresh database.
type e2e struct {
	tb     testing.TB
	ctx    context.Context
	store  *sqlite.Store
	engine *reconcile.Engine
	srv    *httptest.Server
	client *http.Client
	base   string // URL of the SCIM root, e.g. http://127.0.0.1:1234/scim/v2
}

// newE2E starts the stack. Options change the rules before the engine is
// configured.
func newE2E(tb testing.TB, opts ...func(*reconcile.Rules)) *e2e {
	tb.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "idpsync.db"))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { store.Close() })

	var log *slog.Logger
	if _, bench := tb.(*testing.B); bench {
		log = slog.New(slog.DiscardHandler)
	} else {
		log = slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	engine := reconcile.NewEngine(store, log)
	rules := testRules()
	for _, o := range opts {
		o(&rules)
	}
	err = engine.Configure(rules, map[string]reconcile.Threshold{
		sourceSCIM: reconcile.DefaultThreshold,
		sourceOff:  reconcile.DefaultThreshold, // configured, so only the switch keeps it out
	})
	if err != nil {
		tb.Fatalf("configure engine: %v", err)
	}
	auth := &testAuth{
		tokens:  map[string]string{tokenSCIM: sourceSCIM, tokenOff: sourceOff},
		enabled: map[string]bool{sourceSCIM: true, sourceOff: false},
	}
	mux := http.NewServeMux()
	mux.Handle(scimPrefix+"/", http.StripPrefix(scimPrefix, scimserver.New(store, engine, auth, log, scimPrefix)))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256} // keep-alive for every concurrent client
	tb.Cleanup(tr.CloseIdleConnections)
	return &e2e{tb: tb, ctx: ctx, store: store, engine: engine, srv: srv,
		client: &http.Client{Transport: tr}, base: srv.URL + scimPrefix}
}

// response is an HTTP answer, its body read.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

// JSON decodes the body (numbers as json.Number); nil if it is not JSON.
func (r *response) JSON() map[string]any {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return nil
	}
	return m
}

func (r *response) String() string {
	return fmt.Sprintf("%s %s → %d %s", r.method, r.path, r.status, bytes.TrimSpace(r.body))
}

// check reports what every SCIM answer must satisfy: a body is
// application/scim+json; no server error; no SQLite lock leaking out.
func (r *response) check() error {
	var errs []string
	if len(r.body) > 0 && !strings.HasPrefix(r.header.Get("Content-Type"), "application/scim+json") {
		errs = append(errs, fmt.Sprintf("Content-Type %q, want application/scim+json", r.header.Get("Content-Type")))
	}
	if r.status >= 500 {
		errs = append(errs, "server error")
	}
	if bytes.Contains(bytes.ToLower(r.body), []byte("database is locked")) || bytes.Contains(bytes.ToLower(r.body), []byte("sqlite_busy")) {
		errs = append(errs, "SQLite lock error reached the client")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %s", r, strings.Join(errs, "; "))
	}
	return nil
}

// escapeQuery writes the query of a path as the IdPs send it: "?filter=
// userName eq "x"" becomes "?filter=userName+eq+%22x%22". Paths in tests
// and replays are written unescaped, for reading.
func escapeQuery(path string) string {
	p, q, ok := strings.Cut(path, "?")
	if !ok || q == "" {
		return path
	}
	parts := strings.Split(q, "&")
	for i, kv := range parts {
		k, v, _ := strings.Cut(kv, "=")
		parts[i] = url.QueryEscape(k) + "=" + url.QueryEscape(v)
	}
	return p + "?" + strings.Join(parts, "&")
}

// send makes a request with a token ("" for none) and returns the answer.
// body is nil, a string or []byte (sent as is) or a value marshalled to
// JSON. header holds extra headers as "Name", "value" pairs (an empty
// value removes the default Content-Type). It is safe
// for concurrent use; failures are returned, not reported.
func (h *e2e) send(token, method, path string, body any, header ...string) (*response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case json.RawMessage:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(h.ctx, method, h.base+escapeQuery(path), rd)
	if err != nil {
		return nil, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return &response{method: method, path: path, status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// do sends a request as the enabled source, checks the common contract and
// the status, and fails the test on any problem.
func (h *e2e) do(method, path string, body any, wantStatus int, header ...string) *response {
	h.tb.Helper()
	r, err := h.send(tokenSCIM, method, path, body, header...)
	if err != nil {
		h.tb.Fatal(err)
	}
	if err := r.check(); err != nil {
		h.tb.Fatal(err)
	}
	if r.status != wantStatus {
		h.tb.Fatalf("%s: want status %d", r, wantStatus)
	}
	return r
}

// createUser creates a user with userName and returns its id.
func (h *e2e) createUser(userName string) string {
	h.tb.Helper()
	r := h.do("POST", "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": "Given", "familyName": "Family"},
		"emails":   []any{map[string]any{"primary": true, "type": "work", "value": userName}},
		"active":   true,
	}, http.StatusCreated)
	return jsonString(h.tb, r, "id")
}

// createGroup creates a group with no members and returns its id.
func (h *e2e) createGroup(name string) string {
	h.tb.Helper()
	r := h.do("POST", "/Groups", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name, "members": []any{},
	}, http.StatusCreated)
	return jsonString(h.tb, r, "id")
}

func jsonString(tb testing.TB, r *response, key string) string {
	tb.Helper()
	s, _ := r.JSON()[key].(string)
	if s == "" {
		tb.Fatalf("%s: no %q", r, key)
	}
	return s
}

// patchOp is a PatchOp message of the given operations.
func patchOp(ops ...map[string]any) map[string]any {
	list := make([]any, len(ops))
	for i, o := range ops {
		list[i] = o
	}
	return map[string]any{"schemas": []string{scimserver.PatchOpURN}, "Operations": list}
}

// appUsers returns every app user by folded userName.
func (h *e2e) appUsers() map[string]reconcile.AppUser {
	h.tb.Helper()
	users, err := h.store.Users(h.ctx, reconcile.UserFilter{})
	if err != nil {
		h.tb.Fatalf("store.Users: %v", err)
	}
	out := make(map[string]reconcile.AppUser, len(users))
	for _, u := range users {
		out[reconcile.FoldName(u.UserName)] = u
	}
	return out
}

// sortedRoles returns a sorted copy, never nil, for comparisons.
func sortedRoles(roles []string) []string {
	out := append([]string{}, roles...)
	slices.Sort(out)
	return out
}
