package scimserver_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/scimserver"
)

// wantSCIMError checks that r is a SCIM error (RFC 7644 §3.12) with the
// status and scimType ("" for none expected; "*" for any).
func wantSCIMError(t *testing.T, r *response, status int, scimType string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: want status %d", r, status)
		return
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/scim+json") {
		t.Errorf("%s: Content-Type %q, want application/scim+json", r, r.header.Get("Content-Type"))
	}
	m := r.JSON()
	if m == nil {
		t.Errorf("%s: the body is not a JSON object", r)
		return
	}
	if s, _ := m["schemas"].([]any); len(s) != 1 || s[0] != scimserver.ErrorURN {
		t.Errorf("%s: schemas = %v, want [%s]", r, m["schemas"], scimserver.ErrorURN)
	}
	if got, want := m["status"], fmt.Sprint(status); got != want {
		t.Errorf("%s: status = %#v, want the string %q", r, got, want)
	}
	if d, _ := m["detail"].(string); strings.TrimSpace(d) == "" {
		t.Errorf("%s: no detail", r)
	}
	got, _ := m["scimType"].(string)
	switch {
	case scimType == "*":
	case got != scimType:
		t.Errorf("%s: scimType = %q, want %q", r, got, scimType)
	}
}

func TestErrorContract(t *testing.T) {
	h := newE2E(t)
	uid := h.createUser("existing@example.com")
	gid := h.createGroup("ph-admin")
	etag := h.do("GET", "/Users/"+uid, nil, http.StatusOK).header.Get("ETag")
	if etag == "" {
		t.Fatal("GET /Users/{id} sent no ETag")
	}
	user := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new.user@example.com","active":true}`
	big := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"big@example.com","title":"` +
		strings.Repeat("x", scimserver.MaxBodyBytes) + `"}`

	tests := []struct {
		name         string
		token        string // "" for none
		method, path string
		body         string
		header       []string
		status       int
		scimType     string
	}{
		{name: "no token", method: "GET", path: "/Users", status: 401},
		{name: "no token on a write", method: "POST", path: "/Users", body: user, status: 401},
		{name: "wrong token", token: "not-a-token", method: "GET", path: "/Users", status: 401},
		{name: "Okta's bad Authorization header", method: "GET", path: `/Users?filter=userName eq "x"`,
			header: []string{"Authorization", "non-token"}, status: 401},
		{name: "basic auth", method: "GET", path: "/Users", header: []string{"Authorization", "Basic dXNlcjpwYXNz"}, status: 401},
		{name: "bearer without a token", method: "GET", path: "/Users", header: []string{"Authorization", "Bearer "}, status: 401},
		{name: "no token on discovery", method: "GET", path: "/ServiceProviderConfig", status: 401},

		{name: "malformed JSON", token: tokenSCIM, method: "POST", path: "/Users", body: `{"userName": "a@example.com",`,
			status: 400, scimType: scimserver.ScimInvalidSyntax},
		{name: "not a JSON object", token: tokenSCIM, method: "POST", path: "/Users", body: `["a"]`,
			status: 400, scimType: scimserver.ScimInvalidSyntax},
		{name: "only unknown attributes", token: tokenSCIM, method: "POST", path: "/Users", body: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "garbage": "junk"}`,
			status: 400, scimType: scimserver.ScimInvalidValue},
		{name: "missing userName", token: tokenSCIM, method: "POST", path: "/Users",
			body:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"active":true,"displayName":"No Name"}`,
			status: 400, scimType: scimserver.ScimInvalidValue},
		{name: "empty userName", token: tokenSCIM, method: "POST", path: "/Users",
			body:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"  "}`,
			status: 400, scimType: scimserver.ScimInvalidValue},
		{name: "PUT without userName", token: tokenSCIM, method: "PUT", path: "/Users/" + uid,
			body:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"active":true}`,
			status: 400, scimType: scimserver.ScimInvalidValue},
		{name: "group without displayName", token: tokenSCIM, method: "POST", path: "/Groups",
			body:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"members":[]}`,
			status: 400, scimType: scimserver.ScimInvalidValue},
		{name: "PATCH path naming no attribute", token: tokenSCIM, method: "PATCH", path: "/Users/" + uid,
			body: patchJSON(`{"op":"replace","path":"nosuchattribute","value":"x"}`), status: 400, scimType: scimserver.ScimInvalidPath},
		{name: "PATCH path malformed", token: tokenSCIM, method: "PATCH", path: "/Users/" + uid,
			body: patchJSON(`{"op":"replace","path":"name..givenName","value":"x"}`), status: 400, scimType: scimserver.ScimInvalidPath},
		{name: "PATCH path on a group", token: tokenSCIM, method: "PATCH", path: "/Groups/" + gid,
			body: patchJSON(`{"op":"add","path":"owners","value":[{"value":"x"}]}`), status: 400, scimType: scimserver.ScimInvalidPath},
		{name: "PATCH unknown op", token: tokenSCIM, method: "PATCH", path: "/Users/" + uid,
			body: patchJSON(`{"op":"merge","path":"title","value":"x"}`), status: 400, scimType: "*"},
		{name: "PATCH without PatchOp schema", token: tokenSCIM, method: "PATCH", path: "/Users/" + uid,
			body: `{"Operations":[{"op":"replace","path":"title","value":"x"}]}`, status: 400, scimType: scimserver.ScimInvalidSyntax},
		{name: "PATCH clearing userName", token: tokenSCIM, method: "PATCH", path: "/Users/" + uid,
			body: patchJSON(`{"op":"remove","path":"userName"}`), status: 400, scimType: "*"},

		{name: "filter without a value", token: tokenSCIM, method: "GET", path: "/Users?filter=userName eq",
			status: 400, scimType: scimserver.ScimInvalidFilter},
		{name: "filter with an unknown operator", token: tokenSCIM, method: "GET", path: `/Users?filter=userName zz "a"`,
			status: 400, scimType: scimserver.ScimInvalidFilter},
		{name: "filter with a dangling and", token: tokenSCIM, method: "GET", path: `/Users?filter=userName eq "a" and`,
			status: 400, scimType: scimserver.ScimInvalidFilter},
		{name: "filter with an open parenthesis", token: tokenSCIM, method: "GET", path: `/Users?filter=(userName eq "a"`,
			status: 400, scimType: scimserver.ScimInvalidFilter},
		{name: "filter with trailing junk", token: tokenSCIM, method: "GET", path: `/Users?filter=userName eq "a" junk`,
			status: 400, scimType: scimserver.ScimInvalidFilter},
		{name: "group filter without a value", token: tokenSCIM, method: "GET", path: `/Groups?filter=displayName eq`,
			status: 400, scimType: scimserver.ScimInvalidFilter},

		{name: "unknown user", token: tokenSCIM, method: "GET", path: "/Users/00919288221112222", status: 404},
		{name: "unknown group", token: tokenSCIM, method: "GET", path: "/Groups/nope", status: 404},
		{name: "PUT unknown user", token: tokenSCIM, method: "PUT", path: "/Users/nope", body: user, status: 404},
		{name: "PATCH unknown user", token: tokenSCIM, method: "PATCH", path: "/Users/nope",
			body: patchJSON(`{"op":"replace","path":"active","value":false}`), status: 404},
		{name: "PATCH unknown group", token: tokenSCIM, method: "PATCH", path: "/Groups/nope",
			body: patchJSON(`{"op":"add","path":"members","value":[{"value":"` + uid + `"}]}`), status: 404},
		{name: "DELETE unknown user", token: tokenSCIM, method: "DELETE", path: "/Users/nope", status: 404},
		{name: "DELETE unknown group", token: tokenSCIM, method: "DELETE", path: "/Groups/nope", status: 404},
		{name: "a group id is not a user", token: tokenSCIM, method: "GET", path: "/Users/" + gid, status: 404},
		{name: "unknown endpoint", token: tokenSCIM, method: "GET", path: "/Widgets", status: 404},
		{name: "too deep a path", token: tokenSCIM, method: "GET", path: "/Users/" + uid + "/extra", status: 404},

		{name: "duplicate userName in another case", token: tokenSCIM, method: "POST", path: "/Users",
			body:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"EXISTING@Example.com"}`,
			status: 409, scimType: scimserver.ScimUniqueness},
		{name: "renaming a user onto another's userName", token: tokenSCIM, method: "PATCH", path: "/Users/" + h.createUser("other@example.com"),
			body: patchJSON(`{"op":"replace","path":"userName","value":"Existing@example.com"}`), status: 409, scimType: scimserver.ScimUniqueness},
		{name: "duplicate group displayName", token: tokenSCIM, method: "POST", path: "/Groups",
			body:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"ph-admin"}`,
			status: 409, scimType: scimserver.ScimUniqueness},

		{name: "If-Match mismatch on PATCH", token: tokenSCIM, method: "PATCH", path: "/Users/" + uid,
			body: patchJSON(`{"op":"replace","path":"title","value":"x"}`), header: []string{"If-Match", `W/"999"`}, status: 412},
		{name: "If-Match mismatch on PUT", token: tokenSCIM, method: "PUT", path: "/Users/" + uid,
			body:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"existing@example.com"}`,
			header: []string{"If-Match", `W/"999"`}, status: 412},
		{name: "If-Match mismatch on a group", token: tokenSCIM, method: "PATCH", path: "/Groups/" + gid,
			body: patchJSON(`{"op":"add","path":"members","value":[{"value":"` + uid + `"}]}`), header: []string{"If-Match", `W/"999"`}, status: 412},

		{name: "body over 1 MiB", token: tokenSCIM, method: "POST", path: "/Users", body: big, status: 413},
		{name: "PATCH body over 1 MiB", token: tokenSCIM, method: "PATCH", path: "/Users/" + uid,
			body: patchJSON(`{"op":"replace","path":"title","value":"` + strings.Repeat("x", scimserver.MaxBodyBytes) + `"}`), status: 413},

		{name: "method not allowed", token: tokenSCIM, method: "DELETE", path: "/Users", status: 405, scimType: "*"},
		{name: "non-integer startIndex", token: tokenSCIM, method: "GET", path: "/Users?startIndex=one", status: 400, scimType: "*"},
	}
	before := h.appUsers()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := h.send(tt.token, tt.method, tt.path, nilIfEmpty(tt.body), tt.header...)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.check(); err != nil {
				t.Error(err)
			}
			wantSCIMError(t, r, tt.status, tt.scimType)
			if tt.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", r)
			}
		})
	}
	// Not one of those requests changed an app user.
	if after := h.appUsers(); !sameUsers(before, after) {
		t.Errorf("failed requests changed app users:\nbefore %v\nafter  %v", before, after)
	}
	r := h.do("GET", "/Users/"+uid, nil, http.StatusOK)
	if got := r.header.Get("ETag"); got != etag {
		t.Errorf("failed requests changed the user: ETag %s, was %s", got, etag)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func patchJSON(ops ...string) string {
	return `{"schemas":["` + scimserver.PatchOpURN + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

func sameUsers(a, b map[string]reconcile.AppUser) bool {
	if len(a) != len(b) {
		return false
	}
	for k, u := range a {
		v, ok := b[k]
		if !ok || u.Active != v.Active || !slices.Equal(sortedRoles(u.Roles), sortedRoles(v.Roles)) || !u.UpdatedAt.Equal(v.UpdatedAt) {
			return false
		}
	}
	return true
}

// A matching If-Match is accepted: the 412s above are not 412-for-everything.
func TestIfMatch(t *testing.T) {
	h := newE2E(t)
	uid := h.createUser("etag@example.com")
	etag := h.do("GET", "/Users/"+uid, nil, http.StatusOK).header.Get("ETag")
	r, err := h.send(tokenSCIM, "PATCH", "/Users/"+uid, patchJSON(`{"op":"replace","path":"title","value":"Boss"}`), "If-Match", etag)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK && r.status != http.StatusNoContent {
		t.Fatalf("%s: want 200 or 204 with the current ETag", r)
	}
	// The old ETag is stale now.
	r, err = h.send(tokenSCIM, "PATCH", "/Users/"+uid, patchJSON(`{"op":"replace","path":"title","value":"Chief"}`), "If-Match", etag)
	if err != nil {
		t.Fatal(err)
	}
	wantSCIMError(t, r, http.StatusPreconditionFailed, "")
	got := h.do("GET", "/Users/"+uid, nil, http.StatusOK)
	if title := got.JSON()["title"]; title != "Boss" {
		t.Errorf("title = %v, want Boss (the stale write must not apply)", title)
	}
	if got.header.Get("ETag") == etag {
		t.Error("the ETag did not change with the write")
	}
	h.do("PUT", "/Users/"+uid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"etag@example.com"}`,
		http.StatusOK, "If-Match", got.header.Get("ETag"))
}

// An If-Match that names no version the resource can have (an opaque
// strong tag, W/"0") matches nothing: 412, and nothing is written.
func TestIfMatchThatMatchesNothing(t *testing.T) {
	h := newE2E(t)
	uid := h.createUser("opaque@example.com")
	gid := h.createGroup("ph-admin")
	for _, tag := range []string{`"abc"`, `W/"0"`, `W/"-3"`, `"1"x`} {
		t.Run(tag, func(t *testing.T) {
			for _, rq := range []struct{ method, path, body string }{
				{"PATCH", "/Users/" + uid, patchJSON(`{"op":"replace","path":"title","value":"patched"}`)},
				{"PUT", "/Users/" + uid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"opaque@example.com","title":"put"}`},
				{"PATCH", "/Groups/" + gid, patchJSON(`{"op":"add","path":"members","value":[{"value":"` + uid + `"}]}`)},
			} {
				r, err := h.send(tokenSCIM, rq.method, rq.path, rq.body, "If-Match", tag)
				if err != nil {
					t.Fatal(err)
				}
				wantSCIMError(t, r, http.StatusPreconditionFailed, "")
			}
		})
	}
	if title := h.do("GET", "/Users/"+uid, nil, http.StatusOK).JSON()["title"]; title != nil {
		t.Errorf("a write with a non-matching If-Match applied: title = %v", title)
	}
	if u := h.appUsers()["opaque@example.com"]; !slices.Equal(u.Roles, []string{"Viewer"}) {
		t.Errorf("a group write with a non-matching If-Match applied: roles = %v", u.Roles)
	}
}

