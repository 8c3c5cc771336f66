package entra_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/idpsync/idpsync/connectors/entra/graphtest"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// The connector under the engine and a real store: the first run reads
// everything, a change arrives through a delta and is applied, an
// unchanged run writes nothing, and a rejected token leads to a full read
// whose result equals the delta-built state.
func TestDeltaThroughEngine(t *testing.T) {
	d := deltaDirectory()
	srv := serve(t, d, graphtest.Options{PageSize: 3})
	c := config(srv.URL, "ph-*", "Sales")
	conn := open(t, c)
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "idpsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := reconcile.NewEngine(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rules := reconcile.Rules{Roles: []reconcile.Role{{Name: "Admin"}, {Name: "Sales"}}, OnConflict: reconcile.Adopt,
		Mappings:         []reconcile.Mapping{{Group: "ph-admin", Role: "Admin"}, {Group: "Sales", Role: "Sales"}},
		MaxDeactivations: reconcile.Threshold{Percent: 100, IsPct: true}}
	if err := e.Configure(rules, map[string]reconcile.Threshold{conn.Name(): rules.MaxDeactivations}); err != nil {
		t.Fatal(err)
	}
	sync := func(what string) (*reconcile.Plan, int64) {
		t.Helper()
		srv.ResetRequests()
		p, err := e.Sync(t.Context(), conn, reconcile.SyncOptions{Actor: "test"})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return p, srv.Requests()
	}
	roles := func(userName string) []string {
		t.Helper()
		u, err := st.User(t.Context(), userName)
		if err != nil {
			t.Fatal(err)
		}
		return u.Roles
	}

	if p, _ := sync("first run"); p.Status != reconcile.StatusApplied {
		t.Fatalf("first run: %q", p.Status)
	}
	if _, err := st.User(t.Context(), "dee@example.com"); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Fatalf("dee, in no group in scope, is a user: %v", err)
	}

	d.Groups[2].Members = append(d.Groups[2].Members, "u4") // dee joins Sales
	srv.SetDirectory(d)
	p, n := sync("delta")
	if p.Status != reconcile.StatusApplied || n > 4 {
		t.Fatalf("delta run: status %q in %d requests", p.Status, n)
	}
	if got := roles("dee@example.com"); len(got) != 1 || got[0] != "Sales" {
		t.Errorf("dee's roles after joining Sales = %v", got)
	}

	before, _ := st.Cursor(t.Context(), conn.Name())
	p, n = sync("unchanged")
	if p.Status != "" || p.ID != 0 || n != 2 {
		t.Errorf("unchanged run: status %q, plan %d, %d requests; want nothing in 2 requests", p.Status, p.ID, n)
	}
	if after, _ := st.Cursor(t.Context(), conn.Name()); after != before {
		t.Error("an unchanged run moved the stored cursor")
	}

	d.Users[0].Active = false // ann is disabled…
	srv.SetDirectory(d)
	srv.ExpireDeltaTokens() // …and the token expired meanwhile
	if p, _ := sync("after a 410"); p.Status != reconcile.StatusApplied || p.Summary.Deactivate != 1 {
		t.Errorf("full run after a 410: status %q, %d deactivated", p.Status, p.Summary.Deactivate)
	}
	if p, n := sync("after the full run"); p.Status != "" || n != 2 {
		t.Errorf("the run after the full read: status %q in %d requests; want a 2-request delta with nothing to do (%s %+v)", p.Status, n, p.HeldReason, p.Summary)
	}
}
