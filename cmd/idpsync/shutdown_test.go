package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// bigDirectory is a directory of n users, half of them in ph-admin.
func bigDirectory(n int) string {
	type user struct {
		ID       string `json:"id"`
		UserName string `json:"userName"`
		Active   bool   `json:"active"`
	}
	var d struct {
		Users  []user `json:"users"`
		Groups []struct {
			ID          string   `json:"id"`
			DisplayName string   `json:"displayName"`
			Members     []string `json:"members"`
		} `json:"groups"`
	}
	d.Groups = make([]struct {
		ID          string   `json:"id"`
		DisplayName string   `json:"displayName"`
		Members     []string `json:"members"`
	}, 1)
	d.Groups[0].ID, d.Groups[0].DisplayName = "g1", "ph-admin"
	for i := range n {
		id := fmt.Sprintf("u%d", i)
		d.Users = append(d.Users, user{ID: id, UserName: id + "@example.com", Active: true})
		if i%2 == 0 {
			d.Groups[0].Members = append(d.Groups[0].Members, id)
		}
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// SIGTERM while a big first sync is being planned and applied: the daemon
// lets the apply finish (within its grace period), exits 0, and the plan is
// in the database whole; never a part of it.
func TestSIGTERMDuringApply(t *testing.T) {
	const n = 20000
	e := newEnv(t)
	e.write("config.toml", strings.Replace(testConfig, "[rules]", "[log]\nlevel = \"debug\"\n[rules]", 1))
	e.write("directory.json", bigDirectory(n))
	p := startProc(t, e)
	_, off := p.log.wait(t, 0, 60*time.Second, "fetched; planning and applying", "users=20000")
	p.signal(t, syscall.SIGTERM)
	if code := p.exit(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0; log:\n%s", code, p.log.String())
	}
	log := p.log.String()[off:]
	stop, applied := strings.Index(log, `msg="shutting down"`), strings.Index(log, `msg="plan applied"`)
	if stop < 0 {
		t.Fatalf("no shutdown logged:\n%s", log)
	}
	if applied >= 0 && applied < stop {
		t.Logf("the plan was applied before SIGTERM arrived: this run did not test an interrupted apply")
	}

	s, err := sqlite.Open(context.Background(), filepath.Join(e.dir, "idpsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	users, err := s.Users(context.Background(), reconcile.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	changes, err := s.Changes(context.Background(), reconcile.ChangeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	creates := 0
	for _, c := range changes {
		if c.Kind == reconcile.ChangeCreate {
			creates++
		}
	}
	switch {
	case len(users) == n && creates == n:
		if applied < 0 || applied < stop {
			t.Logf("applied whole")
		}
	case len(users) == 0 && creates == 0:
		t.Logf("applied not at all")
	default:
		t.Fatalf("after SIGTERM: %d users, %d creates logged; want all %d or none", len(users), creates, n)
	}
	runs, err := s.Runs(context.Background(), "hr", 0)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %+v, %v; want the one run recorded", runs, err)
	}
	if got := runs[0].Outcome; (len(users) == n) != (got == reconcile.RunApplied) {
		t.Errorf("run outcome %q with %d users applied", got, len(users))
	}
}

// A plan still applying when the grace period ends is rolled back whole.
func TestShutdownPastGraceRollsBack(t *testing.T) {
	defer func(g time.Duration) { applyGrace = g }(applyGrace)
	applyGrace = 0
	const n = 20000
	e := newEnv(t)
	e.write("config.toml", strings.Replace(testConfig, "[rules]", "[log]\nlevel = \"debug\"\n[rules]", 1))
	e.write("directory.json", bigDirectory(n))
	p := startInProcess(t, e)
	p.log.wait(t, 0, 60*time.Second, "fetched; planning and applying")
	if err := p.stop(t); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if strings.Contains(p.log.String(), `msg="plan applied"`) {
		t.Skip("the plan was applied before the stop: nothing to roll back in this run")
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(e.dir, "idpsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	users, err := s.Users(context.Background(), reconcile.UserFilter{})
	if err != nil || len(users) != 0 {
		t.Fatalf("%d users after a cut-off apply (%v), want none", len(users), err)
	}
	runs, err := s.Runs(context.Background(), "hr", 0)
	if err != nil || len(runs) != 1 || runs[0].Outcome != reconcile.RunFailed {
		t.Fatalf("runs = %+v, %v; want one failed run", runs, err)
	}
}
