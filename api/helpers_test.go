package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// memSource is a pull source serving the directory it holds.
type memSource struct {
	name string
	mu   sync.Mutex
	dir  reconcile.Directory
}

func (s *memSource) Name() string { return s.name }

func (s *memSource) Fetch(context.Context) (*reconcile.Directory, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(&s.dir)
	var d reconcile.Directory
	return &d, json.Unmarshal(b, &d)
}

// set changes the directory the next fetch returns.
func (s *memSource) set(f func(d *reconcile.Directory)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.dir)
}

// control is a fake daemon: one pull source, synced through the engine.
type control struct {
	engine *reconcile.Engine
	src    *memSource

	mu      sync.Mutex
	enabled bool
	calls   []string
}

func (c *control) Sources(context.Context) ([]api.SourceStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return []api.SourceStatus{{Name: c.src.name, Type: "file", Enabled: c.enabled, Schedule: "@every 15m"}}, nil
}

func (c *control) Sync(ctx context.Context, name, actor string) (*reconcile.Plan, error) {
	c.record("sync " + name + " " + actor)
	if name != c.src.name {
		return nil, reconcile.Errorf(reconcile.ENOTFOUND, "no source %q", name)
	}
	c.mu.Lock()
	enabled := c.enabled
	c.mu.Unlock()
	if !enabled {
		return nil, reconcile.Errorf(reconcile.ECONFLICT, "source %q is switched off", name)
	}
	return c.engine.Sync(ctx, c.src, reconcile.SyncOptions{Actor: actor, Trigger: "api"})
}

func (c *control) SetEnabled(_ context.Context, name string, enabled bool, actor string) error {
	c.record(fmt.Sprintf("enabled %s %v %s", name, enabled, actor))
	if name != c.src.name {
		return reconcile.Errorf(reconcile.ENOTFOUND, "no source %q", name)
	}
	c.mu.Lock()
	c.enabled = enabled
	c.mu.Unlock()
	return nil
}

func (c *control) record(call string) {
	c.mu.Lock()
	c.calls = append(c.calls, call)
	c.mu.Unlock()
}

// fixture is an API over a real store, with users synced from source "hr":
// ann in ph-admin (Admin), bob in Sales, cat in Engineering (nested in
// ph-csm), and 20 more users u00…u19 in no group; config.toml's rules are
// roles Admin, CSM, Viewer, default role Viewer, ph-admin → Admin.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	db      *sqlite.Store
	engine  *reconcile.Engine
	src     *memSource
	control *control
	srv     *httptest.Server
	stop    chan struct{}
	reads   chan int      // the API's change-log reads: how many records each found (dropped when full)
	served  chan struct{} // a request to /changes was answered: its handler returned (dropped when full)

	admin, read string // tokens
}

type option func(*reconcile.Rules, *api.Options)

