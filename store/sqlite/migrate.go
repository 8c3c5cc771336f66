package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"modernc.org/sqlite"

	"github.com/idpsync/idpsync/reconcile"
)

// The schema's migrations, applied in order, each in its own transaction.
// The database's version is PRAGMA user_version (the number of the last
// migration applied), written in the migration's transaction.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations, checking that they are numbered
// 1, 2, 3… without gaps.
var migrations = sync.OnceValues(func() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", m.name, i+1)
		}
	}
	return out, nil
})

// SchemaVersion is the schema version this build knows.
func SchemaVersion() int {
	ms, _ := migrations()
	return len(ms)
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return reconcile.Errorf(reconcile.EINTERNAL, "embedded migrations: %w", err)
	}
	current, err := s.schemaVersion(ctx, s.db)
	if err != nil {
		return err
	}
	if err := s.checkVersion(current, len(ms)); err != nil || current == len(ms) {
		return err // up to date: opening writes nothing
	}
	for _, m := range ms {
		if err := s.applyMigration(ctx, m, len(ms)); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration runs one migration unless the database already has it (another
// process may have migrated it since we looked).
func (s *Store) applyMigration(ctx context.Context, m migration, latest int) error {
	tx, err := s.writeTx(ctx)
	if err != nil {
		return reconcile.Errorf(reconcile.EINTERNAL, "database %s: migration %s: %w", s.path, m.name, err)
	}
	defer tx.Rollback()
	current, err := s.schemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if err := s.checkVersion(current, latest); err != nil || current >= m.version {
		return err
	}
	s.migrated++
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return reconcile.Errorf(reconcile.EINTERNAL, "database %s: migration %s: %w", s.path, m.name, err)
	}
	// PRAGMA takes no bound parameters; the version is an int we formatted.
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version)); err != nil {
		return reconcile.Errorf(reconcile.EINTERNAL, "database %s: migration %s: %w", s.path, m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return reconcile.Errorf(reconcile.EINTERNAL, "database %s: migration %s: commit: %w", s.path, m.name, err)
	}
	return nil
}

// rowQueryer is a *sql.DB or a *sql.Tx.
type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) schemaVersion(ctx context.Context, q rowQueryer) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, reconcile.Errorf(reconcile.EINVALID, "open database %s: %w", s.path, err)
	}
	return v, nil
}

func (s *Store) checkVersion(current, latest int) error {
	if current > latest {
		return reconcile.Errorf(reconcile.EINVALID,
			"database %s: database schema version %d is newer than this idpsync (%d); upgrade idpsync", s.path, current, latest)
	}
	return nil
}

// registerFunctions adds the SQL functions the store's queries use to the
// driver, once per process.
var registerFunctions = sync.OnceFunc(func() {
	// idpsync_lower lowers a string by Unicode rules (SQLite's lower() only
	// knows ASCII), for case-insensitive substring search.
	sqlite.MustRegisterDeterministicScalarFunction("idpsync_lower", 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			}
			return args[0], nil
		})
	registerDigestFunctions()
})
