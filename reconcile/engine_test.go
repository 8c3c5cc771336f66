package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// source is a pull source serving whatever directory (or error) it holds.
type source struct {
	name string
	dir  *reconcile.Directory
	err  error
}

func (s *source) Name() string { return s.name }

func (s *source) Fetch(context.Context) (*reconcile.Directory, error) {
	if s.err != nil {
		return nil, s.err
	}
	return connectortest.Clone(s.dir), nil
}

type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  reconcile.Store
	engine *reconcile.Engine
}

func newFixture(t *testing.T, r *reconcile.Rules, sources ...string) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "idpsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	e := reconcile.NewEngine(st, slog.New(slog.NewTextHandler(io.Discard, nil)),
		reconcile.WithClock(func() time.Time { clock = clock.Add(time.Second); return clock }))
	brakes := map[string]reconcile.Threshold{}
	for _, s := range sources {
		brakes[s] = r.MaxDeactivations
	}
	if err := e.Configure(*r, brakes); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: ctx, store: st, engine: e}
}

func (f *fixture) sync(src reconcile.Source, opt reconcile.SyncOptions) *reconcile.Plan {
	f.t.Helper()
	if opt.Actor == "" {
		opt.Actor = "test"
	}
	p, err := f.engine.Sync(f.ctx, src, opt)
	if err != nil {
		f.t.Fatalf("Sync(%s): %v", src.Name(), err)
	}
	return p
}

