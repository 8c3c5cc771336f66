package storetest

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// normalize returns a copy of d as Directory returns it: users and groups
// sorted by id, members sorted. Empty lists are nil in the copy.
func normalize(d *reconcile.Directory) *reconcile.Directory {
	out := emptyNil(d)
	slices.SortFunc(out.Users, func(a, b reconcile.User) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(out.Groups, func(a, b reconcile.Group) int { return strings.Compare(a.ID, b.ID) })
	for i := range out.Groups {
		slices.Sort(out.Groups[i].Members)
	}
	return out
}

// emptyNil returns a deep copy of d whose empty lists are nil: a store may
// return either.
func emptyNil(d *reconcile.Directory) *reconcile.Directory {
	out := &reconcile.Directory{}
	if len(d.Users) > 0 {
		out.Users = slices.Clone(d.Users)
	}
	for _, g := range d.Groups {
		g.Members = slices.Clone(g.Members)
		if len(g.Members) == 0 {
			g.Members = nil
		}
		out.Groups = append(out.Groups, g)
	}
	return out
}

func wantDirectory(t *testing.T, s reconcile.Store, source string, want *reconcile.Directory) {
	t.Helper()
	got, err := s.Directory(t.Context(), source)
	if err != nil {
		t.Fatalf("Directory(%q): %v", source, err)
	}
	if want == nil {
		if got != nil {
			t.Fatalf("Directory(%q) = %+v, want nil", source, got)
		}
		return
	}
	if got == nil {
		t.Fatalf("Directory(%q) = nil, want %+v", source, want)
	}
	// Compared as returned, not sorted: Directory sorts.
	if g, w := emptyNil(got), normalize(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("Directory(%q):\n got %+v\nwant %+v", source, g, w)
	}
}

func syncPlan(source string, d *reconcile.Directory) *reconcile.Plan {
	p := plan(reconcile.KindSync)
	p.Source, p.Directory = source, d
	return p
}

func sampleDirectory() *reconcile.Directory {
	return &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "u3", UserName: "carol", Active: false},
			{ID: "u1", UserName: "alice", DisplayName: "Alice", Email: "alice@example.com", GivenName: "Alice",
				FamilyName: "Liddell", ExternalID: "x1", Active: true},
			{ID: "u2", UserName: "bob", Email: "bob@example.com", Active: true},
		},
		Groups: []reconcile.Group{
			{ID: "g2", DisplayName: "Ops", Members: []string{"u3", "u1"}},
			{ID: "g1", DisplayName: "Engineering", Members: []string{"u2", "u1", "g2"}},
			{ID: "g3", DisplayName: "Empty"},
		},
	}
}

