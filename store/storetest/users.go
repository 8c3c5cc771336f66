package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

func testAdminRules(t *testing.T, open Opener) {
	s := open(t)
	ctx := t.Context()
	check := func(t *testing.T, wantRules *reconcile.AdminRules, wantHash string) {
		t.Helper()
		got, err := s.AdminRules(ctx)
		if err != nil {
			t.Fatalf("AdminRules: %v", err)
		}
		if got == nil || len(got.Roles) != len(wantRules.Roles) || len(got.Mappings) != len(wantRules.Mappings) ||
			(len(got.Roles) > 0 && !reflect.DeepEqual(got.Roles, wantRules.Roles)) ||
			(len(got.Mappings) > 0 && !reflect.DeepEqual(got.Mappings, wantRules.Mappings)) {
			t.Errorf("AdminRules = %+v, want %+v", got, wantRules)
		}
		if h, err := s.RulesHash(ctx); err != nil || h != wantHash {
			t.Errorf("RulesHash = %q, %v; want %q", h, err, wantHash)
		}
	}
	check(t, &reconcile.AdminRules{}, "")

	rules := &reconcile.AdminRules{
		Roles: []reconcile.Role{{Name: "zeta", Origin: reconcile.OriginAdmin}, {Name: "alpha", Origin: reconcile.OriginAdmin}},
		Mappings: []reconcile.Mapping{
			{Group: "Z-Team", Role: "zeta", Origin: reconcile.OriginAdmin},
			{Group: "A-Team", Role: "alpha", Origin: reconcile.OriginAdmin},
			{Group: "A-Team", Role: "zeta", Origin: reconcile.OriginAdmin},
		},
	}
	p := plan(reconcile.KindRules)
	p.Admin, p.RulesHash = rules, "h1"
	mustApply(t, s, p)
	t.Run("stored in order", func(t *testing.T) { check(t, rules, "h1") })

	t.Run("kept by plans without them", func(t *testing.T) {
		mustApply(t, s, plan(reconcile.KindSync))
		check(t, rules, "h1")
	})
	t.Run("replaced", func(t *testing.T) {
		p := plan(reconcile.KindRules)
		p.Admin = &reconcile.AdminRules{Roles: []reconcile.Role{{Name: "alpha", Origin: reconcile.OriginAdmin}}}
		p.RulesHash = "h2"
		mustApply(t, s, p)
		check(t, p.Admin, "h2")
	})
	t.Run("emptied", func(t *testing.T) {
		p := plan(reconcile.KindRules)
		p.Admin, p.RulesHash = &reconcile.AdminRules{}, "h3"
		mustApply(t, s, p)
		check(t, &reconcile.AdminRules{}, "h3")
	})
}

func testRuns(t *testing.T, open Opener) {
	s := open(t)
	ctx := t.Context()
	at := func(min int) time.Time { return time.Date(2025, 1, 2, 3, min, 5, 123456789, time.UTC) }
	runs := []*reconcile.Run{
		{Source: "okta", Trigger: "start", Started: at(0), Finished: at(1), Outcome: reconcile.RunNoChanges},
		{Source: "entra", Trigger: "schedule", Started: at(2), Finished: at(3), Outcome: reconcile.RunApplied, PlanID: 7,
			Summary: reconcile.Summary{Create: 2, Grant: 3}},
		{Source: "okta", Trigger: "cli", Started: at(4), Finished: at(5), Outcome: reconcile.RunFailed, Error: "fetch failed: 503"},
	}
	for i, r := range runs {
		if err := s.RecordRun(ctx, r); err != nil {
			t.Fatalf("RecordRun: %v", err)
		}
		if r.ID == 0 || (i > 0 && r.ID <= runs[i-1].ID) {
			t.Fatalf("run ids %d after %d: want increasing", r.ID, runs[max(i-1, 0)].ID)
		}
	}
	for _, tc := range []struct {
		name   string
		source string
		limit  int
		want   []*reconcile.Run
	}{
		{"all", "", 0, []*reconcile.Run{runs[2], runs[1], runs[0]}},
		{"source", "okta", 0, []*reconcile.Run{runs[2], runs[0]}},
		{"limit", "", 2, []*reconcile.Run{runs[2], runs[1]}},
		{"source and limit", "okta", 1, []*reconcile.Run{runs[2]}},
		{"unknown source", "file", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Runs(ctx, tc.source, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Runs(%q, %d) = %d runs, want %d", tc.source, tc.limit, len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.ID != w.ID || g.Source != w.Source || g.Trigger != w.Trigger || !g.Started.Equal(w.Started) ||
					!g.Finished.Equal(w.Finished) || g.Outcome != w.Outcome || g.PlanID != w.PlanID ||
					g.Summary != w.Summary || g.Error != w.Error {
					t.Errorf("run %d:\n got %+v\nwant %+v", i, g, *w)
				}
			}
		})
	}
}

