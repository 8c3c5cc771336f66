package webui_test

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
	"github.com/idpsync/idpsync/webui"
)

const (
	password   = "correct horse battery staple"
	adminToken = "idps_admin-scope-token"
	readToken  = "idps_read-scope-token" // a valid API token without the admin scope
)

// demoDirectory is the README's demo directory (examples/directory.json).
func demoDirectory() *reconcile.Directory {
	u := func(id, name, display string, active bool) reconcile.User {
		return reconcile.User{ID: id, UserName: name, DisplayName: display, Email: name, Active: active}
	}
	return &reconcile.Directory{
		Users: []reconcile.User{
			u("u1001", "ann.lee@example.com", "Ann Lee", true),
			u("u1002", "bruno.costa@example.com", "Bruno Costa", true),
			u("u1003", "chloe.martin@example.com", "Chloé Martin", true),
			u("u1004", "dev.patel@example.com", "Dev Patel", true),
			u("u1005", "emma.schmidt@example.com", "Emma Schmidt", true),
			u("u1006", "farid.haddad@example.com", "Farid Haddad", true),
			u("u1007", "grace.oneil@example.com", "Grace O'Neil", true),
			u("u1008", "hiro.tanaka@example.com", "Hiro Tanaka", false),
		},
		Groups: []reconcile.Group{
			{ID: "g201", DisplayName: "ph-admin", Members: []string{"u1001", "u1002"}},
			{ID: "g202", DisplayName: "ph-csm", Members: []string{"u1002", "u1003", "g203"}},
			{ID: "g203", DisplayName: "Engineering", Members: []string{"u1004", "u1005"}},
			{ID: "g204", DisplayName: "Sales", Members: []string{"u1005", "u1006", "u1008"}},
		},
	}
}

// memSource is a pull source reading a directory held in memory, like a
// file source reading an export.
type memSource struct {
	name string
	mu   sync.Mutex
	dir  *reconcile.Directory
}

func (s *memSource) Name() string { return s.name }

func (s *memSource) Fetch(context.Context) (*reconcile.Directory, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return connectortest.Clone(s.dir), nil
}

func (s *memSource) set(d *reconcile.Directory) {
	s.mu.Lock()
	s.dir = d
	s.mu.Unlock()
}

// clock is the UI's clock: the real time, moved forward by tests.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// control is the daemon's side, as a test double: the pull source "hr"
// synced through the real engine, and the push source "scim".
type control struct {
	engine *reconcile.Engine
	store  reconcile.Store
	hr     *memSource
	now    func() time.Time

	mu      sync.Mutex
	enabled map[string]bool
	gate    chan struct{} // when set, a Sync waits for it to close
}

// hold makes the next syncs wait until release is called (at the latest
// when the test ends).
func (c *control) hold(t testing.TB) (release func()) {
	gate := make(chan struct{})
	c.mu.Lock()
	c.gate = gate
	c.mu.Unlock()
	release = sync.OnceFunc(func() {
		c.mu.Lock()
		c.gate = nil
		c.mu.Unlock()
		close(gate)
	})
	t.Cleanup(release)
	return release
}

var _ api.Control = (*control)(nil)

func (c *control) Sources(ctx context.Context) ([]api.SourceStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next := c.now().Add(15 * time.Minute)
	out := []api.SourceStatus{
		{Name: "hr", Type: "file", Enabled: c.enabled["hr"], Schedule: "@every 15m", NextRun: &next},
		{Name: "scim", Type: "scim", Enabled: c.enabled["scim"]},
	}
	for i := range out {
		runs, err := c.store.Runs(ctx, out[i].Name, 1)
		if err != nil {
			return nil, err
		}
		if len(runs) > 0 {
			out[i].LastRun = &runs[0]
		}
	}
	return out, nil
}

func (c *control) Sync(ctx context.Context, name, actor string) (*reconcile.Plan, error) {
	c.mu.Lock()
	on, known := c.enabled[name]
	gate := c.gate
	c.mu.Unlock()
	if gate != nil {
		<-gate // a test holds the run until it has seen it running
	}
	switch {
	case !known:
		return nil, reconcile.Errorf(reconcile.ENOTFOUND, "no source %q", name)
	case name != "hr":
		return nil, reconcile.Errorf(reconcile.EINVALID, "source %q is pushed to, not pulled", name)
	case !on:
		return nil, reconcile.Errorf(reconcile.EINVALID, "source %q is disabled", name)
	}
	return c.engine.Sync(ctx, c.hr, reconcile.SyncOptions{Actor: actor, Trigger: "api"})
}

func (c *control) SetEnabled(_ context.Context, name string, enabled bool, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.enabled[name]; !ok {
		return reconcile.Errorf(reconcile.ENOTFOUND, "no source %q", name)
	}
	c.enabled[name] = enabled
	return nil
}

func (c *control) isEnabled(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enabled[name]
}

// fixture is a UI over a real store and engine, with the demo directory
// synced from "hr", served under /ui by an httptest server.
type fixture struct {
	t       testing.TB
	store   *sqlite.Store
	engine  *reconcile.Engine
	control *control
	clock   *clock
	srv     *httptest.Server
	handler http.Handler

	mu           sync.Mutex
	apiTokens    map[[32]byte]apiToken // the API tokens AdminToken knows, by hash
	configTokens []webui.TokenActivity // what ConfigTokenActivity reports
}

// apiToken is an application API token, as the daemon's store keeps it.
type apiToken struct{ name, scope string }

// fixtureOptions vary the fixture.
type fixtureOptions struct {
	dir          *reconcile.Directory   // "hr"'s directory; nil: the demo one
	rules        func(*reconcile.Rules) // edits config.toml's rules
	noStoreToken bool                   // make no SCIM token in the store
}

