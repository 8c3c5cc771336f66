package storetest

import (
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// testCursor: a source's delta cursor moves with the plan that applies the
// state read up to it, a held plan keeps its own until approved, and
// dropping the source drops it.
func testCursor(t *testing.T, open Opener) {
	s := open(t)
	ctx := t.Context()
	cursor := func() string {
		t.Helper()
		c, err := s.Cursor(ctx, "hr")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := cursor(); c != "" {
		t.Fatalf("cursor of a source never applied = %q, want empty", c)
	}
	dir := &reconcile.Directory{Users: []reconcile.User{{ID: "u1", UserName: "ann", Active: true}}}
	p := plan(reconcile.KindSync)
	p.Source, p.Directory, p.Cursor = "hr", dir, "delta-1"
	mustApply(t, s, p)
	if c := cursor(); c != "delta-1" {
		t.Fatalf("cursor after apply = %q, want delta-1", c)
	}

	held := plan(reconcile.KindSync)
	held.Source, held.Directory, held.Cursor, held.Status = "hr", dir, "delta-2", reconcile.StatusHeld
	if err := s.SavePlan(ctx, held); err != nil {
		t.Fatal(err)
	}
	if c := cursor(); c != "delta-1" {
		t.Fatalf("saving a held plan moved the cursor to %q", c)
	}
	loaded, err := s.Plan(ctx, held.ID)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Cursor != "delta-2" {
		t.Fatalf("stored held plan's cursor = %q, want delta-2", loaded.Cursor)
	}
	mustApply(t, s, loaded)
	if c := cursor(); c != "delta-2" {
		t.Fatalf("cursor after applying the held plan = %q, want delta-2", c)
	}

	// A read that changed nothing but the cursor stores only the cursor.
	if err := s.SetCursor(ctx, "hr", "delta-3"); err != nil {
		t.Fatal(err)
	}
	if c := cursor(); c != "delta-3" {
		t.Fatalf("cursor after SetCursor = %q, want delta-3", c)
	}
	if d, err := s.Directory(ctx, "hr"); err != nil || d == nil || len(d.Users) != 1 {
		t.Fatalf("SetCursor touched the state: %+v, %v", d, err)
	}
	if err := s.SetCursor(ctx, "nobody", "x"); err != nil {
		t.Fatalf("SetCursor of a source without state: %v", err)
	}
	if c, _ := s.Cursor(ctx, "nobody"); c != "" {
		t.Fatalf("SetCursor made state for a source that had none: cursor %q", c)
	}

	drop := plan(reconcile.KindRemove)
	drop.Source, drop.DropSource = "hr", "hr"
	mustApply(t, s, drop)
	if c := cursor(); c != "" {
		t.Fatalf("cursor of a dropped source = %q, want empty", c)
	}
}
