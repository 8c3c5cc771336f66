package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
)

// Error kinds of the API's own, besides the reconcile kinds (invalid,
// not_found, conflict, held, precondition, internal).
const (
	kindUnauthorized     = "unauthorized"       // 401: no token, or not a valid one
	kindForbidden        = "forbidden"          // 403: the token's scope is too small
	kindNoRoute          = "no_route"           // 404: no such endpoint
	kindMethodNotAllowed = "method_not_allowed" // 405: the endpoint takes other methods
	kindTooLarge         = "too_large"          // 413: the body is over maxBody
)

// httpError is an error the API itself raises, with its status and kind.
type httpError struct {
	status  int
	kind    string
	message string
}

func (e *httpError) Error() string { return e.message }

// ErrorBody is the shape of every error response:
// {"error": {"status": 404, "kind": "not_found", "message": "…"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
	// Last is the change log's last seq, sent with the 409 of a change-feed
	// request whose after is past it (the database was restored).
	Last *int64 `json:"last,omitempty"`
}

// pastEndError is a change-feed request whose after is past the change
// log's last seq: a conflict, with that seq.
type pastEndError struct {
	err  error // ECONFLICT
	last int64
}

func (e *pastEndError) Error() string { return e.err.Error() }
func (e *pastEndError) Unwrap() error { return e.err }

// ErrorDetail describes an error.
type ErrorDetail struct {
	Status  int    `json:"status"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// statuses maps reconcile error kinds to HTTP statuses, in one place.
var statuses = map[string]int{
	reconcile.EINVALID:      http.StatusBadRequest,
	reconcile.ENOTFOUND:     http.StatusNotFound,
	reconcile.ECONFLICT:     http.StatusConflict,
	reconcile.EHELD:         http.StatusConflict,
	reconcile.EPRECONDITION: http.StatusPreconditionFailed,
}

// detail turns any error into what the client is told. Errors of no known
// kind are 500 and say nothing of their cause.
func detail(err error) ErrorDetail {
	var he *httpError
	if errors.As(err, &he) {
		return ErrorDetail{Status: he.status, Kind: he.kind, Message: he.message}
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return ErrorDetail{Status: http.StatusRequestEntityTooLarge, Kind: kindTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", tooBig.Limit)}
	}
	kind := reconcile.ErrorKind(err)
	if status, ok := statuses[kind]; ok {
		return ErrorDetail{Status: status, Kind: kind, Message: err.Error()}
	}
	return ErrorDetail{Status: http.StatusInternalServerError, Kind: reconcile.EINTERNAL,
		Message: "internal error; the server log has the details"}
}

// fail writes err as the response; 5xx errors are logged with their cause.
func (s *server) fail(c *call, err error) {
	d := detail(err)
	if d.Status >= 500 && c.ctx.Err() == nil { // a client that went away is no server error
		s.log.Error("api request failed", "method", c.r.Method, "path", c.r.URL.Path, "token", c.token.id, "err", err)
	}
	if d.Status == http.StatusUnauthorized {
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="idpsync"`)
	}
	body := ErrorBody{Error: d}
	var pe *pastEndError
	if errors.As(err, &pe) {
		body.Last = &pe.last
	}
	writeJSON(c.w, d.Status, body)
}

// writeJSON writes v as the response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

// ok writes v with status 200.
func (c *call) ok(v any) error {
	writeJSON(c.w, http.StatusOK, v)
	return nil
}

// decode reads the JSON request body into v; unknown fields are an error.
func (c *call) decode(v any) error {
	if ct := c.r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return reconcile.Errorf(reconcile.EINVALID, "the body must be application/json, not %s", ct)
	}
	dec := json.NewDecoder(c.r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			return err
		case errors.Is(err, io.EOF):
			return reconcile.Errorf(reconcile.EINVALID, "the request needs a JSON body")
		}
		return reconcile.Errorf(reconcile.EINVALID, "the body is not valid JSON for this request: %v", err)
	}
	if dec.More() {
		return reconcile.Errorf(reconcile.EINVALID, "the body holds more than one JSON value")
	}
	return nil
}
