package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
	"github.com/idpsync/idpsync/store/storetest"
)

func openAt(t *testing.T, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTemp(t *testing.T, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "idpsync.db"), opts...)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) reconcile.Store { return openTemp(t) })
}

func TestMigrationsRunOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idpsync.db")
	s := openAt(t, path)
	if got, want := sqlite.Migrated(s), sqlite.SchemaVersion(); got != want || want < 1 {
		t.Fatalf("a new database applied %d migrations, want %d", got, want)
	}
	var version int
	if err := sqlite.DB(s).QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&version); err != nil || version != sqlite.SchemaVersion() {
		t.Fatalf("user_version = %d, %v; want %d", version, err, sqlite.SchemaVersion())
	}
	s.Close()

	s = openAt(t, path)
	if got := sqlite.Migrated(s); got != 0 {
		t.Errorf("re-opening applied %d migrations, want none", got)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idpsync.db")
	s := openAt(t, path)
	newer := sqlite.SchemaVersion() + 1
	if _, err := sqlite.DB(s).ExecContext(t.Context(), fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err := sqlite.Open(t.Context(), path)
	want := fmt.Sprintf("database schema version %d is newer than this idpsync (%d); upgrade idpsync", newer, sqlite.SchemaVersion())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open of a newer database: err = %v, want %q naming %s", err, want, path)
	}
}

func TestBadPath(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, path string }{
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "idpsync.db")},
		{"a directory", dir},
		{"under a file", filepath.Join(writeFile(t, dir, "file"), "idpsync.db")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tc.path)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded", tc.path)
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name the path %s", err, tc.path)
			}
		})
	}
}

func writeFile(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPathNeedsEscaping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%20chars")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id psync?.db")
	s := openAt(t, path)
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the path given: %v", err)
	}
}

func TestSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idpsync.db")
	s := openAt(t, path)
	ctx := t.Context()
	p := &reconcile.Plan{Kind: reconcile.KindSync, Source: "okta", Actor: "test", RulesHash: "h",
		Directory: &reconcile.Directory{Users: []reconcile.User{{ID: "o1", UserName: "alice", Active: true}},
			Groups: []reconcile.Group{{ID: "g1", DisplayName: "Eng", Members: []string{"o1"}}}},
		Changes: []reconcile.Change{{Kind: reconcile.ChangeCreate, User: "alice", Source: "okta", SourceID: "o1",
			After: map[string]any{"userName": "alice"}, Grants: []reconcile.Grant{{Role: "viewer", Reason: "group"}}}}}
	if err := s.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	users, _ := s.Users(ctx, reconcile.UserFilter{})
	changes, _ := s.Changes(ctx, reconcile.ChangeFilter{})
	dir, _ := s.Directory(ctx, "okta")
	s.Close()

	s = openAt(t, path)
	users2, err1 := s.Users(ctx, reconcile.UserFilter{})
	changes2, err2 := s.Changes(ctx, reconcile.ChangeFilter{})
	dir2, err3 := s.Directory(ctx, "okta")
	hash, err4 := s.RulesHash(ctx)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	if len(users2) != 1 || !reflect.DeepEqual(users2, users) || !reflect.DeepEqual(changes2, changes) ||
		!reflect.DeepEqual(dir2, dir) || hash != "h" {
		t.Errorf("after re-open:\nusers %+v\nwant  %+v\nchanges %+v\nwant    %+v\ndir %+v\nwant %+v\nhash %q",
			users2, users, changes2, changes, dir2, dir, hash)
	}
}