// A disabled source's token gets 403 on every request, and nothing it sends
// is written.
func TestDisabledSource(t *testing.T) {
	h := newE2E(t)
	uid := h.createUser("enabled.user@example.com")
	gid := h.createGroup("ph-admin")
	before := h.appUsers()
	requests := []struct{ method, path, body string }{
		{"GET", "/Users", ""},
		{"GET", `/Users?filter=userName eq "enabled.user@example.com"`, ""},
		{"GET", "/ServiceProviderConfig", ""},
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"off.user@example.com","active":true}`},
		{"POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"ph-csm"}`},
		{"PATCH", "/Users/" + uid, patchJSON(`{"op":"replace","path":"active","value":false}`)},
		{"PATCH", "/Groups/" + gid, patchJSON(`{"op":"add","path":"members","value":[{"value":"` + uid + `"}]}`)},
		{"DELETE", "/Users/" + uid, ""},
	}
	for _, rq := range requests {
		t.Run(rq.method+" "+rq.path, func(t *testing.T) {
			r, err := h.send(tokenOff, rq.method, rq.path, nilIfEmpty(rq.body))
			if err != nil {
				t.Fatal(err)
			}
			wantSCIMError(t, r, http.StatusForbidden, "*")
		})
	}
	if after := h.appUsers(); !sameUsers(before, after) {
		t.Errorf("the disabled source changed app users:\nbefore %v\nafter  %v", before, after)
	}
	for _, typ := range []string{scimserver.TypeUser, scimserver.TypeGroup} {
		total, _, err := h.store.Resources(h.ctx, sourceOff, typ, nil, 1, 10, false)
		if err != nil {
			t.Fatal(err)
		}
		if total != 0 {
			t.Errorf("the disabled source stored %d %ss", total, typ)
		}
	}
	// The enabled source's resources are untouched.
	r := h.do("GET", "/Users/"+uid, nil, http.StatusOK)
	if r.JSON()["active"] != true {
		t.Errorf("the user was deactivated through the disabled source: %s", r)
	}
	if m := h.do("GET", "/Groups/"+gid, nil, http.StatusOK).JSON()["members"]; m != nil {
		if l, _ := m.([]any); len(l) > 0 {
			t.Errorf("members were added through the disabled source: %v", m)
		}
	}
}

