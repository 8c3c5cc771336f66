package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const testConfig = `
listen   = "127.0.0.1:0"
database = "idpsync.db"
[rules]
roles             = ["Admin", "CSM", "Viewer"]
default_role      = "Viewer"
max_deactivations = "1"
[[mapping]]
group = "ph-admin"
role  = "Admin"
[[mapping]]
group = "ph-csm"
role  = "CSM"
[[source]]
name = "hr"
type = "file"
path = "directory.json"
`

const testDirectory = `{
  "users": [
    {"id": "u1", "userName": "ann@example.com", "displayName": "Ann Lee", "email": "ann@example.com", "active": true},
    {"id": "u2", "userName": "bob@example.com", "displayName": "Bob Ray", "email": "bob@example.com", "active": true},
    {"id": "u3", "userName": "cat@example.com", "displayName": "Cat Ito", "email": "cat@example.com", "active": true},
    {"id": "u4", "userName": "dan@example.com", "displayName": "Dan Wu", "email": "dan@example.com", "active": true}
  ],
  "groups": [
    {"id": "g1", "displayName": "ph-admin", "members": ["u1"]},
    {"id": "g2", "displayName": "ph-csm", "members": ["g3"]},
    {"id": "g3", "displayName": "Engineering", "members": ["u2"]},
    {"id": "g4", "displayName": "Sales", "members": ["u3"]}
  ]
}`

// env is a folder with a config and a directory file, and a way to run the CLI in it.
type env struct {
	t   *testing.T
	dir string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir()}
	e.write("config.toml", testConfig)
	e.write("directory.json", testDirectory)
	return e
}

func (e *env) write(name, content string) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, name), []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// run runs the CLI with --config pointing at the env's config file.
func (e *env) run(args ...string) (stdout string, err error) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--config", filepath.Join(e.dir, "config.toml"))
	err = Run(context.Background(), args, &out, &errOut)
	return out.String(), err
}

