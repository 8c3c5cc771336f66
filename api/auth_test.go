package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
)

func TestAuth(t *testing.T) {
	f := newFixture(t)
	revoked := f.token("old", api.ScopeAdmin)
	tokens, err := f.db.APITokens(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if tok.Name == "old" {
			if err := f.db.RevokeAPIToken(f.ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	newMapping := map[string]string{"group": "Sales", "role": "CSM"}
	tests := []struct {
		name         string
		method, path string
		token        string
		body         any
		status       int
		kind         string
	}{
		{"no token", "GET", "/users", "", nil, 401, "unauthorized"},
		{"unknown token", "GET", "/users", "nope", nil, 401, "unauthorized"},
		{"revoked token", "GET", "/users", revoked, nil, 401, "unauthorized"},
		{"read token reads", "GET", "/users", f.read, nil, 200, ""},
		{"read token cannot add a mapping", "POST", "/mappings", f.read, newMapping, 403, "forbidden"},
		{"read token cannot preview a mapping", "POST", "/mappings?dry_run=true", f.read, newMapping, 403, "forbidden"},
		{"read token cannot approve", "POST", "/plans/1/approve", f.read, nil, 403, "forbidden"},
		{"read token cannot sync", "POST", "/sources/hr/sync", f.read, nil, 403, "forbidden"},
		{"no token on a mutation", "DELETE", "/mappings/m_x", "", nil, 401, "unauthorized"},
		{"admin token reads", "GET", "/changes", f.admin, nil, 200, ""},
		{"unknown route", "GET", "/nothing", f.read, nil, 404, "no_route"},
		{"unknown route needs a token", "GET", "/nothing", "", nil, 401, "unauthorized"},
		{"unclean path", "GET", "/users//explain", f.read, nil, 404, "no_route"},
		{"the API root", "GET", "", f.read, nil, 404, "no_route"},
		{"wrong method", "PATCH", "/users", f.read, nil, 405, "method_not_allowed"},
		{"dry_run where it means nothing", "POST", "/sources/hr/sync?dry_run=true", f.admin, nil, 400, reconcile.EINVALID},
		{"the OpenAPI document is public", "GET", "/openapi.json", "", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			before := len(f.changes())
			if tt.kind == "" {
				f.call(tt.method, tt.path, tt.token, tt.body, tt.status, nil)
				return
			}
			f.fails(tt.method, tt.path, tt.token, tt.body, tt.status, tt.kind)
			resp, _ := f.do(tt.method, tt.path, tt.token, tt.body)
			if tt.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer (got %q)", resp.Header.Get("WWW-Authenticate"))
			}
			if tt.status == 405 && resp.Header.Get("Allow") != "GET" {
				t.Errorf("405 with Allow %q, want GET", resp.Header.Get("Allow"))
			}
			if got := len(f.changes()); got != before {
				t.Errorf("a refused request wrote %d change-log records", got-before)
			}
		})
	}
	f.t = t
	admin, err := f.db.AdminRules(f.ctx)
	if err != nil || len(admin.Mappings) != 0 {
		t.Errorf("refused requests left admin mappings %+v (%v)", admin.Mappings, err)
	}
}

func TestBasicAuthIsNoToken(t *testing.T) {
	f := newFixture(t)
	req, err := http.NewRequestWithContext(f.ctx, "GET", f.srv.URL+"/api/v1/users", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+f.read)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
}

func TestTokenUseRecorded(t *testing.T) {
	f := newFixture(t)
	f.call("GET", "/roles", f.read, nil, 200, nil)
	tokens, err := f.db.APITokens(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if used := !tok.LastUsed.IsZero(); used != (tok.Name == "app") {
			t.Errorf("token %s (%s): last used %v; want set only for the token that made the request", tok.ID, tok.Name, tok.LastUsed)
		}
	}
}

func TestBadBodies(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		body   any
		status int
		want   string
	}{
		{"no body", nil, 400, "needs a JSON body"},
		{"unknown field", map[string]string{"group": "Sales", "role": "CSM", "colour": "red"}, 400, "unknown field"},
		{"missing role", map[string]string{"group": "Sales"}, 400, `needs "group"`},
		{"unknown role", map[string]string{"group": "Sales", "role": "Pilot"}, 400, `unknown role "Pilot"`},
		{"duplicate", map[string]string{"group": "ph-admin", "role": "Admin"}, 409, "already mapped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			kind := reconcile.EINVALID
			if tt.status == 409 {
				kind = reconcile.ECONFLICT
			}
			if msg := f.fails("POST", "/mappings", f.admin, tt.body, tt.status, kind); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q; want it to say %q", msg, tt.want)
			}
		})
	}
}
