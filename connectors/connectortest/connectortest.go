// Package connectortest is the conformance suite every pull connector passes
// (file, and Okta and Entra against their fake IdPs), and a generator of
// synthetic directories of any size.
//
// A connector's test hands Run a Harness whose Serve puts a directory where
// the connector reads it (a file on disk, a fake IdP server) and returns the
// connector, opened on it. The suite then checks that what the connector
// fetches is what was served: nothing lost, nothing made up.
package connectortest

import (
	"context"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// Harness adapts one connector to the suite.
type Harness struct {
	// Serve makes d available to a new source and returns that source. The
	// source must report d as it is at each Fetch: the suite changes *d
	// between two fetches (replacing its slices or their elements) and
	// expects the second fetch to see the change, as a fake IdP that renders
	// d on each request would. Serve fails t if it cannot serve d.
	Serve func(t *testing.T, d *reconcile.Directory) reconcile.Source
	// Broken, if set, returns a source whose Fetch fails: an unreachable
	// server, a 500, a file that is not there. The suite checks that the
	// failure is an error and no directory, never an empty directory.
	Broken func(t *testing.T) reconcile.Source
}

// Run runs the suite against h as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Run("RoundTrip", func(t *testing.T) {
		d := smallDirectory()
		src := h.Serve(t, Clone(d))
		if src.Name() == "" {
			t.Error("Name() is empty")
		}
		expect(t, fetch(t, src), d)
	})
	t.Run("NestedGroups", func(t *testing.T) {
		d := nestedDirectory()
		got := fetch(t, h.Serve(t, Clone(d)))
		expect(t, got, d)
	})
	t.Run("InactiveUsers", func(t *testing.T) {
		d := smallDirectory()
		got := fetch(t, h.Serve(t, Clone(d)))
		for _, u := range got.Users {
			if want := findUser(d, u.ID); want != nil && u.Active != want.Active {
				t.Errorf("user %q: active = %v, want %v", u.ID, u.Active, want.Active)
			}
		}
		expect(t, got, d)
	})
	t.Run("EmptyGroup", func(t *testing.T) {
		d := smallDirectory()
		d.Groups = append(d.Groups, reconcile.Group{ID: "g-empty", DisplayName: "Nobody yet"})
		got := fetch(t, h.Serve(t, Clone(d)))
		if findGroup(got, "g-empty") == nil {
			t.Errorf("the empty group g-empty is missing")
		}
		expect(t, got, d)
	})
	t.Run("UnicodeAndPunctuation", func(t *testing.T) {
		d := unicodeDirectory()
		expect(t, fetch(t, h.Serve(t, Clone(d))), d)
	})
	t.Run("EmptyDirectory", func(t *testing.T) {
		got := fetch(t, h.Serve(t, &reconcile.Directory{}))
		if len(got.Users) != 0 || len(got.Groups) != 0 {
			t.Errorf("got %d users and %d groups, want none", len(got.Users), len(got.Groups))
		}
	})
	t.Run("Synthetic", func(t *testing.T) {
		// Big enough to cross any page size, of users and of a group's members.
		d := Synthetic(Options{Users: 2500, Groups: 120, Memberships: 6000, NestingDepth: 3, InactiveEvery: 9, Seed: 1})
		expect(t, fetch(t, h.Serve(t, Clone(d))), d)
	})
	t.Run("NoCaching", func(t *testing.T) {
		d := smallDirectory()
		served := Clone(d)
		src := h.Serve(t, served)
		expect(t, fetch(t, src), d)

		change(d)
		change(served)
		expect(t, fetch(t, src), d)
	})
	t.Run("CancelledContext", func(t *testing.T) {
		src := h.Serve(t, smallDirectory())
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		d, err := src.Fetch(ctx)
		if err == nil {
			t.Fatal("Fetch with a cancelled context returned no error, want an error")
		}
		if d != nil {
			t.Errorf("Fetch with a cancelled context returned a directory along with the error %v", err)
		}
	})
	t.Run("Broken", func(t *testing.T) {
		if h.Broken == nil {
			t.Skip("the harness has no Broken source")
		}
		d, err := h.Broken(t).Fetch(t.Context())
		if err == nil {
			t.Fatal("Fetch of a broken source returned no error, want an error")
		}
		if d != nil {
			t.Errorf("Fetch of a broken source returned a directory along with the error %v", err)
		}
	})
}

// fetch fetches src's directory, failing t on an error or on a directory that
// does not pass Validate.
func fetch(t *testing.T, src reconcile.Source) *reconcile.Directory {
	t.Helper()
	d, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if d == nil {
		t.Fatal("Fetch returned neither a directory nor an error")
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("the fetched directory does not pass Validate: %v", err)
	}
	return d
}

// expect fails t if got and want differ in anything but order.
func expect(t *testing.T, got, want *reconcile.Directory) {
	t.Helper()
	if diff := Diff(got, want); diff != "" {
		t.Errorf("fetched directory differs from the one served:\n%s", diff)
	}
}

func findUser(d *reconcile.Directory, id string) *reconcile.User {
	for i := range d.Users {
		if d.Users[i].ID == id {
			return &d.Users[i]
		}
	}
	return nil
}

func findGroup(d *reconcile.Directory, id string) *reconcile.Group {
	for i := range d.Groups {
		if d.Groups[i].ID == id {
			return &d.Groups[i]
		}
	}
	return nil
}
