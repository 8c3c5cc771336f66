package sqlite

import (
	"context"
	"errors"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dbFailure marks a real database error (I/O, a lock that timed out, a full
// disk, corruption) that dbError wrapped, so that it is reported to the
// OnError hook once however far it travels up.
type dbFailure struct {
	err      error
	reported atomic.Bool
}

func (f *dbFailure) Error() string { return f.err.Error() }
func (f *dbFailure) Unwrap() error { return f.err }

// failure wraps a driver error as a dbFailure; a cancelled or timed-out
// context is no failure of the database and stays as it is.
func failure(err error) error {
	var se *sqlite.Error
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &se) && se.Code() == sqlite3.SQLITE_INTERRUPT) {
		return err
	}
	return &dbFailure{err: err}
}

// OnError sets a function called once for every database error an
// operation of the store runs into (metrics count them). Domain errors (not
// found, conflicts) and cancelled contexts are not database errors. Set it
// after Open, before the store is shared; f must be quick and safe for
// concurrent use.
func (s *Store) OnError(f func(error)) { s.onError.Store(&f) }

// report calls the OnError hook for the database failure in err's chain, if
// it was not reported yet, and returns err.
func (s *Store) report(err error) error {
	var f *dbFailure
	if err == nil || !errors.As(err, &f) || f.reported.Swap(true) {
		return err
	}
	if h := s.onError.Load(); h != nil && *h != nil {
		(*h)(err)
	}
	return err
}

// dbError is the package's dbError, reported to the OnError hook. Helpers
// without the store use the function; the store's entry points that call
// them report what they return (see Apply and ApplyPush).
func (s *Store) dbError(err error, format string, args ...any) error {
	return s.report(dbError(err, format, args...))
}