// roles returns every user's roles as "userName: [roles]" (inactive users marked), sorted.
func (f *fixture) roles() []string {
	f.t.Helper()
	users, err := f.store.Users(f.ctx, reconcile.UserFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, u := range users {
		s := u.UserName + ": " + joinRoles(u.Roles)
		if !u.Active {
			s += " (inactive)"
		}
		out = append(out, s)
	}
	return out
}

func joinRoles(r []string) string {
	slices.Sort(r)
	return "[" + join(r) + "]"
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func (f *fixture) changeCount() int {
	f.t.Helper()
	recs, err := f.store.Changes(f.ctx, reconcile.ChangeFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return len(recs)
}

func wantRoles(t *testing.T, f *fixture, want ...string) {
	t.Helper()
	if got := f.roles(); !slices.Equal(got, want) {
		t.Errorf("users:\n got %q\nwant %q", got, want)
	}
}

func demo() *reconcile.Directory {
	return dir([]reconcile.User{user("ann", true), user("bob", true), user("cat", true), user("dan", true)},
		group("g1", "ph-admin", "ann"), group("g2", "ph-csm", "g3"), group("g3", "Engineering", "bob"))
}

func TestEngineSyncLifecycle(t *testing.T) {
	f := newFixture(t, rules(func(r *reconcile.Rules) { r.MaxDeactivations = reconcile.Threshold{Count: 1} }), "hr")
	src := &source{name: "hr", dir: demo()}

	p := f.sync(src, reconcile.SyncOptions{})
	if p.Status != reconcile.StatusApplied || p.Summary.Create != 4 {
		t.Fatalf("first sync: status %q summary %+v", p.Status, p.Summary)
	}
	wantRoles(t, f, "ann@example.com: [Admin]", "bob@example.com: [CSM]", "cat@example.com: [Viewer]", "dan@example.com: [Viewer]")

	t.Run("unchanged re-sync writes nothing", func(t *testing.T) {
		before := f.changeCount()
		p := f.sync(src, reconcile.SyncOptions{})
		if p.Status != "" || p.ID != 0 || f.changeCount() != before {
			t.Errorf("status %q id %d, changes %d → %d; want nothing written", p.Status, p.ID, before, f.changeCount())
		}
	})

	t.Run("a failed fetch applies nothing and is recorded", func(t *testing.T) {
		before := f.changeCount()
		broken := &source{name: "hr", err: errors.New("connection reset")}
		_, err := f.engine.Sync(f.ctx, broken, reconcile.SyncOptions{Trigger: "test"})
		if err == nil {
			t.Fatal("Sync with a failing fetch returned no error")
		}
		if f.changeCount() != before {
			t.Error("a failed fetch wrote changes")
		}
		runs, err := f.store.Runs(f.ctx, "hr", 1)
		if err != nil || len(runs) != 1 || runs[0].Outcome != reconcile.RunFailed || runs[0].Error == "" {
			t.Errorf("last run = %+v, %v; want a failed run with its error", runs, err)
		}
	})

	t.Run("an invalid directory applies nothing", func(t *testing.T) {
		before := f.changeCount()
		bad := &source{name: "hr", dir: dir([]reconcile.User{user("ann", true), user("ann", true)})}
		if _, err := f.engine.Sync(f.ctx, bad, reconcile.SyncOptions{}); err == nil {
			t.Fatal("Sync of a directory with a duplicate user returned no error")
		}
		if f.changeCount() != before {
			t.Error("an invalid directory wrote changes")
		}
	})

	t.Run("dry run saves a plan and applies nothing", func(t *testing.T) {
		src.dir.Groups[0].Members = []string{"ann", "cat"}
		before := f.changeCount()
		p := f.sync(src, reconcile.SyncOptions{DryRun: true})
		if p.Status != reconcile.StatusDryRun || p.ID == 0 || p.Summary.Grant != 1 {
			t.Fatalf("dry run: status %q id %d summary %+v", p.Status, p.ID, p.Summary)
		}
		if f.changeCount() != before {
			t.Error("a dry run wrote changes")
		}
		applied, err := f.engine.Approve(f.ctx, p.ID, "admin")
		if err != nil || applied.Status != reconcile.StatusApplied {
			t.Fatalf("Approve(dry run) = %v, %v", applied, err)
		}
		wantRoles(t, f, "ann@example.com: [Admin]", "bob@example.com: [CSM]", "cat@example.com: [Admin]", "dan@example.com: [Viewer]")
	})

	t.Run("over the brake the plan is held, then approved", func(t *testing.T) {
		src.dir.Users = src.dir.Users[:2] // cat and dan leave
		src.dir.Groups[0].Members = []string{"ann"}
		before := f.changeCount()
		p := f.sync(src, reconcile.SyncOptions{})
		if p.Status != reconcile.StatusHeld || p.ID == 0 || p.Summary.Held != 2 {
			t.Fatalf("status %q id %d summary %+v; want held", p.Status, p.ID, p.Summary)
		}
		if f.changeCount() != before {
			t.Fatal("a held plan wrote changes")
		}
		// The next run, with nothing new, keeps the plan already waiting.
		if again := f.sync(src, reconcile.SyncOptions{}); again.ID != p.ID || again.Status != reconcile.StatusHeld {
			t.Errorf("the same held plan again: id %d status %q, want the waiting plan %d", again.ID, again.Status, p.ID)
		}
		if _, err := f.engine.Approve(f.ctx, p.ID, "admin"); err != nil {
			t.Fatal(err)
		}
		wantRoles(t, f, "ann@example.com: [Admin]", "bob@example.com: [CSM]", "cat@example.com: [] (inactive)", "dan@example.com: [] (inactive)")
		if _, err := f.engine.Approve(f.ctx, p.ID, "admin"); reconcile.ErrorKind(err) != reconcile.EINVALID {
			t.Errorf("approving an applied plan again: %v, want invalid", err)
		}
	})

	t.Run("reactivation restores the user and its roles", func(t *testing.T) {
		src.dir.Users = append(src.dir.Users, user("cat", true))
		src.dir.Groups[1].Members = append(src.dir.Groups[1].Members, "cat")
		f.sync(src, reconcile.SyncOptions{})
		wantRoles(t, f, "ann@example.com: [Admin]", "bob@example.com: [CSM]", "cat@example.com: [CSM]", "dan@example.com: [] (inactive)")
	})

	t.Run("a stale held plan is refused and writes nothing", func(t *testing.T) {
		src.dir.Users = src.dir.Users[:1] // bob and cat leave: held
		src.dir.Groups = src.dir.Groups[:1]
		p := f.sync(src, reconcile.SyncOptions{})
		if p.Status != reconcile.StatusHeld {
			t.Fatalf("status %q, want held", p.Status)
		}
		// Meanwhile the brake is lifted and a sync applies a different change for bob.
		src.dir.Users = []reconcile.User{user("ann", true), user("cat", true)}
		if p2 := f.sync(src, reconcile.SyncOptions{ApproveHeld: true}); p2.Status != reconcile.StatusApplied {
			t.Fatalf("approve-held sync: status %q", p2.Status)
		}
		before := f.changeCount()
		// The newer sync superseded (discarded) it.
		if _, err := f.engine.Approve(f.ctx, p.ID, "admin"); err == nil {
			t.Error("Approve(superseded plan) succeeded")
		}
		if f.changeCount() != before {
			t.Error("a stale plan wrote changes")
		}
	})
}

func TestEngineManualUsers(t *testing.T) {
	f := newFixture(t, rules(), "hr")
	if _, err := f.engine.AddManualUser(f.ctx, reconcile.User{UserName: "ops@example.com"}, []string{"Admin"}, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.AddManualUser(f.ctx, reconcile.User{UserName: "x@example.com"}, []string{"Root"}, "admin"); reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Errorf("unknown role: %v, want invalid", err)
	}
	if _, err := f.engine.AddManualUser(f.ctx, reconcile.User{UserName: "OPS@example.com"}, nil, "admin"); reconcile.ErrorKind(err) != reconcile.ECONFLICT {
		t.Errorf("duplicate userName in another case: %v, want conflict", err)
	}
	f.sync(&source{name: "hr", dir: demo()}, reconcile.SyncOptions{})
	f.sync(&source{name: "hr", dir: dir([]reconcile.User{user("ann", true)})}, reconcile.SyncOptions{ApproveHeld: true})
	got := f.roles()
	if !slices.Contains(got, "ops@example.com: [Admin]") {
		t.Errorf("the manual user changed: %q", got)
	}
	if _, err := f.engine.DeactivateManualUser(f.ctx, "ann@example.com", "admin"); reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Errorf("deactivating a source's user by hand: %v, want invalid", err)
	}
	if _, err := f.engine.DeactivateManualUser(f.ctx, "ops@example.com", "admin"); err != nil {
		t.Fatal(err)
	}
	if got := f.roles(); !slices.Contains(got, "ops@example.com: [] (inactive)") {
		t.Errorf("after deactivation: %q", got)
	}
}

func TestEngineRulesAndRemoval(t *testing.T) {
	f := newFixture(t, rules(), "hr", "okta")
	f.sync(&source{name: "hr", dir: demo()}, reconcile.SyncOptions{})
	f.sync(&source{name: "okta", dir: dir([]reconcile.User{user("eve", true)}, group("o1", "ph-admin", "eve"))}, reconcile.SyncOptions{})

	admin := &reconcile.AdminRules{Mappings: []reconcile.Mapping{{Group: "Engineering", Role: "Admin", Origin: reconcile.OriginAdmin}}}
	p, err := f.engine.PlanRules(f.ctx, admin, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if got := brief(p); !slices.Equal(got, []string{"grant bob Admin"}) {
		t.Errorf("rules plan = %q", got)
	}
	if f.changeCount() == 0 {
		t.Fatal("no changes logged by the syncs")
	}
	if err := f.engine.Apply(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	if x, err := f.engine.Explain(f.ctx, "BOB@example.com"); err != nil || len(x.Grants) != 2 || x.Grants[1].Groups[0] != "Engineering" || x.Note != "" {
		t.Errorf("Explain(bob) = %+v, %v", x, err)
	}
	if _, err := f.engine.PlanRules(f.ctx, &reconcile.AdminRules{Mappings: []reconcile.Mapping{{Group: "x", Role: "Nope"}}}, "admin"); reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Errorf("mapping to an unknown role: %v, want invalid", err)
	}

	// okta leaves the configuration: its one user (100% of it) is held, then approved.
	if err := f.engine.Configure(*rules(), map[string]reconcile.Threshold{"hr": reconcile.DefaultThreshold}); err != nil {
		t.Fatal(err)
	}
	removed, err := f.engine.Removed(f.ctx)
	if err != nil || !slices.Equal(removed, []string{"okta"}) {
		t.Fatalf("Removed() = %v, %v", removed, err)
	}
	p, err = f.engine.RemoveSource(f.ctx, "okta", reconcile.DefaultThreshold, reconcile.SyncOptions{Actor: "config"})
	if err != nil || p.Status != reconcile.StatusHeld {
		t.Fatalf("RemoveSource = %+v, %v; want held", p, err)
	}
	if _, err := f.engine.Approve(f.ctx, p.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, f, "ann@example.com: [Admin]", "bob@example.com: [Admin CSM]", "cat@example.com: [Viewer]",
		"dan@example.com: [Viewer]", "eve@example.com: [] (inactive)")
	if d, _ := f.store.Directory(f.ctx, "okta"); d != nil {
		t.Error("the removed source's state was kept")
	}
}

func TestEnginePush(t *testing.T) {
	f := newFixture(t, rules(), "scim")
	push := func(w *reconcile.SourceWrites) error {
		w.Source = "scim"
		_, err := f.engine.Push(f.ctx, w, "scim:scim")
		return err
	}
	ann := reconcile.SourceUser{User: user("ann", true), Resource: []byte(`{"userName":"ann@example.com"}`), Create: true}
	if err := push(&reconcile.SourceWrites{Users: []reconcile.SourceUser{ann}}); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, f, "ann@example.com: [Viewer]")
	admins := reconcile.SourceGroup{ID: "g1", DisplayName: "ph-admin", Resource: []byte(`{"displayName":"ph-admin"}`), Create: true, SetMembers: true, Members: []string{"ann"}}
	if err := push(&reconcile.SourceWrites{Groups: []reconcile.SourceGroup{admins}}); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, f, "ann@example.com: [Admin]")
	if err := push(&reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "g1", Remove: []string{"ann"}}}}); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, f, "ann@example.com: [Viewer]")
	if err := push(&reconcile.SourceWrites{DeletedUsers: []string{"ann"}}); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, f, "ann@example.com: [] (inactive)")

	// reject: a userName a manual user holds is refused, nothing written.
	f2 := newFixture(t, rules(func(r *reconcile.Rules) { r.OnConflict = reconcile.Reject }), "scim")
	if _, err := f2.engine.AddManualUser(f2.ctx, reconcile.User{UserName: "bob@example.com"}, nil, "admin"); err != nil {
		t.Fatal(err)
	}
	bob := reconcile.SourceUser{User: user("bob", true), Resource: []byte(`{}`), Create: true}
	_, err := f2.engine.Push(f2.ctx, &reconcile.SourceWrites{Source: "scim", Users: []reconcile.SourceUser{bob}}, "scim:scim")
	if reconcile.ErrorKind(err) != reconcile.ECONFLICT {
		t.Errorf("push of a manual user's userName with reject: %v, want conflict", err)
	}
	if d, _ := f2.store.Directory(f2.ctx, "scim"); d != nil && len(d.Users) > 0 {
		t.Errorf("the rejected user was stored: %+v", d.Users)
	}
	if _, err := f.engine.Push(f.ctx, &reconcile.SourceWrites{Source: "nope"}, "x"); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Errorf("push to an unknown source: %v", err)
	}
}

