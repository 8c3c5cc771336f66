package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// manualCreates returns a manual plan creating n users named prefix-i.
func manualCreates(prefix string, n int) *reconcile.Plan {
	p := &reconcile.Plan{Kind: reconcile.KindManual, Actor: "test"}
	for i := range n {
		name := fmt.Sprintf("%s-%d@example.com", prefix, i)
		p.Changes = append(p.Changes, reconcile.Change{Kind: reconcile.ChangeCreate, User: name, Source: reconcile.Manual,
			After: map[string]any{"userName": name, "active": true}})
	}
	p.Summarize()
	return p
}

func TestSourceSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idpsync.db")
	s := openAt(t, path)
	ctx := t.Context()
	if got, err := s.SourceSettings(ctx); err != nil || len(got) != 0 {
		t.Fatalf("SourceSettings of a new database = %v, %v; want none", got, err)
	}
	if err := s.SetSourceEnabled(ctx, "okta", false, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSourceEnabled(ctx, "hr", false, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSourceEnabled(ctx, "hr", true, "bob"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path) // kept across restarts
	got, err := s.SourceSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o, h := got["okta"], got["hr"]; len(got) != 2 || o.Enabled || o.UpdatedBy != "alice" || !h.Enabled || h.UpdatedBy != "bob" || h.UpdatedAt.IsZero() {
		t.Errorf("SourceSettings = %+v", got)
	}
	if err := s.SetSourceEnabled(ctx, "", true, "x"); reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Errorf("no source: %v, want EINVALID", err)
	}
}

// A backup taken while writers commit is a consistent copy: it passes the
// integrity check and holds, whole, every plan committed before it began.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "idpsync.db"))
	ctx := t.Context()
	if err := s.Apply(ctx, manualCreates("before", 50)); err != nil {
		t.Fatal(err)
	}
	before, err := s.Changes(ctx, reconcile.ChangeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.Apply(context.Background(), manualCreates(fmt.Sprintf("w%d-%d", w, i), 5)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	dest := filepath.Join(dir, "backup.db")
	err = s.Backup(ctx, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	version, last, err := sqlite.CheckFile(ctx, dest)
	if err != nil || version != sqlite.SchemaVersion() || last < before[len(before)-1].Seq {
		t.Fatalf("CheckFile(backup) = version %d, last seq %d, %v", version, last, err)
	}
	b := openAt(t, dest)
	got, err := b.Changes(ctx, reconcile.ChangeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range before {
		if i >= len(got) || got[i].Seq != c.Seq || got[i].User != c.User {
			t.Fatalf("backup change %d = %+v, want %+v", i, got[i], c)
		}
	}
	// Every plan is in the copy whole or not at all: 5 creates each.
	perPlan := map[int64]int{}
	for _, c := range got[len(before):] {
		perPlan[c.PlanID]++
	}
	for id, n := range perPlan {
		if n != 5 {
			t.Errorf("plan %d has %d changes in the backup, want 5", id, n)
		}
	}
}

func TestBackupRefuses(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "idpsync.db"))
	dest := filepath.Join(dir, "exists.db")
	if err := os.WriteFile(dest, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(t.Context(), dest); reconcile.ErrorKind(err) != reconcile.ECONFLICT || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Backup over a file: %v, want ECONFLICT already exists", err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
	missing := filepath.Join(dir, "nope.db")
	if err := sqlite.BackupFile(t.Context(), missing, filepath.Join(dir, "b.db")); err == nil {
		t.Error("BackupFile of a missing database succeeded")
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("BackupFile created the database it was to copy: %v", err)
	}
	if err := sqlite.BackupFile(t.Context(), filepath.Join(dir, "idpsync.db"), filepath.Join(dir, "b.db")); err != nil {
		t.Errorf("BackupFile: %v", err)
	}
}

// OnError hears of each database failure once; domain errors and cancelled
// contexts are none.
func TestOnError(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	var mu sync.Mutex
	var got []error
	s.OnError(func(err error) { mu.Lock(); got = append(got, err); mu.Unlock() })
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }

	if err := s.RevokeToken(ctx, "tok_nope"); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Fatalf("RevokeToken: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Runs(cancelled, "", 0); err == nil {
		t.Fatal("Runs with a cancelled context succeeded")
	}
	if n := count(); n != 0 {
		t.Fatalf("%d errors reported for a domain error and a cancelled context: %v", n, got)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	// A failure inside Apply's helpers (the change log is gone) is reported
	// once, by Apply.
	if _, err := sqlite.DB(s).ExecContext(ctx, "ALTER TABLE change_log RENAME TO change_log_gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, manualCreates("x", 2)); err == nil {
		t.Fatal("Apply without a change log succeeded")
	}
	if n := count(); n != 1 {
		t.Errorf("%d errors reported for one failed Apply, want 1: %v", n, got)
	}
	sqlite.DB(s).Close()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping of a closed database succeeded")
	}
	if _, err := s.Runs(ctx, "", 0); err == nil {
		t.Fatal("Runs on a closed database succeeded")
	}
	if n := count(); n != 3 {
		t.Errorf("%d errors reported, want 3: %v", n, got)
	}
}