// usersFixture seeds users of several sources, roles and states.
func usersFixture(t *testing.T, s reconcile.Store) map[string]string {
	t.Helper()
	alice := create("alice", "okta", "o-1", "viewer")
	alice.After["displayName"] = "Alice Liddell"
	bob := create("Bob", reconcile.Manual, "", "admin")
	bob.After["displayName"] = "Robert Roe"
	carol := create("carol", "okta", "o-3")
	carol.After["active"], carol.After["email"] = false, "carol@wonder.land"
	dave := create("dave", "entra", "e-4", "editor", "admin")
	emile := create("Émile", "okta", "o-5", "viewer")
	emile.After["displayName"] = "ÉMILE ZOLA"
	return seed(t, s, emile, carol, alice, dave, bob)
}

func testUsers(t *testing.T, open Opener) {
	s := open(t)
	usersFixture(t, s)
	yes, no := true, false
	for _, tc := range []struct {
		name string
		f    reconcile.UserFilter
		want []string
	}{
		{"all, by userName ignoring case", reconcile.UserFilter{}, []string{"alice", "Bob", "carol", "dave", "Émile"}},
		{"source", reconcile.UserFilter{Source: "okta"}, []string{"alice", "carol", "Émile"}},
		{"manual", reconcile.UserFilter{Source: reconcile.Manual}, []string{"Bob"}},
		{"role", reconcile.UserFilter{Role: "viewer"}, []string{"alice", "Émile"}},
		{"role held with another", reconcile.UserFilter{Role: "admin"}, []string{"Bob", "dave"}},
		{"active", reconcile.UserFilter{Active: &yes}, []string{"alice", "Bob", "dave", "Émile"}},
		{"inactive", reconcile.UserFilter{Active: &no}, []string{"carol"}},
		{"query userName in another case", reconcile.UserFilter{Query: "ALI"}, []string{"alice"}},
		{"query displayName", reconcile.UserFilter{Query: "robert"}, []string{"Bob"}},
		{"query email", reconcile.UserFilter{Query: "WONDER.LAND"}, []string{"carol"}},
		{"query shared", reconcile.UserFilter{Query: "@example.com"}, []string{"alice", "Bob", "dave", "Émile"}},
		{"query beyond ASCII", reconcile.UserFilter{Query: "émile z"}, []string{"Émile"}},
		{"query no match", reconcile.UserFilter{Query: "zzz"}, []string{}},
		{"combined", reconcile.UserFilter{Source: "okta", Active: &yes, Role: "viewer", Query: "e"}, []string{"alice", "Émile"}},
		{"limit", reconcile.UserFilter{Limit: 2}, []string{"alice", "Bob"}},
		{"limit and offset", reconcile.UserFilter{Limit: 2, Offset: 2}, []string{"carol", "dave"}},
		{"offset", reconcile.UserFilter{Offset: 4}, []string{"Émile"}},
		{"offset past the end", reconcile.UserFilter{Offset: 10}, []string{}},
		{"filter and page", reconcile.UserFilter{Source: "okta", Limit: 1, Offset: 1}, []string{"carol"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := userNames(mustUsers(t, s, tc.f)); !slices.Equal(got, tc.want) {
				t.Errorf("Users(%+v) = %q, want %q", tc.f, got, tc.want)
			}
		})
	}
	t.Run("roles sorted", func(t *testing.T) {
		for _, u := range mustUsers(t, s, reconcile.UserFilter{Source: "entra"}) {
			wantRoles(t, u.UserName, u.Roles, "admin", "editor")
		}
	})
}

func testUser(t *testing.T, open Opener) {
	s := open(t)
	ids := usersFixture(t, s)
	want := mustUsers(t, s, reconcile.UserFilter{Source: "entra"})[0]
	for _, tc := range []struct {
		name, ref string
		wantID    string
	}{
		{"id", ids["dave"], ids["dave"]},
		{"userName", "dave", ids["dave"]},
		{"userName in another case", "DAVE", ids["dave"]},
		{"userName beyond ASCII", "émile", ids["Émile"]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := mustUser(t, s, tc.ref)
			if u.ID != tc.wantID {
				t.Fatalf("User(%q) = %s (%s), want id %s", tc.ref, u.UserName, u.ID, tc.wantID)
			}
			if u.ID == want.ID && !reflect.DeepEqual(*u, want) {
				t.Errorf("User(%q) = %+v, Users lists %+v", tc.ref, *u, want)
			}
		})
	}
	t.Run("dave in full", func(t *testing.T) {
		u := mustUser(t, s, "dave")
		if u.UserName != "dave" || u.DisplayName != "The dave" || u.Email != "dave@example.com" || !u.Active ||
			u.Source != "entra" || u.SourceID != "e-4" || u.CreatedAt.IsZero() {
			t.Errorf("User(dave) = %+v", u)
		}
		wantRoles(t, "dave", u.Roles, "admin", "editor")
	})
	for _, ref := range []string{"nobody", "", "no-such-id"} {
		t.Run("not found "+ref, func(t *testing.T) {
			_, err := s.User(t.Context(), ref)
			wantKind(t, err, reconcile.ENOTFOUND)
		})
	}
}
