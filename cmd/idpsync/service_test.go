package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/idpsync/idpsync/reconcile"
)

// A reload keeps the schedule of a source whose spec is unchanged: its next
// run does not move (an @every schedule would count again from the
// reload); a changed spec is scheduled anew.
func TestReloadKeepsSchedules(t *testing.T) {
	e := newEnv(t)
	e.write("other.json", `{"users": [], "groups": []}`)
	cfg := func(otherSpec string) string {
		return strings.Replace(testConfig, `path = "directory.json"`, "path = \"directory.json\"\nschedule = \"@every 1h\"", 1) +
			"[[source]]\nname = \"other\"\ntype = \"file\"\npath = \"other.json\"\nschedule = \"" + otherSpec + "\"\n"
	}
	e.write("config.toml", cfg("@every 2h"))
	p := startInProcess(t, e)
	p.log.wait(t, 0, 20*time.Second, "sync done", "trigger=start") // the schedules have started
	hr, other := p.d.sched.next("hr"), p.d.sched.next("other")
	if hr == nil || other == nil {
		t.Fatalf("next runs: hr %v, other %v; want both scheduled", hr, other)
	}
	// @every counts whole seconds from when the entry was added: let the
	// clock pass into the next second, so a new entry would fall later.
	time.Sleep(time.Until(hr.Add(-time.Hour + time.Second)))

	e.write("config.toml", cfg("@every 3h")+"[[mapping]]\ngroup = \"Sales\"\nrole = \"CSM\"\n")
	line, off := p.reload(t, 0)
	if !strings.Contains(line, "configuration reloaded") {
		t.Fatalf("reload: %s", line)
	}
	if got := p.d.sched.next("hr"); got == nil || !got.Equal(*hr) {
		t.Errorf("hr's next run after a reload that kept its schedule: %v, want %v", got, hr)
	}
	if got := p.d.sched.next("other"); got == nil || got.Before(other.Add(time.Hour)) {
		t.Errorf("other's next run after its schedule went from 2h to 3h: %v, want about an hour after %v", got, other)
	}

	// other unscheduled: hr's next run stays.
	e.write("config.toml", strings.Replace(cfg("@every 3h"), "schedule = \"@every 3h\"\n", "", 1))
	if line, _ := p.reload(t, off); !strings.Contains(line, "configuration reloaded") {
		t.Fatalf("reload: %s", line)
	}
	if got := p.d.sched.next("other"); got != nil {
		t.Errorf("other's next run without a schedule: %v, want none", got)
	}
	if got := p.d.sched.next("hr"); got == nil || !got.Equal(*hr) {
		t.Errorf("hr's next run moved when another source's schedule was removed: %v, want %v", got, hr)
	}
}

// openDaemon opens the env's config as serve does, without serving.
func openDaemon(t *testing.T, e *env) *daemon {
	t.Helper()
	c := &cli{configPath: filepath.Join(e.dir, "config.toml"), stdout: io.Discard, stderr: io.Discard}
	a, err := c.open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.close() })
	return newDaemon(c, a)
}

