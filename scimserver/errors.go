package scimserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/idpsync/idpsync/reconcile"
)

// ContentType is the media type of every SCIM response (RFC 7644 §3.1).
// Entra's validator gives up on a plain application/json answer.
const ContentType = "application/scim+json; charset=utf-8"

// URNs of the SCIM API messages (RFC 7644 §3.12, §3.4.2, §3.5.2).
const (
	ErrorURN        = "urn:ietf:params:scim:api:messages:2.0:Error"
	ListResponseURN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	PatchOpURN      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// The scimType values of RFC 7644 §3.12.
const (
	ScimInvalidFilter = "invalidFilter"
	ScimTooMany       = "tooMany"
	ScimUniqueness    = "uniqueness"
	ScimMutability    = "mutability"
	ScimInvalidSyntax = "invalidSyntax"
	ScimInvalidPath   = "invalidPath"
	ScimNoTarget      = "noTarget"
	ScimInvalidValue  = "invalidValue"
	ScimInvalidVers   = "invalidVers"
	ScimSensitive     = "sensitive"
)

// Error is a SCIM error response (RFC 7644 §3.12): an HTTP status, an
// optional scimType and a detail meant for the IdP administrator.
// For statuses without a constructor (401, 403, 412, 413) build one directly:
// &Error{Status: http.StatusUnauthorized, Detail: "missing bearer token"}.
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *Error) Error() string {
	if e.ScimType == "" {
		return fmt.Sprintf("scim %d: %s", e.Status, e.Detail)
	}
	return fmt.Sprintf("scim %d %s: %s", e.Status, e.ScimType, e.Detail)
}

func newError(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// InvalidFilter is 400 invalidFilter: the filter syntax is invalid or the
// filter names something that cannot be filtered on.
func InvalidFilter(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimInvalidFilter, format, args...)
}

// TooMany is 400 tooMany: the query would return more results than the
// server is willing to compute.
func TooMany(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimTooMany, format, args...)
}

// Uniqueness is 409 uniqueness: a value that must be unique is taken.
func Uniqueness(format string, args ...any) *Error {
	return newError(http.StatusConflict, ScimUniqueness, format, args...)
}

// Mutability is 400 mutability: the request changes a read-only or immutable
// attribute.
func Mutability(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimMutability, format, args...)
}

// InvalidSyntax is 400 invalidSyntax: the body is not valid JSON or not a
// valid SCIM message.
func InvalidSyntax(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimInvalidSyntax, format, args...)
}

// InvalidPath is 400 invalidPath: a PATCH path is malformed or names an
// attribute the schema does not have.
func InvalidPath(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimInvalidPath, format, args...)
}

// NoTarget is 400 noTarget: a PATCH operation names no target it can act on.
func NoTarget(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimNoTarget, format, args...)
}

// InvalidValue is 400 invalidValue: a required value is missing or a value
// has the wrong type or shape.
func InvalidValue(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimInvalidValue, format, args...)
}

// InvalidVers is 400 invalidVers: the version in If-Match is malformed.
func InvalidVers(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimInvalidVers, format, args...)
}

// Sensitive is 403 sensitive: the request put sensitive data in the URL.
func Sensitive(format string, args ...any) *Error {
	return newError(http.StatusForbidden, ScimSensitive, format, args...)
}

// NotFound is 404 with no scimType.
func NotFound(format string, args ...any) *Error {
	return newError(http.StatusNotFound, "", format, args...)
}

// AsError maps any error to the SCIM error the client sees, in this one
// place: an *Error in err's chain as is; reconcile kinds EINVALID → 400
// invalidValue, ENOTFOUND → 404, ECONFLICT → 409 uniqueness,
// EPRECONDITION → 412 (with the domain message, which is written for
// people); a body over the
// http.MaxBytesReader limit → 413; anything else → 500 with a generic
// detail, so internals never leak. Callers log the original error when the
// result's Status is 500.
func AsError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &Error{Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)}
	}
	var re *reconcile.Error
	if errors.As(err, &re) {
		switch re.Kind {
		case reconcile.EINVALID:
			return &Error{Status: http.StatusBadRequest, ScimType: ScimInvalidValue, Detail: re.Error()}
		case reconcile.ENOTFOUND:
			return &Error{Status: http.StatusNotFound, Detail: re.Error()}
		case reconcile.ECONFLICT:
			return &Error{Status: http.StatusConflict, ScimType: ScimUniqueness, Detail: re.Error()}
		case reconcile.EPRECONDITION:
			return &Error{Status: http.StatusPreconditionFailed, Detail: re.Error()}
		}
	}
	return &Error{Status: http.StatusInternalServerError, Detail: "internal server error"}
}

// errorBody is the JSON shape of an error response; status is a string.
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

// WriteError writes err as a SCIM error response (see AsError for the
// mapping).
func WriteError(w http.ResponseWriter, err error) {
	se := AsError(err)
	status := se.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	WriteJSON(w, status, errorBody{
		Schemas:  []string{ErrorURN},
		Status:   strconv.Itoa(status),
		ScimType: se.ScimType,
		Detail:   se.Detail,
	})
}

// WriteJSON writes v as a SCIM response with the given status. A 204 gets
// no body. HTML characters are not escaped, so $ref URLs read as sent.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a bug can get here (an unencodable value); say so in SCIM.
		status = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(errorBody{Schemas: []string{ErrorURN},
			Status: "500", Detail: "internal server error"})
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client is gone if this fails; nothing to do
}
