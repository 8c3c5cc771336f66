// Package storetest is the conformance suite every reconcile.Store passes:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) reconcile.Store { return openTempStore(t) })
//	}
//
// The suite uses only the reconcile.Store interface. Each test opens its own,
// empty store.
package storetest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// Opener returns a new, empty store; it closes it when t ends.
type Opener = func(t *testing.T) reconcile.Store

// Run runs the conformance suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	t.Run("Apply", func(t *testing.T) { testApply(t, open) })
	t.Run("ApplySetsPlanIDAndUserIDs", func(t *testing.T) { testApplySetsIDs(t, open) })
	t.Run("Stale", func(t *testing.T) { testStale(t, open) })
	t.Run("UniqueUserName", func(t *testing.T) { testUniqueUserName(t, open) })
	t.Run("ChangeLog", func(t *testing.T) { testChangeLog(t, open) })
	t.Run("Directory", func(t *testing.T) { testDirectory(t, open) })
	t.Run("UserGroups", func(t *testing.T) { testUserGroups(t, open) })
	t.Run("Sources", func(t *testing.T) { testSources(t, open) })
	t.Run("Plans", func(t *testing.T) { testPlans(t, open) })
	t.Run("ApplyStoredPlan", func(t *testing.T) { testApplyStoredPlan(t, open) })
	t.Run("AdminRules", func(t *testing.T) { testAdminRules(t, open) })
	t.Run("Runs", func(t *testing.T) { testRuns(t, open) })
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("User", func(t *testing.T) { testUser(t, open) })
	t.Run("Cursor", func(t *testing.T) { testCursor(t, open) })
}

// mustApply applies p and fails the test on an error.
func mustApply(t *testing.T, s reconcile.Store, p *reconcile.Plan) *reconcile.Plan {
	t.Helper()
	if p.Actor == "" {
		p.Actor = "storetest"
	}
	if err := s.Apply(t.Context(), p); err != nil {
		t.Fatalf("Apply(%s plan): %v", p.Kind, err)
	}
	return p
}

// plan returns an unsaved plan of the given changes.
func plan(kind string, changes ...reconcile.Change) *reconcile.Plan {
	p := &reconcile.Plan{Kind: kind, Actor: "storetest", Changes: changes}
	p.Summarize()
	return p
}

// create returns a create change for a user with the given roles.
func create(name, source, sourceID string, roles ...string) reconcile.Change {
	c := reconcile.Change{
		Kind: reconcile.ChangeCreate, User: name, Source: source, SourceID: sourceID,
		After: map[string]any{
			"userName": name, "displayName": "The " + name, "email": strings.ToLower(name) + "@example.com",
			"active": true, "roles": roles,
		},
	}
	for _, r := range roles {
		c.Grants = append(c.Grants, reconcile.Grant{Role: r, Reason: reconcile.ReasonGroup, Groups: []string{"g-" + r}})
	}
	return c
}

// seed applies one plan of creates and returns the new users' ids by userName.
func seed(t *testing.T, s reconcile.Store, creates ...reconcile.Change) map[string]string {
	t.Helper()
	p := mustApply(t, s, plan(reconcile.KindManual, creates...))
	ids := map[string]string{}
	for _, c := range p.Changes {
		if c.UserID == "" {
			t.Fatalf("Apply left the UserID of the create of %q empty", c.User)
		}
		ids[c.User] = c.UserID
	}
	return ids
}

// fixture seeds the users most tests start from: alice (okta, viewer),
// bob (manual, admin) and carol (okta, inactive, no roles).
func fixture(t *testing.T, s reconcile.Store) map[string]string {
	t.Helper()
	carol := create("carol", "okta", "o-3")
	carol.After["active"] = false
	return seed(t, s, create("alice", "okta", "o-1", "viewer"), create("bob", reconcile.Manual, "", "admin"), carol)
}