func newFixture(t testing.TB) *fixture {
	return newFixtureOpts(t, fixtureOptions{})
}

// newFixtureWith is newFixture with another directory in "hr".
func newFixtureWith(t testing.TB, dir *reconcile.Directory) *fixture {
	return newFixtureOpts(t, fixtureOptions{dir: dir})
}

func newFixtureOpts(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	ctx := t.Context()
	if o.dir == nil {
		o.dir = demoDirectory()
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idpsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := reconcile.NewEngine(st, log)
	rules := reconcile.Rules{
		Roles:            []reconcile.Role{{Name: "Admin"}, {Name: "CSM"}, {Name: "Viewer"}},
		DefaultRole:      "Viewer",
		OnConflict:       reconcile.Adopt,
		MaxDeactivations: reconcile.DefaultThreshold,
		Mappings: []reconcile.Mapping{
			{Group: "ph-admin", Role: "Admin", Origin: reconcile.OriginConfig},
			{Group: "ph-csm", Role: "CSM", Origin: reconcile.OriginConfig},
		},
	}
	if o.rules != nil {
		o.rules(&rules)
	}
	brakes := map[string]reconcile.Threshold{"hr": reconcile.DefaultThreshold, "scim": reconcile.DefaultThreshold}
	if err := e.Configure(rules, brakes); err != nil {
		t.Fatal(err)
	}
	hr := &memSource{name: "hr", dir: o.dir}
	if _, err := e.Sync(ctx, hr, reconcile.SyncOptions{Actor: "schedule", Trigger: "start"}); err != nil {
		t.Fatal(err)
	}
	if !o.noStoreToken {
		hash := sha256.Sum256([]byte("idps_scim-token"))
		tok, err := st.CreateToken(ctx, "scim", hash[:])
		if err != nil {
			t.Fatal(err)
		}
		if err := st.TouchToken(ctx, tok.ID, time.Now().Add(-3*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}

	pw, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, engine: e, clock: &clock{}, apiTokens: map[[32]byte]apiToken{
		sha256.Sum256([]byte(adminToken)): {"ops", "admin"},
		sha256.Sum256([]byte(readToken)):  {"app", "read"},
	}}
	f.control = &control{engine: e, store: st, hr: hr, now: f.clock.Now, enabled: map[string]bool{"hr": true, "scim": true}}
	h, err := webui.New(webui.Options{
		Engine: e, Store: st, Queries: st, Control: f.control, Log: log,
		PasswordHash: string(pw),
		AdminToken: func(_ context.Context, hash []byte) (string, bool, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			tok, ok := f.apiTokens[[32]byte(hash)]
			return tok.name, ok && tok.scope == "admin", nil
		},
		ConfigTokenActivity: func() []webui.TokenActivity {
			f.mu.Lock()
			defer f.mu.Unlock()
			return slices.Clone(f.configTokens)
		},
		SessionTTL:  8 * time.Hour,
		SessionIdle: 30 * time.Minute,
		Now:         f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.handler = h
	mux := http.NewServeMux()
	mux.Handle("/ui/", http.StripPrefix("/ui", h))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.waitSyncs) // before the store closes
	return f
}

// waitSyncs waits for the runs "Sync now" started to end.
func (f *fixture) waitSyncs() { webui.WaitSyncs(f.handler) }

// setAPIToken makes token valid with scope ("": revoked).
func (f *fixture) setAPIToken(token, name, scope string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := sha256.Sum256([]byte(token))
	if scope == "" {
		delete(f.apiTokens, h)
		return
	}
	f.apiTokens[h] = apiToken{name, scope}
}

// setConfigTokens sets what ConfigTokenActivity reports.
func (f *fixture) setConfigTokens(ts ...webui.TokenActivity) {
	f.mu.Lock()
	f.configTokens = ts
	f.mu.Unlock()
}

// adminRules returns the admin mappings as "group→role".
func (f *fixture) adminMappings() []string {
	f.t.Helper()
	a, err := f.store.AdminRules(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, m := range a.Mappings {
		out = append(out, m.Group+"→"+m.Role)
	}
	return out
}

// roles returns a user's roles, sorted.
func (f *fixture) roles(userName string) []string {
	f.t.Helper()
	u, err := f.store.User(context.Background(), userName)
	if err != nil {
		f.t.Fatal(err)
	}
	return slices.Sorted(slices.Values(u.Roles))
}

// heldPlan makes "hr" drop three users and syncs it: the safety brake
// holds the plan. It returns the plan's id.
func (f *fixture) heldPlan() int64 {
	f.t.Helper()
	f.control.hr.set(shrunk())
	p, err := f.engine.Sync(context.Background(), f.control.hr, reconcile.SyncOptions{Actor: "schedule", Trigger: "schedule"})
	if err != nil {
		f.t.Fatal(err)
	}
	if p.Status != reconcile.StatusHeld {
		f.t.Fatalf("plan status %q, want held", p.Status)
	}
	return p.ID
}

// shrunk is the demo directory less three people: a sync of it
// deactivates more than the safety brake allows.
func shrunk() *reconcile.Directory {
	d := demoDirectory()
	d.Users = slices.DeleteFunc(d.Users, func(u reconcile.User) bool {
		return u.ID == "u1006" || u.ID == "u1007" || u.ID == "u1004"
	})
	for i := range d.Groups {
		d.Groups[i].Members = slices.DeleteFunc(d.Groups[i].Members, func(m string) bool {
			return m == "u1006" || m == "u1007" || m == "u1004"
		})
	}
	return d
}
