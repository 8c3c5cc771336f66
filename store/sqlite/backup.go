package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/idpsync/idpsync/reconcile"
)

// Backup writes a consistent copy of the database to dest with VACUUM INTO:
// one read transaction, so the copy is the database as of one instant while
// writers carry on (WAL). dest must not exist: Backup creates it (mode 0600)
// and never overwrites a file. A failed backup removes what it created.
func (s *Store) Backup(ctx context.Context, dest string) error {
	return backup(ctx, s.db, s.path, dest, s.report)
}

// BackupFile backs up the database file at path as Store.Backup does,
// without opening it as a Store: nothing is migrated, so a running daemon's
// database is copied as it is, whatever version of idpsync runs the backup.
// A path that does not exist is an error, not a new empty database.
func BackupFile(ctx context.Context, path, dest string) error {
	if _, err := os.Stat(path); err != nil {
		return reconcile.Errorf(reconcile.EINVALID, "back up database: %w", err)
	}
	dsn, err := dataSourceName(path)
	if err != nil {
		return reconcile.Errorf(reconcile.EINVALID, "back up database %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return reconcile.Errorf(reconcile.EINVALID, "back up database %s: %w", path, err)
	}
	defer db.Close()
	return backup(ctx, db, path, dest, func(err error) error { return err })
}

func backup(ctx context.Context, db *sql.DB, path, dest string, report func(error) error) error {
	// Creating dest first, exclusively, makes "never overwrite" atomic:
	// VACUUM INTO writes into an existing file only when it is empty.
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return reconcile.Errorf(reconcile.ECONFLICT, "back up database: %s already exists; not overwriting it", dest)
	}
	if err != nil {
		return reconcile.Errorf(reconcile.EINVALID, "back up database: %w", err)
	}
	f.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dest); err != nil {
		os.Remove(dest)
		return report(dbError(err, "back up database %s to %s", path, dest))
	}
	return nil
}

// CheckFile opens the database file at path read-only and runs PRAGMA
// integrity_check on it. It returns the schema version and the sequence
// number of the last change-log record.
func CheckFile(ctx context.Context, path string) (version int, lastSeq int64, err error) {
	if _, err := os.Stat(path); err != nil {
		return 0, 0, reconcile.Errorf(reconcile.EINVALID, "check database: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, 0, reconcile.Errorf(reconcile.EINVALID, "check database %s: %w", path, err)
	}
	// Read-only, and none of the store's pragmas: checking writes nothing.
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath()+"?mode=ro")
	if err != nil {
		return 0, 0, reconcile.Errorf(reconcile.EINVALID, "check database %s: %w", path, err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return 0, 0, dbError(err, "check database %s", path)
	}
	if result != "ok" {
		return 0, 0, reconcile.Errorf(reconcile.EINTERNAL, "database %s fails its integrity check: %s", path, result)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, 0, dbError(err, "check database %s", path)
	}
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM change_log").Scan(&lastSeq); err != nil {
		return version, 0, dbError(err, "check database %s: read the change log", path)
	}
	return version, lastSeq, nil
}

// Ping checks that the database answers a query that reads the file, within
// ctx (give it a deadline): the daemon's readiness and watchdog checks.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n)
	if err != nil {
		return s.dbError(err, "ping database %s", s.path)
	}
	if n == 0 {
		return reconcile.Errorf(reconcile.EINTERNAL, "ping database %s: no schema", s.path)
	}
	return nil
}
