package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// TestMigration0002 upgrades a database holding a pull source's state under
// schema 1: the state reads back the same, the new columns are filled in,
// and the members hashes are recomputed (an unchanged sync writes nothing).
func TestMigration0002(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idpsync.db")
	schema, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		string(schema),
		"PRAGMA user_version = 1",
		"INSERT INTO source_states (pk, name) VALUES (1, 'okta')",
		`INSERT INTO source_users (source_pk, id, user_name, email, active) VALUES
			(1, 'u2', ' Bob@X ', 'bob@x', 1), (1, 'u1', 'Alice@X', 'alice@x', 0)`,
		`INSERT INTO source_groups (pk, source_pk, id, display_name, members_hash) VALUES
			(1, 1, 'g1', 'Eng Team', x'00'), (2, 1, 'g2', 'Empty', x'00')`,
		"INSERT INTO source_members (group_pk, member) VALUES (1, 'u1'), (1, 'u2')",
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openAt(t, path)
	if got := sqlite.Migrated(s); got != sqlite.SchemaVersion()-1 {
		t.Errorf("applied %d migrations, want %d", got, sqlite.SchemaVersion()-1)
	}
	want := &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "u1", UserName: "Alice@X", Email: "alice@x"},
			{ID: "u2", UserName: " Bob@X ", Email: "bob@x", Active: true},
		},
		Groups: []reconcile.Group{{ID: "g1", DisplayName: "Eng Team", Members: []string{"u1", "u2"}}, {ID: "g2", DisplayName: "Empty"}},
	}
	got, err := s.Directory(t.Context(), "okta")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Directory after the migration: %+v, %v", got, err)
	}
	var keys, displayKeys string
	var blank int
	if err := sqlite.DB(s).QueryRowContext(t.Context(), `SELECT
		(SELECT group_concat(user_key, '|') FROM (SELECT user_key FROM source_users ORDER BY id)),
		(SELECT group_concat(display_key, '|') FROM (SELECT display_key FROM source_groups ORDER BY id)),
		(SELECT count(*) FROM source_users WHERE created_at = '' OR updated_at = '' OR version <> 1)
		+ (SELECT count(*) FROM source_groups WHERE created_at = '' OR updated_at = '' OR version <> 1)`).Scan(&keys, &displayKeys, &blank); err != nil {
		t.Fatal(err)
	}
	if keys != "alice@x|bob@x" || displayKeys != "eng team|empty" || blank != 0 {
		t.Errorf("user keys %q, display keys %q, %d rows without times or version", keys, displayKeys, blank)
	}
	checkHashes(t, s)

	written := -1
	sqlite.OnDirectory(s, func(n int) { written = n })
	if err := s.Apply(t.Context(), &reconcile.Plan{Kind: reconcile.KindSync, Source: "okta", Actor: "test", Directory: want}); err != nil {
		t.Fatal(err)
	}
	if written != 0 {
		t.Errorf("an unchanged sync after the migration wrote %d rows, want 0", written)
	}
}

// TestPullRenames: userNames stay unique in a source while a sync swaps
// them between users, or hands a leaving user's name to a new one.
func TestPullRenames(t *testing.T) {
	s := openTemp(t)
	sync := func(users ...reconcile.User) {
		t.Helper()
		d := &reconcile.Directory{Users: users}
		if err := s.Apply(t.Context(), &reconcile.Plan{Kind: reconcile.KindSync, Source: "okta", Actor: "test", Directory: d}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Directory(t.Context(), "okta")
		if err != nil || !reflect.DeepEqual(got.Users, users) {
			t.Fatalf("stored %+v, %v; want %+v", got.Users, err, users)
		}
	}
	sync(reconcile.User{ID: "1", UserName: "a@x"}, reconcile.User{ID: "2", UserName: "b@x"}, reconcile.User{ID: "3", UserName: "c@x"})
	sync(reconcile.User{ID: "1", UserName: "B@x"}, reconcile.User{ID: "2", UserName: "A@x"}, reconcile.User{ID: "3", UserName: "c@x"})
	sync(reconcile.User{ID: "1", UserName: "B@x"}, reconcile.User{ID: "2", UserName: "A@x"}, reconcile.User{ID: "4", UserName: "C@X"})
}
