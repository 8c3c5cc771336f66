package storetest

import (
	"reflect"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// nestedDirectory has groups nested two deep, a cycle (g2 and g3 are
// members of each other) and a group no one is in.
func nestedDirectory() *reconcile.Directory {
	return &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "u1", UserName: "alice", Active: true},
			{ID: "u2", UserName: "bob", Active: true},
			{ID: "u3", UserName: "carol", Active: true},
			{ID: "u4", UserName: "dave", Active: true},
		},
		Groups: []reconcile.Group{
			{ID: "g4", DisplayName: "Everyone", Members: []string{"u3", "u2", "u1"}},
			{ID: "g1", DisplayName: "Engineering", Members: []string{"u1", "g2"}},
			{ID: "g2", DisplayName: "Backend", Members: []string{"u2", "g3"}},
			{ID: "g3", DisplayName: "On call", Members: []string{"g2", "u3"}},
			{ID: "g5", DisplayName: "Empty"},
		},
	}
}

func testUserGroups(t *testing.T, open Opener) {
	s := open(t)
	mustApply(t, s, syncPlan("okta", nestedDirectory()))
	// Another source with the same ids: its groups are not okta's.
	mustApply(t, s, syncPlan("entra", &reconcile.Directory{
		Users: []reconcile.User{{ID: "u2", UserName: "bob.entra", Active: true}},
		Groups: []reconcile.Group{
			{ID: "g1", DisplayName: "Entra Admins", Members: []string{"u2"}},
			{ID: "g9", DisplayName: "Entra All", Members: []string{"g1"}},
		},
	}))
	g := func(id, name string, members ...string) reconcile.Group {
		return reconcile.Group{ID: id, DisplayName: name, Members: members}
	}
	for _, tc := range []struct {
		name           string
		source, userID string
		want           []reconcile.Group
	}{
		{"direct only, other members left out", "okta", "u1", []reconcile.Group{
			g("g1", "Engineering", "u1"), g("g4", "Everyone", "u1")}},
		{"nested, through a cycle", "okta", "u2", []reconcile.Group{
			g("g1", "Engineering", "g2"), g("g2", "Backend", "g3", "u2"), g("g3", "On call", "g2"), g("g4", "Everyone", "u2")}},
		{"nested from the other side of the cycle", "okta", "u3", []reconcile.Group{
			g("g1", "Engineering", "g2"), g("g2", "Backend", "g3"), g("g3", "On call", "g2", "u3"), g("g4", "Everyone", "u3")}},
		{"same ids, another source", "entra", "u2", []reconcile.Group{
			g("g1", "Entra Admins", "u2"), g("g9", "Entra All", "g1")}},
		{"in no group", "okta", "u4", nil},
		{"a group's id", "okta", "g2", nil},
		{"unknown user", "okta", "u9", nil},
		{"unknown source", "file", "u1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.UserGroups(t.Context(), tc.source, tc.userID)
			if err != nil {
				t.Fatalf("UserGroups(%q, %q): %v", tc.source, tc.userID, err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("UserGroups(%q, %q):\n got %+v\nwant %+v", tc.source, tc.userID, got, tc.want)
			}
		})
	}
	t.Run("after a sync", func(t *testing.T) {
		d := nestedDirectory()
		d.Groups[2].Members = []string{"u2"} // Backend leaves On call: no more cycle
		d.Groups[3].Members = []string{"u3"} // On call loses Backend
		d.Groups[1].DisplayName = "R&D"
		mustApply(t, s, syncPlan("okta", d))
		got, err := s.UserGroups(t.Context(), "okta", "u3")
		if err != nil {
			t.Fatal(err)
		}
		want := []reconcile.Group{g("g3", "On call", "u3"), g("g4", "Everyone", "u3")}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("UserGroups(okta, u3):\n got %+v\nwant %+v", got, want)
		}
		if got, err = s.UserGroups(t.Context(), "okta", "u2"); err != nil {
			t.Fatal(err)
		}
		want = []reconcile.Group{g("g1", "R&D", "g2"), g("g2", "Backend", "u2"), g("g4", "Everyone", "u2")}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("UserGroups(okta, u2):\n got %+v\nwant %+v", got, want)
		}
	})
}