func TestEngineApproveOutOfDate(t *testing.T) {
	f := newFixture(t, rules(func(r *reconcile.Rules) { r.MaxDeactivations = reconcile.Threshold{Count: 0} }), "hr")
	src := &source{name: "hr", dir: demo()}
	f.sync(src, reconcile.SyncOptions{})
	src.dir = dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann"))
	held := f.sync(src, reconcile.SyncOptions{})
	if held.Status != reconcile.StatusHeld {
		t.Fatalf("status %q, want held", held.Status)
	}
	// Everyone is back, plus one: this sync applies (it deactivates nobody).
	src.dir = demo()
	src.dir.Users = append(src.dir.Users, user("eve", true))
	if p := f.sync(src, reconcile.SyncOptions{}); p.Status != reconcile.StatusApplied {
		t.Fatalf("status %q, want applied", p.Status)
	}
	before := f.changeCount()
	if _, err := f.engine.Approve(f.ctx, held.ID, "admin"); err == nil {
		t.Fatal("approving a held plan superseded by a newer sync succeeded")
	}
	if f.changeCount() != before {
		t.Error("the out-of-date plan wrote changes")
	}
	wantRoles(t, f, "ann@example.com: [Admin]", "bob@example.com: [CSM]", "cat@example.com: [Viewer]", "dan@example.com: [Viewer]", "eve@example.com: [Viewer]")
}