func (e *env) mustRun(args ...string) string {
	e.t.Helper()
	out, err := e.run(args...)
	if err != nil {
		e.t.Fatalf("idpsync %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

type listedUser struct {
	ID       string   `json:"id"`
	UserName string   `json:"userName"`
	Active   bool     `json:"active"`
	Roles    []string `json:"roles"`
	Source   string   `json:"source"`
}

func (e *env) users() map[string]listedUser {
	e.t.Helper()
	var list []listedUser
	if err := json.Unmarshal([]byte(e.mustRun("users", "list", "--format", "json")), &list); err != nil {
		e.t.Fatal(err)
	}
	m := map[string]listedUser{}
	for _, u := range list {
		m[u.UserName] = u
	}
	return m
}

func TestCLIEndToEnd(t *testing.T) {
	e := newEnv(t)

	// plan: a dry run lists the creates and applies nothing.
	out := e.mustRun("plan", "--format", "json")
	var plan struct {
		Status  string         `json:"status"`
		Summary map[string]int `json:"summary"`
		Changes []struct {
			Kind string `json:"kind"`
			User string `json:"user"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan --format json: %v\n%s", err, out)
	}
	if plan.Status != "dry-run" || plan.Summary["create"] != 4 || plan.Summary["groupCreate"] != 4 {
		t.Errorf("dry-run plan: status %q summary %v", plan.Status, plan.Summary)
	}
	if n := len(e.users()); n != 0 {
		t.Fatalf("plan applied something: %d users", n)
	}

	// sync applies it.
	e.mustRun("sync")
	u := e.users()
	want := map[string][]string{
		"ann@example.com": {"Admin"}, "bob@example.com": {"CSM"}, "cat@example.com": {"Viewer"}, "dan@example.com": {"Viewer"},
	}
	for name, roles := range want {
		if !slices.Equal(u[name].Roles, roles) || !u[name].Active || u[name].Source != "hr" {
			t.Errorf("%s = %+v, want active, roles %v, source hr", name, u[name], roles)
		}
	}

	// A manual user, untouched by syncs.
	e.mustRun("users", "add", "ops@example.com", "--role", "Admin", "--display-name", "Ops")

	// Edit a mapping: the dry run previews and changes nothing; then apply.
	out = e.mustRun("mappings", "add", "Sales", "CSM", "--dry-run")
	if !strings.Contains(out, "+ cat@example.com  +CSM  member of Sales") || !strings.Contains(out, "- cat@example.com  -Viewer") {
		t.Errorf("mapping preview lacks cat's grant and revoke:\n%s", out)
	}
	if got := e.users()["cat@example.com"].Roles; !slices.Equal(got, []string{"Viewer"}) {
		t.Errorf("--dry-run applied the mapping: cat has %v", got)
	}
	e.mustRun("mappings", "add", "Sales", "CSM")
	if got := e.users()["cat@example.com"].Roles; !slices.Equal(got, []string{"CSM"}) {
		t.Errorf("after mappings add: cat has %v, want [CSM]", got)
	}
	if out := e.mustRun("mappings", "list"); !strings.Contains(out, "Sales") || !strings.Contains(out, "admin (store)") {
		t.Errorf("mappings list:\n%s", out)
	}

	// The directory changes: ann leaves ph-admin, bob joins it; sync again.
	e.write("directory.json", strings.Replace(testDirectory, `"members": ["u1"]`, `"members": ["u2"]`, 1))
	e.mustRun("sync")
	u = e.users()
	if got := u["ann@example.com"].Roles; !slices.Equal(got, []string{"Viewer"}) {
		t.Errorf("ann left ph-admin: roles %v, want the default [Viewer]", got)
	}
	if got := u["bob@example.com"].Roles; !slices.Equal(got, []string{"Admin", "CSM"}) {
		t.Errorf("bob joined ph-admin: roles %v, want [Admin CSM] in mapping order", got)
	}
	if got := u["ops@example.com"]; got.Source != "manual" || !slices.Equal(got.Roles, []string{"Admin"}) {
		t.Errorf("manual user changed: %+v", got)
	}

	// explain names the nesting and the default role.
	out = e.mustRun("users", "explain", "BOB@example.com")
	for _, w := range []string{"Admin: member of ph-admin", "CSM: member of ph-csm (through Engineering"} {
		if !strings.Contains(out, w) {
			t.Errorf("explain bob lacks %q:\n%s", w, out)
		}
	}
	if out := e.mustRun("users", "explain", "dan@example.com"); !strings.Contains(out, "Viewer: the default role") {
		t.Errorf("explain dan:\n%s", out)
	}

	// The change log has everything, in order, and --after pages it.
	var log []struct {
		Seq  int64  `json:"seq"`
		Kind string `json:"kind"`
		User string `json:"user"`
		Role string `json:"role"`
	}
	if err := json.Unmarshal([]byte(e.mustRun("changes", "--format", "json")), &log); err != nil {
		t.Fatal(err)
	}
	if len(log) < 10 {
		t.Fatalf("change log has %d records", len(log))
	}
	for i := 1; i < len(log); i++ {
		if log[i].Seq <= log[i-1].Seq {
			t.Fatalf("change log not in increasing seq order at %d", i)
		}
	}
	last := log[len(log)-1]
	if !(last.Kind == "revoke" || last.Kind == "grant" || strings.HasPrefix(last.Kind, "group-")) {
		t.Errorf("last change = %+v", last)
	}
	var tail []json.RawMessage
	json.Unmarshal([]byte(e.mustRun("changes", "--format", "json", "--after", "3")), &tail)
	if len(tail) != len(log)-3 {
		t.Errorf("changes --after 3: %d records, want %d", len(tail), len(log)-3)
	}
}

func TestCLIDeactivateSourceUserRefused(t *testing.T) {
	e := newEnv(t)
	e.mustRun("sync")
	_, err := e.run("users", "deactivate", "ann@example.com")
	if err == nil || !strings.Contains(err.Error(), `owned by source "hr"`) {
		t.Fatalf("deactivating a source's user by hand: %v, want a refusal naming the source", err)
	}
	if u := e.users()["ann@example.com"]; !u.Active {
		t.Error("the user was deactivated anyway")
	}
}

func TestCLIHeldExitsThree(t *testing.T) {
	e := newEnv(t)
	e.mustRun("sync")
	// Three of four users leave; max_deactivations = 1.
	e.write("directory.json", `{"users": [{"id": "u1", "userName": "ann@example.com", "active": true}], "groups": []}`)
	out, err := e.run("sync")
	if !errors.Is(err, errHeld) || exitCode(err, &bytes.Buffer{}) != 3 {
		t.Fatalf("sync over the brake: err %v (exit %d), want held (exit 3)\n%s", err, exitCode(err, &bytes.Buffer{}), out)
	}
	if !strings.Contains(out, "HELD by the safety brake") {
		t.Errorf("report does not say it is held:\n%s", out)
	}
	if n := countActive(e.users()); n != 4 {
		t.Errorf("%d active users after a held sync, want all 4", n)
	}
	list := e.mustRun("plans", "list", "--status", "held")
	fields := strings.Fields(strings.Split(list, "\n")[1])
	if len(fields) == 0 {
		t.Fatalf("no held plan listed:\n%s", list)
	}
	e.mustRun("plans", "approve", fields[0])
	if n := countActive(e.users()); n != 1 {
		t.Errorf("%d active users after approving, want 1", n)
	}
}

func countActive(users map[string]listedUser) int {
	n := 0
	for _, u := range users {
		if u.Active {
			n++
		}
	}
	return n
}

func TestCLIBadInput(t *testing.T) {
	tests := []struct {
		name   string
		config string // replaces the test config when set
		dir    string // replaces the directory file when set
		args   []string
		want   []string
	}{
		{name: "unknown role in a mapping", config: testConfig + "[[mapping]]\ngroup = \"ops\"\nrole = \"Root\"\n",
			args: []string{"sync"}, want: []string{`config.toml:20: mapping[2].role: unknown role "Root"`}},
		{name: "unknown source type", config: strings.Replace(testConfig, `type = "file"`, `type = "ldap"`, 1),
			args: []string{"plan"}, want: []string{`unknown source type "ldap"`, "source[0].type"}},
		{name: "bad cron spec", config: strings.Replace(testConfig, `type = "file"`, "type = \"file\"\nschedule = \"every day\"", 1),
			args: []string{"serve"}, want: []string{"source[0].schedule", "every day"}},
		{name: "malformed directory file", dir: `{"users": [ {"id": "u1",} ]}`,
			args: []string{"sync"}, want: []string{"directory.json:1:", "nothing applied"}},
		{name: "a user twice in the directory", dir: `{"users": [{"id": "u1", "userName": "a@x.io"}, {"id": "u2", "userName": "A@x.io"}], "groups": []}`,
			args: []string{"sync"}, want: []string{`"A@x.io"`, "nothing applied"}},
		{name: "unreadable database path", config: strings.Replace(testConfig, `database = "idpsync.db"`, `database = "/proc/nope/idpsync.db"`, 1),
			args: []string{"users", "list"}, want: []string{"/proc/nope/idpsync.db"}},
		{name: "mapping to an unknown role", args: []string{"mappings", "add", "Sales", "Root"}, want: []string{`unknown role "Root"`}},
		{name: "duplicate mapping", args: []string{"mappings", "add", "ph-admin", "Admin"}, want: []string{`duplicate mapping of group "ph-admin"`}},
		{name: "deactivating an unknown user", args: []string{"users", "deactivate", "nobody@example.com"}, want: []string{"nobody@example.com"}},
		{name: "two sources asserting one userName", config: testConfig + "[[source]]\nname = \"hr2\"\ntype = \"file\"\npath = \"directory.json\"\n",
			args: []string{"sync"}, want: []string{`userName "ann@example.com" is also asserted by source`, "not applied"}},
		{name: "unknown format", args: []string{"plan", "--format", "xml"}, want: []string{`"xml"`}},
		{name: "unknown source", args: []string{"sync", "--source", "okta"}, want: []string{`no source named "okta"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.config != "" {
				e.write("config.toml", tt.config)
			}
			if tt.dir != "" {
				e.write("directory.json", tt.dir)
			}
			out, err := e.run(tt.args...)
			if err == nil {
				t.Fatalf("idpsync %v succeeded, want an error\n%s", tt.args, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if exitCode(err, &bytes.Buffer{}) != 1 {
				t.Errorf("exit code %d, want 1", exitCode(err, &bytes.Buffer{}))
			}
			if _, statErr := os.Stat(filepath.Join(e.dir, "idpsync.db")); statErr == nil && tt.dir != "" {
				if n := len(e.users()); n != 0 {
					t.Errorf("%d users written after a failed run", n)
				}
			}
		})
	}
}

func TestServeSyncsAtStartAndStopsOnCancel(t *testing.T) {
	e := newEnv(t)
	e.write("config.toml", strings.Replace(testConfig, `path = "directory.json"`, "path = \"directory.json\"\nschedule = \"@every 1h\"", 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errOut bytes.Buffer
	go func() {
		done <- Run(ctx, []string{"serve", "--config", filepath.Join(e.dir, "config.toml")}, &out, &errOut)
	}()
	// The run at start creates the four users; wait for it (bounded).
	deadline := time.Now().Add(10 * time.Second)
	for len(e.users()) < 4 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not sync at start; log:\n%s", errOut.String())
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited early: %v\n%s", err, errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop after cancel")
	}
	if !strings.Contains(errOut.String(), "sync done") || !strings.Contains(errOut.String(), "trigger=start") {
		t.Errorf("log lacks the start run:\n%s", errOut.String())
	}
}