func TestClock(t *testing.T) {
	created := time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.FixedZone("CEST", 2*3600))
	now := created
	s := openTemp(t, sqlite.WithClock(func() time.Time { return now }))
	ctx := t.Context()
	p := &reconcile.Plan{Kind: reconcile.KindManual, Actor: "test", Changes: []reconcile.Change{{Kind: reconcile.ChangeCreate,
		User: "alice", Source: reconcile.Manual, After: map[string]any{"userName": "alice"}}}}
	if err := s.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	now = created.Add(time.Hour)
	q := &reconcile.Plan{Kind: reconcile.KindManual, Actor: "test", Changes: []reconcile.Change{{Kind: reconcile.ChangeGrant,
		User: "alice", UserID: p.Changes[0].UserID, Role: "viewer"}}}
	if err := s.Apply(ctx, q); err != nil {
		t.Fatal(err)
	}
	u, err := s.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := s.Changes(ctx, reconcile.ChangeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Plan(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what      string
		got, want time.Time
	}{
		{"createdAt", u.CreatedAt, created},
		{"updatedAt (a role granted later)", u.UpdatedAt, now},
		{"create's change time", cs[0].Time, created},
		{"grant's change time", cs[1].Time, now},
		{"plan createdAt", stored.CreatedAt, created},
	} {
		if !tc.got.Equal(tc.want) || tc.got.Location() != time.UTC {
			t.Errorf("%s = %v, want %v in UTC", tc.what, tc.got, tc.want.UTC())
		}
	}
}

// TestApplyFailureLeavesPlan checks that a failed apply gives the caller its
// plan back as it was: no id, no status, no user ids for the creates.
func TestApplyFailureLeavesPlan(t *testing.T) {
	s := openTemp(t)
	p := &reconcile.Plan{Kind: reconcile.KindSync, Actor: "test", Changes: []reconcile.Change{
		{Kind: reconcile.ChangeCreate, User: "alice", Source: "okta", After: map[string]any{"userName": "alice"}},
		{Kind: reconcile.ChangeGrant, User: "bob", UserID: "missing", Role: "viewer"},
	}}
	err := s.Apply(t.Context(), p)
	if reconcile.ErrorKind(err) != reconcile.ECONFLICT || !strings.Contains(err.Error(), "plan again") {
		t.Fatalf("err = %v, want a stale-plan conflict", err)
	}
	if p.ID != 0 || p.Status != "" || p.Changes[0].UserID != "" {
		t.Errorf("after a failed apply: id %d, status %q, create's user id %q; want all empty", p.ID, p.Status, p.Changes[0].UserID)
	}
}

func TestCancelMidApply(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	if err := s.Apply(ctx, synthetic("seed", 10, 2, 1)); err != nil {
		t.Fatal(err)
	}
	before := observe(t, s)

	p := synthetic("big", 2000, 50, 4)
	p.Actor = "cancelled"
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reached := -1
	sqlite.OnChange(s, func(i int) {
		if i == 700 { // well inside the plan, after several batches were written
			reached = i
			cancel()
		}
	})
	err := s.Apply(cctx, p)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a cancelled context: err = %v, want context.Canceled", err)
	}
	if reached != 700 {
		t.Fatalf("the apply never reached change 700")
	}
	sqlite.OnChange(s, nil)
	if after := observe(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("a cancelled apply changed the store:\nbefore %v\nafter  %v", before, after)
	}
	// The store still works, and the same plan applies.
	if err := s.Apply(ctx, p); err != nil {
		t.Fatalf("Apply after the cancelled one: %v", err)
	}
}

// observe summarizes a store's state.
func observe(t *testing.T, s *sqlite.Store) string {
	t.Helper()
	ctx := t.Context()
	users, err1 := s.Users(ctx, reconcile.UserFilter{})
	changes, err2 := s.Changes(ctx, reconcile.ChangeFilter{})
	dir, err3 := s.Directory(ctx, "okta")
	plans, err4 := s.Plans(ctx, reconcile.PlanFilter{})
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d users %+v, %d changes, %d plans, ", len(users), users, len(changes), len(plans))
	if dir != nil {
		fmt.Fprintf(&b, "directory of %d users and %d groups", len(dir.Users), len(dir.Groups))
	}
	return b.String()
}
