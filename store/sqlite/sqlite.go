// Package sqlite is the SQLite implementation of reconcile.Store
// (modernc.org/sqlite, pure Go). One database file holds the app state, the
// state of every source, plans, runs and the append-only change log.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idpsync/idpsync/reconcile"
)

var _ reconcile.Store = (*Store)(nil)

// Store is a reconcile.Store kept in one SQLite database. It is safe for
// concurrent use; writes are serialized by SQLite (BEGIN IMMEDIATE).
type Store struct {
	db   *sql.DB
	path string
	now  func() time.Time
	ids  idGen

	migrated int // migrations Open applied

	// hooks lets tests observe (and interrupt) an apply; nil otherwise.
	hooks *hooks
	// onError is called for database errors: see OnError (errhook.go).
	onError atomic.Pointer[func(error)]
}

// hooks are called during Apply; tests set them through export_test.go.
type hooks struct {
	change    func(i int)       // after the plan's i-th change was applied
	directory func(written int) // after a directory replace, with the rows it wrote
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that stamps users, plans, runs and change-log
// records (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Open opens the database at path, creating it if needed, and brings its
// schema up to date. A database written by a newer idpsync is refused.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" {
		return nil, reconcile.Errorf(reconcile.EINVALID, "open database: empty path")
	}
	registerFunctions()
	s := &Store{path: path, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	dsn, err := dataSourceName(path)
	if err != nil {
		return nil, reconcile.Errorf(reconcile.EINVALID, "open database %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, reconcile.Errorf(reconcile.EINVALID, "open database %s: %w", path, err)
	}
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, reconcile.Errorf(reconcile.EINVALID, "open database %s: %w", path, err)
	}
	s.db = db
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// ping opens the first connection. Switching a database to WAL mode takes
// an exclusive lock for a moment, and SQLite answers another connection's
// pragmas with SQLITE_BUSY at once then, without the busy handler: two
// processes opening a new database together (serve, and the CLI) must
// wait for each other, so a busy answer is tried again, for as long as the
// busy timeout.
func ping(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// busyTimeout is how long a statement waits for another connection's lock.
const busyTimeout = 5 * time.Second

// dataSourceName builds the driver's DSN. The path goes into a file: URI, so
// characters that mean something there ('?', '#', '%') are escaped.
func dataSourceName(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	u := url.URL{Path: filepath.ToSlash(abs)}
	return "file:" + u.EscapedPath() +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate", nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file's path as given to Open.
func (s *Store) Path() string { return s.path }

// clock returns the store's current time in UTC, without a monotonic reading.
func (s *Store) clock() time.Time { return s.now().UTC().Round(0) }

// readTx begins a read-only transaction: a consistent snapshot that does not
// take the write lock (plain BEGIN rather than BEGIN IMMEDIATE).
func (s *Store) readTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, s.dbError(err, "begin read transaction")
	}
	return tx, nil
}

// writeTx begins a write transaction (BEGIN IMMEDIATE: it takes the write
// lock at once, so it cannot fail to upgrade later).
func (s *Store) writeTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.dbError(err, "begin transaction")
	}
	return tx, nil
}

// timeFormat is RFC 3339 with a fixed nine-digit fraction, so that stored
// times order as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// nullTime formats t, or returns NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, reconcile.Errorf(reconcile.EINTERNAL, "stored time %q: %w", s, err)
	}
	return t, nil
}

func parseNullTime(s sql.NullString) (time.Time, error) { return parseTime(s.String) }

// dbError wraps a driver error with what the store was doing. Domain errors
// pass through unchanged; everything else is EINTERNAL (a cancelled context
// stays visible to errors.Is) and, unless a context ended it, marked as a
// database failure for the OnError hook: prefer the method s.dbError, which
// reports it at once.
func dbError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var re *reconcile.Error
	if errors.As(err, &re) {
		return err
	}
	return reconcile.Errorf(reconcile.EINTERNAL, "%s: %w", fmt.Sprintf(format, args...), failure(err))
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// boolInt stores a bool as 0 or 1.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