func TestEngineConcurrentRuleEdits(t *testing.T) {
	f := newFixture(t, rules(), "hr")
	f.sync(&source{name: "hr", dir: demo()}, reconcile.SyncOptions{})
	a, err := f.engine.PlanRules(f.ctx, &reconcile.AdminRules{Mappings: []reconcile.Mapping{{Group: "Engineering", Role: "Admin"}}}, "alice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.engine.PlanRules(f.ctx, &reconcile.AdminRules{Mappings: []reconcile.Mapping{{Group: "Sales", Role: "CSM"}}}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.engine.Apply(f.ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := f.engine.Apply(f.ctx, b); reconcile.ErrorKind(err) != reconcile.ECONFLICT {
		t.Errorf("applying an edit planned on replaced rules: %v, want conflict", err)
	}
}

// deltaSource is a DeltaSource over a directory: a full read when the
// cursor is empty, else it returns prev with the changes queued since.
type deltaSource struct {
	source
	fulls, deltas int
	cursors       []string // cursors it was called with
	version       int
	changes       []func(*reconcile.Directory) // applied to prev on the next delta read
	unchanged     bool                         // delta reads report that nothing changed
}

func (s *deltaSource) FetchDelta(ctx context.Context, read func(context.Context) (*reconcile.Directory, error), cursor string) (*reconcile.Directory, string, error) {
	s.cursors = append(s.cursors, cursor)
	if s.err != nil {
		return nil, "", s.err
	}
	if cursor != "" && s.unchanged {
		return nil, cursor, nil
	}
	var prev *reconcile.Directory
	if cursor != "" {
		var err error
		if prev, err = read(ctx); err != nil {
			return nil, "", err
		}
	}
	s.version++
	next := fmt.Sprintf("v%d", s.version)
	if cursor == "" || prev == nil {
		s.fulls++
		s.changes = nil
		return connectortest.Clone(s.dir), next, nil
	}
	s.deltas++
	d := connectortest.Clone(prev)
	for _, c := range s.changes {
		c(d)
	}
	s.changes = nil
	return d, next, nil
}

