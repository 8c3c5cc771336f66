package scimserver_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/scimserver"
)

func TestWriteError(t *testing.T) {
	tooBig := func() error {
		r := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader("0123456789")), 4)
		_, err := io.ReadAll(r)
		return err
	}()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"invalidFilter", scimserver.InvalidFilter("bad filter %q", "x"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad filter \"x\""}`},
		{"tooMany", scimserver.TooMany("t"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"tooMany","detail":"t"}`},
		{"uniqueness", scimserver.Uniqueness("u"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"u"}`},
		{"mutability", scimserver.Mutability("m"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"mutability","detail":"m"}`},
		{"invalidSyntax", scimserver.InvalidSyntax("s"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidSyntax","detail":"s"}`},
		{"invalidPath", scimserver.InvalidPath("p"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidPath","detail":"p"}`},
		{"noTarget", scimserver.NoTarget("n"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"noTarget","detail":"n"}`},
		{"invalidValue", scimserver.InvalidValue("v"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"v"}`},
		{"invalidVers", scimserver.InvalidVers("w"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidVers","detail":"w"}`},
		{"sensitive", scimserver.Sensitive("x"), `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"403","scimType":"sensitive","detail":"x"}`},
		{"not found, no scimType", scimserver.NotFound("User %q not found", "u9"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"User \"u9\" not found"}`},
		{"401 built directly", &scimserver.Error{Status: http.StatusUnauthorized, Detail: "missing bearer token"},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"missing bearer token"}`},
		{"wrapped SCIM error", fmt.Errorf("create: %w", scimserver.InvalidValue("userName is required")),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"userName is required"}`},
		{"reconcile EINVALID", reconcile.Errorf(reconcile.EINVALID, "unknown role %q", "x"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"unknown role \"x\""}`},
		{"reconcile ENOTFOUND", reconcile.Errorf(reconcile.ENOTFOUND, "user %q not found", "u1"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"user \"u1\" not found"}`},
		{"reconcile ECONFLICT, wrapped", fmt.Errorf("push: %w", reconcile.Errorf(reconcile.ECONFLICT, "userName %q already exists", "a")),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"userName \"a\" already exists"}`},
		{"reconcile EPRECONDITION", reconcile.Errorf(reconcile.EPRECONDITION, "version is 4, not 3"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"412","detail":"version is 4, not 3"}`},
		{"reconcile EINTERNAL hides the message", reconcile.Errorf(reconcile.EINTERNAL, "disk /var/lib/idpsync full"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"internal server error"}`},
		{"reconcile EHELD is internal here", reconcile.Errorf(reconcile.EHELD, "plan 7 held"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"internal server error"}`},
		{"plain error hides the message", errors.New("sql: database is locked at /var/lib/idpsync/db"),
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"internal server error"}`},
		{"body too large", tooBig,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"413","detail":"request body is larger than 4 bytes"}`},
		{"a status out of range", &scimserver.Error{Status: 200, Detail: "x"},
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			scimserver.WriteError(w, tt.err)
			if ct := w.Header().Get("Content-Type"); ct != "application/scim+json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			var want struct{ Status string }
			if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(w.Code); got != want.Status {
				t.Errorf("status %s, body says %s", got, want.Status)
			}
			if got := strings.TrimSpace(w.Body.String()); got != tt.want {
				t.Errorf("body\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	scimserver.WriteJSON(w, http.StatusCreated, map[string]any{"$ref": "https://h/Users?a=1&b=2"})
	if w.Code != http.StatusCreated || w.Header().Get("Content-Type") != scimserver.ContentType {
		t.Errorf("got %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if got := strings.TrimSpace(w.Body.String()); got != `{"$ref":"https://h/Users?a=1&b=2"}` {
		t.Errorf("body %s: & must not be escaped", got)
	}
	if w.Header().Get("Content-Length") != fmt.Sprint(w.Body.Len()) {
		t.Errorf("Content-Length %s for %d bytes", w.Header().Get("Content-Length"), w.Body.Len())
	}

	w = httptest.NewRecorder()
	scimserver.WriteJSON(w, http.StatusNoContent, map[string]any{"id": "x"})
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Errorf("204 wrote %d %q", w.Code, w.Body.String())
	}

	w = httptest.NewRecorder()
	scimserver.WriteJSON(w, http.StatusOK, map[string]any{"bad": make(chan int)})
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), scimserver.ErrorURN) {
		t.Errorf("unencodable value: %d %s", w.Code, w.Body.String())
	}
}

func TestErrorString(t *testing.T) {
	if got := scimserver.InvalidPath("bad").Error(); got != "scim 400 invalidPath: bad" {
		t.Errorf("Error() = %q", got)
	}
	if got := scimserver.NotFound("gone").Error(); got != "scim 404: gone" {
		t.Errorf("Error() = %q", got)
	}
}