func TestEmptyResults(t *testing.T) {
	h := newE2E(t)
	h.createUser("someone@example.com")
	for _, path := range []string{
		`/Users?filter=userName eq "nobody@example.com"`,
		`/Users?filter=externalId eq "9e1c6a7b-0000-4000-8000-000000000000"`,
		`/Users?filter=emails[type eq "work"].value eq "nobody@example.com"`,
		`/Users?filter=userName eq nobody@example.com`,
		`/Groups?filter=displayName eq "nothing"`,
		`/Groups?excludedAttributes=members&filter=displayName eq "nothing"`,
		`/Groups`,
	} {
		t.Run(path, func(t *testing.T) {
			r := h.do("GET", path, nil, http.StatusOK)
			m := r.JSON()
			if s, _ := m["schemas"].([]any); len(s) != 1 || s[0] != scimserver.ListResponseURN {
				t.Errorf("%s: schemas = %v", r, m["schemas"])
			}
			if fmt.Sprint(m["totalResults"]) != "0" {
				t.Errorf("%s: totalResults = %v, want 0", r, m["totalResults"])
			}
			if res, ok := m["Resources"].([]any); !ok || len(res) != 0 {
				t.Errorf("%s: Resources = %#v, want []", r, m["Resources"])
			}
		})
	}
}

