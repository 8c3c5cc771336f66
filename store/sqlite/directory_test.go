package sqlite_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// walFrames checkpoints the WAL into the database when truncate is set, and
// returns the number of frames (pages) the WAL holds.
func walFrames(t *testing.T, s *sqlite.Store, truncate bool) int {
	t.Helper()
	mode := "PASSIVE"
	if truncate {
		mode = "TRUNCATE"
	}
	var busy, frames, done int
	if err := sqlite.DB(s).QueryRowContext(t.Context(), "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &done); err != nil {
		t.Fatal(err)
	}
	return frames
}

func TestDirectoryWritesOnlyTheDifference(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	p := synthetic("u", 2000, 100, 5)
	if err := s.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	written := -1
	sqlite.OnDirectory(s, func(n int) { written = n })
	sync := func(d *reconcile.Directory) {
		t.Helper()
		written = -1
		if err := s.Apply(ctx, &reconcile.Plan{Kind: reconcile.KindSync, Source: "okta", Actor: "test", Directory: d}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("unchanged", func(t *testing.T) {
		walFrames(t, s, true)
		sync(p.Directory)
		if written != 0 {
			t.Errorf("an unchanged directory wrote %d rows, want 0", written)
		}
		// What is left to write is the plan's record: a handful of pages.
		n := walFrames(t, s, false)
		t.Logf("an unchanged sync of 2,000 users wrote %d WAL frames", n)
		if n > 8 {
			t.Errorf("an unchanged sync wrote %d pages, want at most 8", n)
		}
	})
	t.Run("slightly changed", func(t *testing.T) {
		d, err := s.Directory(ctx, "okta")
		if err != nil {
			t.Fatal(err)
		}
		d.Users[3].Email = "changed@example.com"                          // 1 row
		d.Users = slices.Delete(d.Users, 10, 11)                          // 1 row
		d.Groups[5].Members = append(d.Groups[5].Members, d.Users[20].ID) // the member and the group's hash: 2 rows
		d.Groups[6].DisplayName = "Renamed"                               // 1 row
		want := *d
		sync(d)
		if written != 5 {
			t.Errorf("the changed directory wrote %d rows, want 5", written)
		}
		got, err := s.Directory(ctx, "okta")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want.Groups[5].Members)
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("stored directory differs from the one synced")
		}
	})
}