func newFixture(t *testing.T, opts ...option) *fixture {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idpsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	engine := reconcile.NewEngine(db, log)
	rules := reconcile.Rules{
		Roles:       []reconcile.Role{{Name: "Admin", Origin: reconcile.OriginConfig}, {Name: "CSM", Origin: reconcile.OriginConfig}, {Name: "Viewer", Origin: reconcile.OriginConfig}},
		DefaultRole: "Viewer", OnConflict: reconcile.Adopt, MaxDeactivations: reconcile.DefaultThreshold,
		Mappings: []reconcile.Mapping{{Group: "ph-admin", Role: "Admin", Origin: reconcile.OriginConfig}},
	}
	src := &memSource{name: "hr", dir: directory()}
	f := &fixture{t: t, ctx: ctx, db: db, engine: engine, src: src, stop: make(chan struct{}),
		reads: make(chan int, 100), served: make(chan struct{}, 100)}
	f.control = &control{engine: engine, src: src, enabled: true}
	o := api.Options{Engine: engine, Store: &watchedStore{Store: db, reads: f.reads}, Tokens: db, Control: f.control, Log: log, Stop: f.stop}
	for _, opt := range opts {
		opt(&rules, &o)
	}
	if err := engine.Configure(rules, map[string]reconcile.Threshold{"hr": reconcile.DefaultThreshold}); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Sync(ctx, src, reconcile.SyncOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	f.admin, f.read = f.token("ops", api.ScopeAdmin), f.token("app", api.ScopeRead)
	h := http.StripPrefix("/api/v1", api.New(o))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.URL.Path == "/api/v1/changes" {
			select {
			case f.served <- struct{}{}:
			default: // nobody is watching
			}
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// watchedStore reports the API's change-log reads on reads, so a test
// knows when a long-poll found nothing and is about to wait.
type watchedStore struct {
	*sqlite.Store
	reads chan int
}

func (w *watchedStore) Changes(ctx context.Context, f reconcile.ChangeFilter) ([]reconcile.ChangeRecord, error) {
	recs, err := w.Store.Changes(ctx, f)
	select {
	case w.reads <- len(recs):
	default: // nobody is watching
	}
	return recs, err
}

func directory() reconcile.Directory {
	d := reconcile.Directory{
		Users: []reconcile.User{
			{ID: "ann", UserName: "ann@example.com", DisplayName: "Ann Lee", Email: "ann@example.com", Active: true},
			{ID: "bob", UserName: "bob@example.com", DisplayName: "Bob Ray", Email: "bob@example.com", Active: true},
			{ID: "cat", UserName: "cat@example.com", DisplayName: "Cat Ito", Email: "cat@example.com", Active: true},
		},
		Groups: []reconcile.Group{
			{ID: "g1", DisplayName: "ph-admin", Members: []string{"ann"}},
			{ID: "g2", DisplayName: "Sales", Members: []string{"bob"}},
			{ID: "g3", DisplayName: "Engineering", Members: []string{"cat"}},
			{ID: "g4", DisplayName: "ph-csm", Members: []string{"g3"}},
		},
	}
	for i := range 20 {
		id := fmt.Sprintf("u%02d", i)
		d.Users = append(d.Users, reconcile.User{ID: id, UserName: id + "@example.com", DisplayName: "User " + id, Active: true})
	}
	return d
}

// token makes an API token in the store and returns it.
func (f *fixture) token(name, scope string) string {
	f.t.Helper()
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := "test_" + hex.EncodeToString(b[:])
	hash := sha256.Sum256([]byte(tok))
	if _, err := f.db.CreateAPIToken(f.ctx, name, scope, hash[:]); err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// do sends a request to /api/v1+path and returns the response and its body.
func (f *fixture) do(method, path, token string, body any) (*http.Response, []byte) {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(f.ctx, method, f.srv.URL+"/api/v1"+path, r)
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp, b
}

// call sends a request, checks the status and decodes the JSON answer into out (if not nil).
func (f *fixture) call(method, path, token string, body any, want int, out any) *http.Response {
	f.t.Helper()
	resp, b := f.do(method, path, token, body)
	if resp.StatusCode != want {
		f.t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			f.t.Fatalf("%s %s: %v; body %s", method, path, err, b)
		}
	}
	return resp
}

// fails sends a request that must fail with status and kind, and returns the message.
func (f *fixture) fails(method, path, token string, body any, status int, kind string) string {
	f.t.Helper()
	var e api.ErrorBody
	f.call(method, path, token, body, status, &e)
	if e.Error.Status != status || e.Error.Kind != kind || e.Error.Message == "" {
		f.t.Fatalf("%s %s: error %+v, want status %d, kind %s and a message", method, path, e.Error, status, kind)
	}
	return e.Error.Message
}

// roles returns a user's roles as stored.
func (f *fixture) roles(ref string) []string {
	f.t.Helper()
	u, err := f.db.User(f.ctx, ref)
	if err != nil {
		f.t.Fatal(err)
	}
	return slices.Sorted(slices.Values(u.Roles))
}

// changes returns the whole change log.
func (f *fixture) changes() []reconcile.ChangeRecord {
	f.t.Helper()
	recs, err := f.db.Changes(f.ctx, reconcile.ChangeFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return recs
}

func itoa(n int) string { return fmt.Sprint(n) }

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