func mustUser(t *testing.T, s reconcile.Store, ref string) *reconcile.AppUser {
	t.Helper()
	u, err := s.User(t.Context(), ref)
	if err != nil {
		t.Fatalf("User(%q): %v", ref, err)
	}
	return u
}

func mustUsers(t *testing.T, s reconcile.Store, f reconcile.UserFilter) []reconcile.AppUser {
	t.Helper()
	us, err := s.Users(t.Context(), f)
	if err != nil {
		t.Fatalf("Users(%+v): %v", f, err)
	}
	return us
}

func mustChanges(t *testing.T, s reconcile.Store, f reconcile.ChangeFilter) []reconcile.ChangeRecord {
	t.Helper()
	cs, err := s.Changes(t.Context(), f)
	if err != nil {
		t.Fatalf("Changes(%+v): %v", f, err)
	}
	return cs
}

// lastSeq returns the newest change-log sequence number, or 0.
func lastSeq(t *testing.T, s reconcile.Store) int64 {
	t.Helper()
	cs := mustChanges(t, s, reconcile.ChangeFilter{})
	if len(cs) == 0 {
		return 0
	}
	return cs[len(cs)-1].Seq
}

// wantKind fails unless err is a domain error of the given kind.
func wantKind(t *testing.T, err error, kind string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want a %s error", kind)
	}
	if got := reconcile.ErrorKind(err); got != kind {
		t.Fatalf("got a %s error (%v), want kind %s", got, err, kind)
	}
}

func userNames(us []reconcile.AppUser) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.UserName)
	}
	return out
}

func kinds(cs []reconcile.ChangeRecord) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Kind)
	}
	return out
}

// wantRoles compares role lists (nil and empty are the same).
func wantRoles(t *testing.T, who string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: roles = %q, want %q", who, got, want)
	}
}

// jsonEqual compares two values by their JSON encoding: what a stored and
// re-read value (numbers as float64, lists as []any) must still say.
func jsonEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// state is everything a store lets one observe.
type state struct {
	Users   []reconcile.AppUser
	Changes []reconcile.ChangeRecord
	Sources []string
	Dirs    map[string]*reconcile.Directory
	Plans   []reconcile.Plan
	Admin   *reconcile.AdminRules
	Hash    string
	Runs    []reconcile.Run
}

func snapshot(t *testing.T, s reconcile.Store, sources ...string) state {
	t.Helper()
	ctx := t.Context()
	var st state
	var err error
	st.Users = mustUsers(t, s, reconcile.UserFilter{})
	st.Changes = mustChanges(t, s, reconcile.ChangeFilter{})
	if st.Sources, err = s.Sources(ctx); err != nil {
		t.Fatalf("Sources: %v", err)
	}
	st.Dirs = map[string]*reconcile.Directory{}
	for _, name := range append(sources, st.Sources...) {
		if st.Dirs[name], err = s.Directory(ctx, name); err != nil {
			t.Fatalf("Directory(%q): %v", name, err)
		}
	}
	if st.Plans, err = s.Plans(ctx, reconcile.PlanFilter{}); err != nil {
		t.Fatalf("Plans: %v", err)
	}
	if st.Admin, err = s.AdminRules(ctx); err != nil {
		t.Fatalf("AdminRules: %v", err)
	}
	if st.Hash, err = s.RulesHash(ctx); err != nil {
		t.Fatalf("RulesHash: %v", err)
	}
	if st.Runs, err = s.Runs(ctx, "", 0); err != nil {
		t.Fatalf("Runs: %v", err)
	}
	return st
}

// wantUnchanged fails if anything observable differs between two snapshots.
func wantUnchanged(t *testing.T, before, after state) {
	t.Helper()
	if reflect.DeepEqual(before, after) {
		return
	}
	b, _ := json.MarshalIndent(before, "", "  ")
	a, _ := json.MarshalIndent(after, "", "  ")
	t.Errorf("the store changed:\nbefore: %s\nafter:  %s", b, a)
}
