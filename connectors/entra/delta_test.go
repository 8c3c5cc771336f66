package entra_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/entra"
	"github.com/idpsync/idpsync/connectors/entra/graphtest"
	"github.com/idpsync/idpsync/reconcile"
)

// deltaFixture is a fake Graph, a connector and the state and cursor the
// engine would keep between runs.
type deltaFixture struct {
	t      *testing.T
	srv    *graphtest.Server
	conn   *entra.Connector
	cfg    entra.Config
	state  *reconcile.Directory
	cursor string

	unchanged bool // the last run reported nothing changed
	reads     int  // how often the stored state was read
}

func newDeltaFixture(t *testing.T, d *reconcile.Directory, users string, groups ...string) *deltaFixture {
	t.Helper()
	srv := serve(t, d, graphtest.Options{PageSize: 7})
	c := config(srv.URL, groups...)
	c.Users = users
	f := &deltaFixture{t: t, srv: srv, conn: open(t, c), cfg: c}
	f.run()
	return f
}

// run is one engine run: FetchDelta from the kept state and cursor. It
// returns the requests it made.
func (f *deltaFixture) run() int64 {
	f.t.Helper()
	f.srv.ResetRequests()
	d, next, err := f.conn.FetchDelta(f.t.Context(), f.stored, f.cursor)
	if err != nil {
		f.t.Fatalf("FetchDelta: %v", err)
	}
	if d != nil { // nil: nothing changed
		f.state = d
	}
	f.cursor = next
	f.unchanged = d == nil
	return f.srv.Requests()
}

// stored is the engine's stored state, as FetchDelta reads it.
func (f *deltaFixture) stored(context.Context) (*reconcile.Directory, error) {
	f.reads++
	return f.state, nil
}

// full is what a full read of the fake returns now, and its requests.
func (f *deltaFixture) full() (*reconcile.Directory, int64) {
	f.t.Helper()
	f.srv.ResetRequests()
	d, err := open(f.t, f.cfg).Fetch(f.t.Context())
	if err != nil {
		f.t.Fatalf("Fetch: %v", err)
	}
	return d, f.srv.Requests()
}

// check compares the state kept by delta runs with a full read.
func (f *deltaFixture) check(what string) {
	f.t.Helper()
	want, _ := f.full()
	if diff := connectortest.Diff(f.state, want); diff != "" {
		f.t.Fatalf("%s: the state delta runs built differs from a full read:\n%s", what, diff)
	}
}

func deltaDirectory() *reconcile.Directory {
	return &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "u1", UserName: "ann@example.com", DisplayName: "Ann", Email: "ann@example.com", ExternalID: "E1", Active: true},
			{ID: "u2", UserName: "bob@example.com", DisplayName: "Bob", Active: true},
			{ID: "u3", UserName: "cy@example.com", Active: true},
			{ID: "u4", UserName: "dee@example.com", Active: true},
			{ID: "u5", UserName: "eve@example.com", Active: true},
		},
		Groups: []reconcile.Group{
			{ID: "g1", DisplayName: "ph-admin", Members: []string{"u1", "g2"}},
			{ID: "g2", DisplayName: "Engineering", Members: []string{"u2"}},
			{ID: "g3", DisplayName: "Sales", Members: []string{"u3"}},
			{ID: "g4", DisplayName: "Other", Members: []string{"u4", "u5"}},
			{ID: "g5", DisplayName: "Deep", Members: []string{"u5"}},
		},
	}
}

func TestDeltaChanges(t *testing.T) {
	d := deltaDirectory()
	f := newDeltaFixture(t, d, entra.UsersInGroups, "ph-*", "Sales")
	f.check("first run")
	_, fullRequests := f.full()

	steps := []struct {
		name   string
		change func(d *reconcile.Directory)
	}{
		{"a user's property changes", func(d *reconcile.Directory) { d.Users[0].DisplayName = "Ann Lee"; d.Users[0].ExternalID = "" }},
		{"a user is disabled", func(d *reconcile.Directory) { d.Users[1].Active = false }},
		{"a member joins a mapped group", func(d *reconcile.Directory) { d.Groups[2].Members = append(d.Groups[2].Members, "u4") }},
		{"a member leaves", func(d *reconcile.Directory) { d.Groups[0].Members = []string{"g2"} }},
		{"a group is nested into a mapped group", func(d *reconcile.Directory) { d.Groups[1].Members = append(d.Groups[1].Members, "g4") }},
		{"a nested group's member changes", func(d *reconcile.Directory) { d.Groups[3].Members = append(d.Groups[3].Members, "u1") }},
		{"a group is created under the prefix", func(d *reconcile.Directory) {
			d.Users = append(d.Users, reconcile.User{ID: "u6", UserName: "fay@example.com", Active: true})
			d.Groups = append(d.Groups, reconcile.Group{ID: "g6", DisplayName: "ph-new", Members: []string{"u6", "g5"}})
		}},
		{"a group is renamed into the prefix", func(d *reconcile.Directory) { d.Groups[4].DisplayName = "ph-deep" }},
		{"a user is deleted", func(d *reconcile.Directory) {
			d.Users = slices.DeleteFunc(d.Users, func(u reconcile.User) bool { return u.ID == "u3" })
			d.Groups[2].Members = slices.DeleteFunc(d.Groups[2].Members, func(m string) bool { return m == "u3" })
		}},
		{"a nested group is deleted", func(d *reconcile.Directory) {
			d.Groups = slices.DeleteFunc(d.Groups, func(g reconcile.Group) bool { return g.ID == "g4" })
			d.Groups[1].Members = slices.DeleteFunc(d.Groups[1].Members, func(m string) bool { return m == "g4" })
		}},
	}
	for _, s := range steps {
		s.change(d)
		f.srv.SetDirectory(d)
		n := f.run()
		f.check(s.name)
		if n >= fullRequests+2 {
			t.Errorf("%s: the delta run made %d requests, a full read makes %d", s.name, n, fullRequests)
		}
	}
}

