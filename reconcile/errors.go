package reconcile

import (
	"errors"
	"fmt"
)

// Error kinds. Every layer returns errors that carry one of these; the SCIM
// server and the CLI map kinds to statuses and exit codes in one place each.
const (
	EINVALID  = "invalid"   // bad input: the caller must change the request
	ENOTFOUND = "not_found" // the object does not exist
	ECONFLICT = "conflict"  // uniqueness or ownership conflict, or a stale plan
	EHELD     = "held"      // a plan was held by the safety brake
	// EPRECONDITION: a write's expected version (If-Match) is not the stored one.
	EPRECONDITION = "precondition"
	EINTERNAL     = "internal" // anything else
)

// Error is a domain error with a kind and a message meant for people.
type Error struct {
	Kind    string
	Message string // the whole message, including the cause's
	Err     error  // the wrapped cause, if any
}

func (e *Error) Error() string {
	if e.Message == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind. A %w verb wraps its argument.
func Errorf(kind, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), Err: errors.Unwrap(err)}
}

// ErrorKind returns the kind of the first *Error in err's chain, or EINTERNAL.
func ErrorKind(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return EINTERNAL
}
