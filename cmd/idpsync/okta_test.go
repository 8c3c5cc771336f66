package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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

// SIGTERM (a cancelled context) during a pull stops serve promptly, and the
// interrupted run applies nothing.
func TestServeCancelDuringPull(t *testing.T) {
	var users []reconcile.User
	var members []string
	for i := range 40 {
		id := "00u" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		users = append(users, reconcile.User{ID: id, UserName: id + "@example.com", Active: true})
		members = append(members, id)
	}
	dir := &reconcile.Directory{Users: users, Groups: []reconcile.Group{{ID: "00g1", DisplayName: "ph-admin", Members: members}}}
	// One user per page, each page slow: the fetch takes seconds.
	org := oktatest.New(t, dir, oktatest.Options{MaxPageSize: 1, Latency: 100 * time.Millisecond})
	t.Setenv("IDPSYNC_TEST_OKTA_TOKEN", oktatest.Token)
	e := newEnv(t)
	e.write("config.toml", `
listen   = "127.0.0.1:0"
database = "idpsync.db"
[rules]
roles        = ["Admin", "Viewer"]
default_role = "Viewer"
[[mapping]]
group = "ph-admin"
role  = "Admin"
[[source]]
name      = "okta"
type      = "okta"
org_url   = "`+org.URL+`"
token_env = "IDPSYNC_TEST_OKTA_TOKEN"
groups    = ["ph-admin"]
page_size = 1
`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- Run(ctx, []string{"serve", "--config", filepath.Join(e.dir, "config.toml")}, &out, &errOut)
	}()
	// Wait until the pull is under way (the fake has answered a few pages), then stop.
	deadline := time.Now().Add(10 * time.Second)
	for org.Requests() < 3 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the pull did not start; log:\n%s", errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop within 5 s of SIGTERM")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("serve took %v to stop", d)
	}
	if n := len(e.users()); n != 0 {
		t.Errorf("%d users applied from an interrupted pull, want none", n)
	}
	var runs bytes.Buffer
	if err := Run(context.Background(), []string{"runs", "--config", filepath.Join(e.dir, "config.toml")}, &runs, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(runs.String(), "failed") {
		t.Errorf("the interrupted run is not recorded as failed:\n%s", runs.String())
	}
}