func TestDeltaUnchanged(t *testing.T) {
	f := newDeltaFixture(t, deltaDirectory(), entra.UsersInGroups, "ph-*", "Sales")
	before, state, reads := f.cursor, f.state, f.reads
	if n := f.run(); n != 2 {
		t.Errorf("an unchanged delta run made %d requests, want 2", n)
	}
	if !f.unchanged || f.reads != reads {
		t.Errorf("an unchanged delta run returned a directory (%v) or read the stored state (%d times)", !f.unchanged, f.reads-reads)
	}
	if f.cursor != before {
		t.Errorf("an unchanged run moved the cursor: %s → %s", before, f.cursor)
	}
	if diff := connectortest.Diff(f.state, state); diff != "" {
		t.Error(diff)
	}
}

// A full read begins with two delta links and reads as Fetch does; then a
// rejected token, full_every and a changed scope each lead back to one.
func TestDeltaFullRuns(t *testing.T) {
	d := deltaDirectory()
	f := newDeltaFixture(t, d, entra.UsersAll, "ph-*", "Sales")
	_, fullRequests := f.full()

	d.Users[0].DisplayName = "Ann Lee"
	f.srv.SetDirectory(d)
	f.srv.ExpireDeltaTokens()
	if n := f.run(); n != 1+fullRequests+2 {
		t.Errorf("after a 410: %d requests, want the rejected delta query, 2 delta links and a full read (%d)", n, fullRequests)
	}
	f.check("after a rejected token")
	if n := f.run(); n != 2 {
		t.Errorf("the run after the full one made %d requests, want 2", n)
	}

	f.cfg.FullEvery = "1ns"
	f.conn = open(t, f.cfg)
	if n := f.run(); n != fullRequests+2 {
		t.Errorf("full_every passed: %d requests, want a full read (%d) and 2 delta links", n, fullRequests)
	}

	f.cfg.FullEvery = ""
	f.cfg.Groups = []string{"ph-*"}
	f.conn = open(t, f.cfg)
	f.run()
	f.check("after a scope change")
}

// A configured name that a delta leaves naming no group fails as the full
// read does.
func TestDeltaMissingGroup(t *testing.T) {
	d := deltaDirectory()
	f := newDeltaFixture(t, d, entra.UsersInGroups, "Sales")
	d.Groups[2].DisplayName = "Sales (old)"
	f.srv.SetDirectory(d)
	_, _, err := f.conn.FetchDelta(t.Context(), f.stored, f.cursor)
	if reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Fatalf("FetchDelta after the group was renamed: %v, want not found", err)
	}
}

// Random changes to a synthetic directory, many rounds: the state built by
// delta runs always equals a full read.
func TestDeltaRandom(t *testing.T) {
	for _, users := range []string{entra.UsersInGroups, entra.UsersAll} {
		t.Run(users, func(t *testing.T) {
			d := connectortest.Synthetic(connectortest.Options{Users: 120, Groups: 30, Memberships: 400, NestingDepth: 3, InactiveEvery: 7, Seed: 11})
			f := newDeltaFixture(t, d, users, "group-0000*", "group-00011")
			rng := rand.New(rand.NewPCG(3, 4))
			for round := range 25 {
				d = connectortest.Clone(d)
				for range 1 + rng.IntN(6) {
					mutate(rng, d, round)
				}
				f.srv.SetDirectory(d)
				f.run()
				f.check(fmt.Sprint("round ", round))
			}
		})
	}
}

// mutate makes one random change that Graph could report.
func mutate(rng *rand.Rand, d *reconcile.Directory, round int) {
	u := &d.Users[rng.IntN(len(d.Users))]
	g := &d.Groups[rng.IntN(len(d.Groups))]
	switch rng.IntN(8) {
	case 0:
		u.DisplayName += "!"
	case 1:
		u.Active = !u.Active
	case 2:
		if !slices.Contains(g.Members, u.ID) {
			g.Members = append(g.Members, u.ID)
		}
	case 3:
		if len(g.Members) > 0 {
			g.Members = slices.Delete(g.Members, 0, 1)
		}
	case 4: // a new user in a group
		id := fmt.Sprintf("new-%d-%d", round, len(d.Users))
		d.Users = append(d.Users, reconcile.User{ID: id, UserName: id + "@example.com", Active: true})
		g.Members = append(g.Members, id)
	case 5: // a user deleted, and its memberships with it
		id := u.ID
		d.Users = slices.DeleteFunc(d.Users, func(x reconcile.User) bool { return x.ID == id })
		for i := range d.Groups {
			d.Groups[i].Members = slices.DeleteFunc(d.Groups[i].Members, func(m string) bool { return m == id })
		}
	case 6: // a group renamed, into or out of the pattern (not the one named exactly)
		if g.DisplayName == "group-00011" {
			return
		}
		g.DisplayName = fmt.Sprintf("group-0000%c-r%d", 'a'+rng.IntN(3), round)
		if rng.IntN(2) == 0 {
			g.DisplayName = fmt.Sprintf("other-%d-%d", round, rng.IntN(1000))
		}
	case 7: // a new group nested in another
		id := fmt.Sprintf("ng-%d-%d", round, len(d.Groups))
		d.Groups = append(d.Groups, reconcile.Group{ID: id, DisplayName: "nested " + id, Members: []string{u.ID}})
		g = &d.Groups[rng.IntN(len(d.Groups)-1)]
		g.Members = append(g.Members, id)
	}
}