func testDirectory(t *testing.T, open Opener) {
	t.Run("none", func(t *testing.T) {
		wantDirectory(t, open(t), "okta", nil)
	})
	t.Run("round trip", func(t *testing.T) {
		s := open(t)
		d := sampleDirectory()
		mustApply(t, s, syncPlan("okta", d))
		wantDirectory(t, s, "okta", d)
		if !reflect.DeepEqual(d, sampleDirectory()) {
			t.Errorf("Apply changed the plan's directory")
		}
		wantDirectory(t, s, "entra", nil)
	})
	t.Run("empty", func(t *testing.T) {
		s := open(t)
		mustApply(t, s, syncPlan("okta", &reconcile.Directory{}))
		wantDirectory(t, s, "okta", &reconcile.Directory{})
	})
	t.Run("sources are separate", func(t *testing.T) {
		s := open(t)
		a, b := sampleDirectory(), sampleDirectory()
		b.Users[0].UserName, b.Groups = "carol.entra", b.Groups[:1]
		mustApply(t, s, syncPlan("okta", a))
		mustApply(t, s, syncPlan("entra", b))
		wantDirectory(t, s, "okta", sampleDirectory())
		wantDirectory(t, s, "entra", b)
	})
	t.Run("replace", func(t *testing.T) {
		s := open(t)
		mustApply(t, s, syncPlan("okta", sampleDirectory()))
		for _, step := range []struct {
			name   string
			change func(d *reconcile.Directory)
		}{
			{"same again", func(*reconcile.Directory) {}},
			{"attributes changed", func(d *reconcile.Directory) { d.Users[0].Email, d.Users[2].Active = "alice@new.example", true }},
			{"user added", func(d *reconcile.Directory) {
				d.Users = append(d.Users, reconcile.User{ID: "u0", UserName: "zed", Active: true})
			}},
			{"user removed", func(d *reconcile.Directory) { d.Users = slices.Delete(d.Users, 2, 3) }},
			{"group renamed", func(d *reconcile.Directory) { d.Groups[0].DisplayName = "Operations" }},
			{"members changed", func(d *reconcile.Directory) { d.Groups[1].Members = []string{"u3", "u0"} }},
			{"members emptied", func(d *reconcile.Directory) { d.Groups[0].Members = nil }},
			{"group removed and added", func(d *reconcile.Directory) {
				d.Groups = append(d.Groups[:2], reconcile.Group{ID: "g0", DisplayName: "New", Members: []string{"u1"}})
			}},
			{"reordered", func(d *reconcile.Directory) { slices.Reverse(d.Users); slices.Reverse(d.Groups) }},
		} {
			// Each step builds on the state the previous steps stored.
			t.Run(step.name, func(t *testing.T) {
				d, err := s.Directory(t.Context(), "okta")
				if err != nil {
					t.Fatal(err)
				}
				step.change(d)
				want := normalize(d)
				mustApply(t, s, syncPlan("okta", d))
				wantDirectory(t, s, "okta", want)
			})
		}
	})
	t.Run("drop", func(t *testing.T) {
		s := open(t)
		mustApply(t, s, syncPlan("okta", sampleDirectory()))
		mustApply(t, s, syncPlan("entra", sampleDirectory()))
		p := plan(reconcile.KindRemove)
		p.Source, p.DropSource = "okta", "okta"
		mustApply(t, s, p)
		wantDirectory(t, s, "okta", nil)
		wantDirectory(t, s, "entra", sampleDirectory())
		// Stored again after the drop: nothing of the old state is left over.
		mustApply(t, s, syncPlan("okta", &reconcile.Directory{Users: []reconcile.User{{ID: "u9", UserName: "nina", Active: true}}}))
		wantDirectory(t, s, "okta", &reconcile.Directory{Users: []reconcile.User{{ID: "u9", UserName: "nina", Active: true}}})
	})
	t.Run("with changes", func(t *testing.T) {
		s := open(t)
		p := syncPlan("okta", sampleDirectory())
		p.Changes = []reconcile.Change{create("alice", "okta", "u1", "viewer")}
		mustApply(t, s, p)
		wantDirectory(t, s, "okta", sampleDirectory())
		if u := mustUser(t, s, "alice"); u.SourceID != "u1" {
			t.Errorf("alice's source id = %q, want u1", u.SourceID)
		}
	})
}

func testSources(t *testing.T, open Opener) {
	s := open(t)
	sources := func() []string {
		t.Helper()
		got, err := s.Sources(t.Context())
		if err != nil {
			t.Fatalf("Sources: %v", err)
		}
		return got
	}
	if got := sources(); len(got) != 0 {
		t.Fatalf("Sources of an empty store = %q", got)
	}
	mustApply(t, s, syncPlan("okta", &reconcile.Directory{}))
	seed(t, s, create("bob", reconcile.Manual, ""), create("carol", "file", "f-1"), create("dave", "okta", "o-1"))
	if got, want := sources(), []string{"file", "manual", "okta"}; !slices.Equal(got, want) {
		t.Errorf("Sources = %q, want %q", got, want)
	}
	p := plan(reconcile.KindRemove)
	p.DropSource = "okta"
	mustApply(t, s, p)
	// okta still owns dave.
	if got, want := sources(), []string{"file", "manual", "okta"}; !slices.Equal(got, want) {
		t.Errorf("Sources after dropping okta's state = %q, want %q", got, want)
	}
	mustApply(t, s, syncPlan("entra", &reconcile.Directory{}))
	if got, want := sources(), []string{"entra", "file", "manual", "okta"}; !slices.Equal(got, want) {
		t.Errorf("Sources = %q, want %q", got, want)
	}
}