// A filter the server cannot run is 400 invalidFilter; it must never fall
// back to returning every user (Entra would then match the wrong one and
// Okta would create duplicates).
func TestUnsupportedFilterNeverReturnsEverything(t *testing.T) {
	h := newE2E(t)
	for _, n := range []string{"ann@example.com", "ben@example.com", "cat@example.com"} {
		h.createUser(n)
	}
	for _, f := range []string{
		`nosuchattribute eq "x"`,
		`name.nosuch eq "x"`,
		`urn:example:params:scim:schemas:custom:2.0:User:costCenter eq "x"`,
		`emails[nosuch eq "x"]`,
		`emails[type eq "work"].nosuch eq "x"`,
		`password eq "x"`,
		`userName eq "nobody@example.com" or nosuch eq "x"`,
		`meta.nosuch gt "2020-01-01T00:00:00Z"`,
		`userName[value eq "x"]`,
	} {
		t.Run(f, func(t *testing.T) {
			r, err := h.send(tokenSCIM, "GET", "/Users?filter="+f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.check(); err != nil {
				t.Fatal(err)
			}
			switch r.status {
			case http.StatusBadRequest:
				wantSCIMError(t, r, http.StatusBadRequest, scimserver.ScimInvalidFilter)
			case http.StatusOK:
				if got := fmt.Sprint(r.JSON()["totalResults"]); got != "0" {
					t.Errorf("%s: an unsupported filter matched %s users", r, got)
				}
			default:
				t.Errorf("%s: want 400 invalidFilter (or an empty result)", r)
			}
		})
	}
}

// With on_conflict = "reject" a userName another owner has is 409
// uniqueness and nothing is written; with "adopt" the source takes it over.
func TestUserNameOwnedByAnotherOwner(t *testing.T) {
	for _, policy := range []string{reconcile.Reject, reconcile.Adopt} {
		t.Run(policy, func(t *testing.T) {
			h := newE2E(t, func(r *reconcile.Rules) { r.OnConflict = policy })
			_, err := h.engine.AddManualUser(h.ctx, reconcile.User{UserName: "manual.user@example.com", DisplayName: "Manual", Active: true},
				[]string{"Admin"}, "test")
			if err != nil {
				t.Fatal(err)
			}
			body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Manual.User@example.com","active":true}`
			r, err := h.send(tokenSCIM, "POST", "/Users", body)
			if err != nil {
				t.Fatal(err)
			}
			u := h.appUsers()["manual.user@example.com"]
			if policy == reconcile.Reject {
				wantSCIMError(t, r, http.StatusConflict, scimserver.ScimUniqueness)
				if u.Source != reconcile.Manual || !slices.Equal(u.Roles, []string{"Admin"}) {
					t.Errorf("the manual user changed: %+v", u)
				}
				m := h.do("GET", `/Users?filter=userName eq "manual.user@example.com"`, nil, http.StatusOK).JSON()
				if fmt.Sprint(m["totalResults"]) != "0" {
					t.Errorf("the refused user was stored: %v", m)
				}
				return
			}
			if r.status != http.StatusCreated {
				t.Fatalf("%s: want 201 (adopt)", r)
			}
			if u.Source != sourceSCIM || !slices.Equal(u.Roles, []string{"Viewer"}) {
				t.Errorf("adopted user = source %q roles %v, want scim [Viewer]", u.Source, u.Roles)
			}
		})
	}
}

// A user PATCH answers 200 with the resource unless the client asks for no
// body: Prefer: return=minimal, or an Accept of only "*/*" (Microsoft's
// validator, which expects 204). attributes always gets the resource.
func TestUserPatchAnswer(t *testing.T) {
	h := newE2E(t)
	id := h.createUser("answer@example.com")
	body := patchJSON(`{"op":"replace","path":"displayName","value":"Answer"}`)
	tests := []struct {
		name   string
		path   string
		header []string
		want   int
	}{
		{name: "no Accept", path: "/Users/" + id, want: http.StatusOK},
		{name: "Accept scim+json (Okta)", path: "/Users/" + id, header: []string{"Accept", "application/scim+json"}, want: http.StatusOK},
		{name: "Accept */* (Microsoft's validator)", path: "/Users/" + id, header: []string{"Accept", "*/*"}, want: http.StatusNoContent},
		{name: "Prefer return=minimal", path: "/Users/" + id, header: []string{"Prefer", "return=minimal"}, want: http.StatusNoContent},
		{name: "attributes asked", path: "/Users/" + id + "?attributes=displayName", header: []string{"Accept", "*/*"}, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do("PATCH", tt.path, body, tt.want, tt.header...)
			if tt.want == http.StatusOK && r.JSON()["displayName"] != "Answer" {
				t.Errorf("200 body lacks the patched displayName: %s", r.body)
			}
			if tt.want == http.StatusNoContent && len(r.body) != 0 {
				t.Errorf("204 with a body: %s", r.body)
			}
		})
	}
}
