package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
)

// scimStatus POSTs a user to the daemon's SCIM API with the test token.
func scimStatus(t *testing.T, p *inProcess, user string) int {
	t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + user + `","active":true}`
	req, _ := http.NewRequest("POST", "http://"+p.addr()+"/scim/v2/Users", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+scimToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func status(t *testing.T, d *daemon, name string) api.SourceStatus {
	t.Helper()
	all, err := d.Sources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no source %q in %+v", name, all)
	return api.SourceStatus{}
}

func runCount(t *testing.T, d *daemon, source string) int {
	t.Helper()
	runs, err := d.store.Runs(context.Background(), source, 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

// Switching sources off and on at run time (api.Control): a switched-off
// pull source's schedule pauses, a switched-off SCIM source's tokens get
// 403, and both stay so across a restart; Sync runs a source now under its
// run lock.
func TestSourceControl(t *testing.T) {
	e := newEnv(t)
	t.Setenv("IDPSYNC_SCIM_TOKEN", scimToken)
	e.write("config.toml", strings.Replace(testConfig, `path = "directory.json"`, "path = \"directory.json\"\nschedule = \"@every 1s\"", 1)+
		"[[source]]\nname = \"scim\"\ntype = \"scim\"\ntoken_env = \"IDPSYNC_SCIM_TOKEN\"\n"+
		"[[source]]\nname = \"ops\"\ntype = \"file\"\npath = \"nowhere.json\"\nenabled = false\n")
	e.write("config.toml", strings.Replace(readFile(t, e.dir+"/config.toml"), "[rules]", "[log]\nlevel = \"debug\"\n[rules]", 1))
	p := startInProcess(t, e)
	d, ctx := p.d, context.Background()
	p.log.wait(t, 0, 20*time.Second, "sync done", "trigger=start")

	if got := status(t, d, "hr"); got.Type != "file" || !got.Enabled || got.Schedule != "@every 1s" || got.NextRun == nil || got.LastRun == nil || got.LastRun.Outcome != reconcile.RunApplied {
		t.Errorf("hr = %+v", got)
	}
	if code := scimStatus(t, p, "ann.scim@example.com"); code != http.StatusCreated {
		t.Fatalf("SCIM POST while enabled: %d", code)
	}

	for _, tt := range []struct {
		name    string
		enabled bool
		kind    string
	}{
		{"nope", false, reconcile.ENOTFOUND},
		{"ops", true, reconcile.EINVALID}, // disabled in config.toml
	} {
		if err := d.SetEnabled(ctx, tt.name, tt.enabled, "alice"); reconcile.ErrorKind(err) != tt.kind {
			t.Errorf("SetEnabled(%s, %v) = %v, want %s", tt.name, tt.enabled, err, tt.kind)
		}
	}
	if err := d.SetEnabled(ctx, "scim", false, "alice"); err != nil {
		t.Fatal(err)
	}
	if code := scimStatus(t, p, "bob.scim@example.com"); code != http.StatusForbidden {
		t.Errorf("SCIM POST to a switched-off source: %d, want 403", code)
	}
	if err := d.SetEnabled(ctx, "hr", false, "alice"); err != nil {
		t.Fatal(err)
	}
	// A run that had started before the switch may still finish: count
	// from the first tick that was skipped, then see the next skipped too.
	_, off := p.log.wait(t, len(p.log.String()), 10*time.Second, "scheduled run skipped", "source=hr")
	runs := runCount(t, d, "hr")
	p.log.wait(t, off, 10*time.Second, "scheduled run skipped", "source=hr")
	if n := runCount(t, d, "hr"); n != runs {
		t.Errorf("hr ran %d times while switched off", n-runs)
	}
	if got := status(t, d, "hr"); got.Enabled || got.NextRun != nil {
		t.Errorf("hr switched off = %+v", got)
	}
	// Switched off (hr at run time, ops in config.toml): a conflict with the
	// source's state; a push source is never pulled: invalid.
	for _, tt := range []struct{ name, kind string }{{"hr", reconcile.ECONFLICT}, {"scim", reconcile.EINVALID}, {"ops", reconcile.ECONFLICT}, {"nope", reconcile.ENOTFOUND}} {
		if _, err := d.Sync(ctx, tt.name, "alice"); reconcile.ErrorKind(err) != tt.kind {
			t.Errorf("Sync(%s) = %v, want %s", tt.name, err, tt.kind)
		}
	}
	if err := p.stop(t); err != nil {
		t.Fatal(err)
	}

	// After a restart: still off; no run at start, still 403; the CLI agrees.
	p = startInProcess(t, e)
	d = p.d
	if got := status(t, d, "hr"); got.Enabled {
		t.Errorf("hr after a restart = %+v, want switched off", got)
	}
	if code := scimStatus(t, p, "cat.scim@example.com"); code != http.StatusForbidden {
		t.Errorf("SCIM POST after a restart: %d, want 403", code)
	}
	if _, err := e.run("sync", "--source", "hr"); err == nil || !strings.Contains(err.Error(), "switched off") {
		t.Errorf("idpsync sync --source hr: %v, want switched off", err)
	}
	if err := d.SetEnabled(ctx, "hr", true, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := d.SetEnabled(ctx, "scim", true, "bob"); err != nil {
		t.Fatal(err)
	}
	if code := scimStatus(t, p, "dan.scim@example.com"); code != http.StatusCreated {
		t.Errorf("SCIM POST after switching on: %d", code)
	}

	// Sync now: one run at a time per source, whoever starts it.
	l := d.lock("hr")
	l.mu.Lock()
	if _, err := d.Sync(ctx, "hr", "bob"); reconcile.ErrorKind(err) != reconcile.ECONFLICT {
		t.Errorf("Sync while a run holds the lock: %v, want ECONFLICT", err)
	}
	l.mu.Unlock()
	for {
		plan, err := d.Sync(ctx, "hr", "bob")
		if reconcile.ErrorKind(err) == reconcile.ECONFLICT {
			continue // the schedule's run got there first
		}
		if err != nil || plan == nil {
			t.Fatalf("Sync = %v, %v", plan, err)
		}
		break
	}
	recent, err := d.store.Runs(ctx, "hr", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(recent, func(r reconcile.Run) bool { return r.Trigger == "api" }) {
		t.Errorf("recent runs %+v: none triggered by the api", recent)
	}
}
