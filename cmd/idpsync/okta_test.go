package main

import (
	"errors"
	"slices"
	"testing"

	"github.com/idpsync/idpsync/connectors/okta/oktatest"
	"github.com/idpsync/idpsync/reconcile"
)

// A pull from a fake Okta org through the real CLI: users and roles from
// group membership, then an org that suddenly lost half its users is held.
func TestCLIOktaPull(t *testing.T) {
	users := []reconcile.User{
		{ID: "00u1", UserName: "ann@example.com", Email: "ann@example.com", GivenName: "Ann", FamilyName: "Lee", Active: true},
		{ID: "00u2", UserName: "bob@example.com", Email: "bob@example.com", GivenName: "Bob", FamilyName: "Ray", Active: true},
		{ID: "00u3", UserName: "cat@example.com", Email: "cat@example.com", GivenName: "Cat", FamilyName: "Ito", Active: true},
		{ID: "00u4", UserName: "dan@example.com", Email: "dan@example.com", GivenName: "Dan", FamilyName: "Wu", Active: true},
	}
	dir := &reconcile.Directory{Users: users, Groups: []reconcile.Group{
		{ID: "00g1", DisplayName: "ph-admin", Members: []string{"00u1"}},
		{ID: "00g2", DisplayName: "ph-csm", Members: []string{"00u2"}},
		{ID: "00g3", DisplayName: "ph-all", Members: []string{"00u1", "00u2", "00u3", "00u4"}},
	}}
	org := oktatest.New(t, dir, oktatest.Options{MaxPageSize: 2})
	t.Setenv("IDPSYNC_TEST_OKTA_TOKEN", oktatest.Token)

	e := newEnv(t)
	e.write("config.toml", `
listen   = "127.0.0.1:0"
database = "idpsync.db"
[rules]
roles        = ["Admin", "CSM", "Viewer"]
default_role = "Viewer"
[[mapping]]
group = "ph-admin"
role  = "Admin"
[[mapping]]
group = "ph-csm"
role  = "CSM"
[[source]]
name      = "okta"
type      = "okta"
org_url   = "`+org.URL+`"
token_env = "IDPSYNC_TEST_OKTA_TOKEN"
groups    = ["ph-*"]
`)
	e.mustRun("sync")
	u := e.users()
	for name, roles := range map[string][]string{
		"ann@example.com": {"Admin"}, "bob@example.com": {"CSM"}, "cat@example.com": {"Viewer"}, "dan@example.com": {"Viewer"},
	} {
		if !slices.Equal(u[name].Roles, roles) || u[name].Source != "okta" {
			t.Errorf("%s = %+v, want roles %v from okta", name, u[name], roles)
		}
	}

	// Half the org vanishes from the groups in scope: the brake holds it.
	dir.Groups[2].Members = []string{"00u1", "00u2"}
	out, err := e.run("sync")
	if !errors.Is(err, errHeld) {
		t.Fatalf("sync after losing half the users: %v, want held\n%s", err, out)
	}
	if n := countActive(e.users()); n != 4 {
		t.Errorf("%d active users after a held sync, want 4", n)
	}
}