// The last successful sync of each source, seeded from the stored runs at
// start, is its last applied or no-changes run: not a held one.
func TestSeedLastSuccess(t *testing.T) {
	e := newEnv(t)
	e.write("config.toml", testConfig+"[[source]]\nname = \"crm\"\ntype = \"file\"\npath = \"directory.json\"\n")
	d := openDaemon(t, e)
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for _, r := range []reconcile.Run{
		{Source: "hr", Trigger: "schedule", Outcome: reconcile.RunApplied, Started: at, Finished: at.Add(time.Minute)},
		{Source: "hr", Trigger: "schedule", Outcome: reconcile.RunHeld, Started: at.Add(time.Hour), Finished: at.Add(time.Hour + time.Minute)},
		{Source: "crm", Trigger: "schedule", Outcome: reconcile.RunHeld, Started: at, Finished: at.Add(time.Minute)},
	} {
		if err := d.store.RecordRun(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	d.seedMetrics(ctx)
	rec := httptest.NewRecorder()
	d.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	const name = "idpsync_last_successful_sync_timestamp_seconds"
	if got, ok := sample(fams, name, map[string]string{"source": "hr"}); !ok || got != float64(at.Add(time.Minute).Unix()) {
		t.Errorf("hr: %v (found %v), want the applied run's end, %d, not the held run's", got, ok, at.Add(time.Minute).Unix())
	}
	if got, ok := sample(fams, name, map[string]string{"source": "crm"}); ok {
		t.Errorf("crm, which only had a held run: %v, want no sample", got)
	}
}

// The HTTP server bounds how long a client may take to send a request and
// how long an idle connection stays, but not how long an answer may take.
func TestHTTPServerTimeouts(t *testing.T) {
	srv, err := openDaemon(t, newEnv(t)).httpServer()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want time.Duration
	}{
		{"ReadHeaderTimeout", srv.ReadHeaderTimeout, 10 * time.Second},
		{"ReadTimeout", srv.ReadTimeout, 60 * time.Second},
		{"IdleTimeout", srv.IdleTimeout, 120 * time.Second},
		{"WriteTimeout", srv.WriteTimeout, 0}, // long polls and slow syncs
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// check-config fails where serve would fail at start: a certificate that
// does not load, a secret file that does not read, a variable not set; each
// problem with its key and line. --secrets=false checks the file alone.
func TestCheckConfigReadsSecrets(t *testing.T) {
	e := newEnv(t)
	t.Setenv("IDPSYNC_TEST_OKTA_TOKEN", "")
	t.Setenv("IDPSYNC_TEST_SCIM_TOKEN", "")
	e.write("config.toml", "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n"+testConfig+
		"[[source]]\nname = \"okta\"\ntype = \"okta\"\norg_url = \"https://example.okta.com\"\ngroups = [\"ph-*\"]\ntoken_env = \"IDPSYNC_TEST_OKTA_TOKEN\"\n"+
		"[[source]]\nname = \"scim\"\ntype = \"scim\"\ntoken_env = \"IDPSYNC_TEST_SCIM_TOKEN\"\n"+
		"[[webhook]]\nname = \"crm\"\nurl = \"https://crm.example.com/hook\"\nsecret_file = \"crm.secret\"\n")
	path := filepath.Join(e.dir, "config.toml")
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "--config", path), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	_, stderr, err := run("check-config")
	for _, want := range []string{
		path + ":1: tls_cert: loading the certificate",
		path + ":25: source[1].token_env: environment variable IDPSYNC_TEST_OKTA_TOKEN is not set",
		path + ":33: webhook[0].secret_file: ",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("check-config: %v\nwant it to report %q", err, want)
		}
	}
	if want := "warning: " + path + ":29: source[2].token_env: environment variable IDPSYNC_TEST_SCIM_TOKEN is not set"; !strings.Contains(stderr, want) {
		t.Errorf("check-config's warnings:\n%s\nwant %q", stderr, want)
	}
	if out, _, err := run("check-config", "--secrets=false"); err != nil || !strings.Contains(out, "OK") {
		t.Errorf("check-config --secrets=false: %q, %v; want OK", out, err)
	}

	// With everything in place, OK, and serve starts with the same file.
	writeCert(t, filepath.Join(e.dir, "cert.pem"), filepath.Join(e.dir, "key.pem"), "check")
	e.write("crm.secret", hookSecret)
	t.Setenv("IDPSYNC_TEST_OKTA_TOKEN", "okta-token")
	t.Setenv("IDPSYNC_TEST_SCIM_TOKEN", "scim-token")
	if out, stderr, err := run("check-config"); err != nil || !strings.Contains(out, "OK") || stderr != "" {
		t.Errorf("check-config with everything in place: %q, %v, stderr %q", out, err, stderr)
	}
}

// POST /api/v1/sources/{name}/sync of a switched-off source is a conflict
// (409), not a bad request.
func TestAPISyncSwitchedOff(t *testing.T) {
	e := newEnv(t)
	admin := strings.TrimSpace(e.mustRun("api-tokens", "create", "--name", "ops", "--scope", "admin"))
	p := startInProcess(t, e)
	post := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+p.addr()+"/api/v1"+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(t, resp)
	}
	if code, body := post("/sources/hr/disable"); code != http.StatusOK {
		t.Fatalf("disable: %d %s", code, body)
	}
	if code, body := post("/sources/hr/sync"); code != http.StatusConflict || !strings.Contains(body, `"kind": "conflict"`) {
		t.Errorf("sync of a switched-off source: %d %s; want 409 conflict", code, body)
	}
}
