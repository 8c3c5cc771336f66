package reconcile_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// reportPlan is a plan with one change of every kind, held by the brake.
func reportPlan() *reconcile.Plan {
	r := rules(func(r *reconcile.Rules) { r.MaxDeactivations = reconcile.Threshold{Count: 1} })
	current := []reconcile.AppUser{
		appUser("hr", "bob", true, "Admin"),
		appUser("hr", "cat", true, "Viewer"),
		appUser("hr", "dan", false),
		appUser("hr", "eve", true, "Admin", "CSM"),
		appUser("hr", "fay", true, "CSM"),
		{ID: "m1", UserName: "gus@example.com", DisplayName: "Gus | Ops", Active: true, Source: reconcile.Manual, Roles: []string{"Admin"}},
		appUser("okta", "hal", true, "Viewer"),
	}
	stored := dir([]reconcile.User{user("bob", true), user("cat", true), user("dan", false), user("eve", true), user("fay", true)},
		group("g1", "ph-admin", "bob", "eve"), group("g2", "ph-csm", "eve", "fay"), group("g3", "Old"))
	fetched := dir([]reconcile.User{
		user("ann", true),
		{ID: "cat", UserName: "cat@example.com", DisplayName: "Cat Stevens", Email: "cat@example.com", Active: true},
		user("dan", true), user("eve", true), user("gus", true),
		{ID: "hal", UserName: "hal@example.com", Active: true},
	},
		group("g1", "ph-admin", "ann", "eve", "dan"), group("g2", "ph-csm", "g5"), group("g5", "Engineering", "cat"))
	p := reconcile.Diff(reconcile.Input{
		Rules: r, Users: current, Source: "hr", Fetched: fetched, Brake: r.MaxDeactivations,
		States: map[string]*reconcile.Directory{"hr": stored, "okta": dir([]reconcile.User{user("hal", true)})},
	})
	p.ID, p.Actor, p.CreatedAt = 7, "cli", time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	return p
}

func TestReportGolden(t *testing.T) {
	p := reportPlan()
	if p.Status != reconcile.StatusHeld {
		t.Fatalf("the report plan should be held, got status %q", p.Status)
	}
	for _, format := range []string{"text", "json", "markdown"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := reconcile.Render(&buf, p, format); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "plan."+format+".golden"), buf.Bytes())
		})
	}
	t.Run("empty", func(t *testing.T) {
		var buf bytes.Buffer
		if err := reconcile.Render(&buf, &reconcile.Plan{Kind: reconcile.KindSync, Source: "hr"}, "text"); err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("testdata", "plan-empty.text.golden"), buf.Bytes())
	})
	t.Run("unknown format", func(t *testing.T) {
		err := reconcile.Render(&bytes.Buffer{}, p, "xml")
		if reconcile.ErrorKind(err) != reconcile.EINVALID {
			t.Errorf("Render(xml) = %v, want an invalid-input error", err)
		}
	})
}

// TestReportJSONShape checks the documented JSON contract, not just the bytes.
func TestReportJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := reconcile.WriteJSON(&buf, reportPlan()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Status  string         `json:"status"`
		Summary map[string]int `json:"summary"`
		Changes []struct {
			Kind   string         `json:"kind"`
			User   string         `json:"user"`
			Group  string         `json:"group"`
			Before map[string]any `json:"before"`
			After  map[string]any `json:"after"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status != "held" {
		t.Errorf("status = %q", got.Status)
	}
	for _, k := range []string{"create", "update", "reactivate", "deactivate", "grant", "revoke", "adopt", "conflict", "groupCreate", "groupUpdate", "groupDelete", "held"} {
		if _, ok := got.Summary[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	counts := map[string]int{}
	for _, c := range got.Changes {
		counts[c.Kind]++
		if c.User == "" && c.Group == "" {
			t.Errorf("change %+v names neither user nor group", c)
		}
	}
	for kind, n := range counts {
		key := map[string]string{"group-create": "groupCreate", "group-update": "groupUpdate", "group-delete": "groupDelete"}[kind]
		if key == "" {
			key = kind
		}
		if got.Summary[key] != n {
			t.Errorf("summary[%s] = %d, but %d changes of that kind", key, got.Summary[key], n)
		}
	}
	if len(counts) < 10 {
		t.Errorf("the report plan should hold nearly every kind of change, has %v", counts)
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