func TestEngineDeltaSource(t *testing.T) {
	f := newFixture(t, rules(func(r *reconcile.Rules) { r.MaxDeactivations = reconcile.Threshold{Count: 0} }), "hr")
	src := &deltaSource{source: source{name: "hr", dir: demo()}}
	f.sync(src, reconcile.SyncOptions{})
	if src.fulls != 1 || src.deltas != 0 {
		t.Fatalf("first run: %d full, %d delta reads; want one full read", src.fulls, src.deltas)
	}
	if c, _ := f.store.Cursor(f.ctx, "hr"); c != "v1" {
		t.Fatalf("cursor after the first apply = %q, want v1", c)
	}

	// A delta adding cat to ph-admin is applied on top of the stored state.
	src.changes = append(src.changes, func(d *reconcile.Directory) { d.Groups[0].Members = append(d.Groups[0].Members, "cat") })
	f.sync(src, reconcile.SyncOptions{})
	if src.deltas != 1 || src.cursors[1] != "v1" {
		t.Fatalf("second run: deltas %d, called with cursors %q", src.deltas, src.cursors)
	}
	wantRoles(t, f, "ann@example.com: [Admin]", "bob@example.com: [CSM]", "cat@example.com: [Admin]", "dan@example.com: [Viewer]")
	if c, _ := f.store.Cursor(f.ctx, "hr"); c != "v2" {
		t.Errorf("cursor after the delta apply = %q, want v2", c)
	}

	// A delta removing a user is held (brake 0): the cursor does not move.
	src.changes = append(src.changes, func(d *reconcile.Directory) {
		d.Users = slices.DeleteFunc(d.Users, func(u reconcile.User) bool { return u.ID == "dan" })
	})
	held := f.sync(src, reconcile.SyncOptions{})
	if held.Status != reconcile.StatusHeld {
		t.Fatalf("status %q, want held", held.Status)
	}
	if c, _ := f.store.Cursor(f.ctx, "hr"); c != "v2" {
		t.Errorf("a held run moved the cursor to %q", c)
	}
	// Approving it applies the state and the cursor it was read up to.
	if _, err := f.engine.Approve(f.ctx, held.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.store.Cursor(f.ctx, "hr"); c != "v3" {
		t.Errorf("cursor after approving = %q, want v3", c)
	}

	// A failed read leaves everything as it was.
	src.err = errors.New("410 Gone")
	if _, err := f.engine.Sync(f.ctx, src, reconcile.SyncOptions{}); err == nil {
		t.Fatal("a failed delta read returned no error")
	}
	if c, _ := f.store.Cursor(f.ctx, "hr"); c != "v3" {
		t.Errorf("a failed run moved the cursor to %q", c)
	}
}

// A read that changes nothing but the cursor stores the cursor and writes
// no plan.
func TestEngineDeltaCursorOnly(t *testing.T) {
	f := newFixture(t, rules(), "hr")
	src := &deltaSource{source: source{name: "hr", dir: demo()}}
	f.sync(src, reconcile.SyncOptions{})
	before := f.changeCount()
	p := f.sync(src, reconcile.SyncOptions{}) // an empty delta, new cursor v2
	if p.Status != "" || !p.Empty() {
		t.Fatalf("unchanged read: status %q, %d changes", p.Status, len(p.Changes))
	}
	if c, _ := f.store.Cursor(f.ctx, "hr"); c != "v2" {
		t.Errorf("cursor after an unchanged read = %q, want v2", c)
	}
	if n := f.changeCount(); n != before {
		t.Errorf("an unchanged read logged %d changes", n-before)
	}

	// A read that says nothing changed is planned from nothing: no plan,
	// no write, the cursor stays, the run is recorded.
	src.unchanged = true
	p = f.sync(src, reconcile.SyncOptions{})
	if p.Status != "" || !p.Empty() || p.ID != 0 {
		t.Fatalf("nothing changed: status %q, %d changes, plan %d", p.Status, len(p.Changes), p.ID)
	}
	if c, _ := f.store.Cursor(f.ctx, "hr"); c != "v2" {
		t.Errorf("cursor after a read that changed nothing = %q, want v2", c)
	}
	runs, err := f.store.Runs(f.ctx, "hr", 1)
	if err != nil || len(runs) != 1 || runs[0].Outcome != reconcile.RunNoChanges {
		t.Errorf("the last run = %+v, %v; want no-changes", runs, err)
	}
}

// ChangeSignal wakes a waiter when a plan is applied, and the hooks see the
// plan and the run.
func TestEngineChangeSignal(t *testing.T) {
	f := newFixture(t, rules(), "hr")
	var applied, ran []string
	f.engine.SetHooks(reconcile.Hooks{
		Applied: func(p *reconcile.Plan) { applied = append(applied, p.Kind+":"+p.Source) },
		Ran:     func(r *reconcile.Run) { ran = append(ran, r.Source+":"+r.Outcome) },
	})
	sig := f.engine.ChangeSignal()
	if again := f.engine.ChangeSignal(); again != sig {
		t.Fatal("two waiters before a change got different channels")
	}
	select {
	case <-sig:
		t.Fatal("signal closed before any change")
	default:
	}
	src := &source{name: "hr", dir: demo()}
	f.sync(src, reconcile.SyncOptions{})
	select {
	case <-sig:
	default:
		t.Fatal("signal not closed after an applied sync")
	}
	next := f.engine.ChangeSignal()
	f.sync(src, reconcile.SyncOptions{}) // nothing to do: no signal
	select {
	case <-next:
		t.Fatal("signal closed by a run that applied nothing")
	default:
	}
	if want := []string{"sync:hr"}; !slices.Equal(applied, want) {
		t.Errorf("Applied hook saw %q, want %q", applied, want)
	}
	if want := []string{"hr:" + reconcile.RunApplied, "hr:" + reconcile.RunNoChanges}; !slices.Equal(ran, want) {
		t.Errorf("Ran hook saw %q, want %q", ran, want)
	}
}
