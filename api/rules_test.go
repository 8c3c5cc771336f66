package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
)

func noDefaultRole(r *reconcile.Rules, _ *api.Options) { r.DefaultRole = "" }

func TestGetRules(t *testing.T) {
	f := newFixture(t)
	var r api.RulesView
	resp := f.call("GET", "/rules", f.read, nil, 200, &r)
	if r.DefaultRole != "Viewer" || r.DefaultRoleOrigin != "config" || r.SingleRole || r.SingleRoleOrigin != "" ||
		r.OnConflict != "adopt" || r.MaxDeactivations != "10%" || len(r.Roles) != 3 || len(r.Mappings) != 1 ||
		r.Hash != f.rulesHash() || resp.Header.Get("ETag") != `"`+r.Hash+`"` {
		t.Errorf("GET /rules = %+v (ETag %s)", r, resp.Header.Get("ETag"))
	}
}

func TestDefaultRoleOverride(t *testing.T) {
	f := newFixture(t, noDefaultRole)
	if got := f.roles("bob@example.com"); len(got) != 0 {
		t.Fatalf("without a default role bob has %v", got)
	}
	before := f.snapshot()
	var p reconcile.Plan
	f.call("PUT", "/rules/default-role?dry_run=true", f.admin, map[string]string{"defaultRole": "Viewer"}, 200, &p)
	if p.Status != reconcile.StatusDryRun || p.Summary.Grant != 22 { // everyone but ann (Admin)
		t.Errorf("dry run: status %q, %d grants; want dry-run, 22", p.Status, p.Summary.Grant)
	}
	f.unchanged(before)

	f.call("PUT", "/rules/default-role", f.admin, map[string]string{"defaultRole": "Viewer"}, 200, &p)
	if got := f.roles("bob@example.com"); !slices.Equal(got, []string{"Viewer"}) {
		t.Errorf("after setting the default role bob has %v, want [Viewer]", got)
	}
	var r api.RulesView
	f.call("GET", "/rules", f.read, nil, 200, &r)
	if r.DefaultRole != "Viewer" || r.DefaultRoleOrigin != "admin" {
		t.Errorf("rules: default role %q from %q, want Viewer from admin", r.DefaultRole, r.DefaultRoleOrigin)
	}
	f.fails("PUT", "/rules/default-role", f.admin, map[string]string{"defaultRole": "Pilot"}, 400, reconcile.EINVALID)
	f.fails("PUT", "/rules/default-role", f.admin, map[string]string{}, 400, reconcile.EINVALID)
	f.fails("DELETE", "/roles/Viewer", f.admin, nil, 409, reconcile.ECONFLICT) // config's, and the default

	f.call("PUT", "/rules/default-role", f.admin, map[string]string{"defaultRole": ""}, 200, &p)
	if got := f.roles("bob@example.com"); len(got) != 0 || p.Summary.Revoke != 22 {
		t.Errorf("after clearing the default role bob has %v (plan revokes %d), want none (22)", got, p.Summary.Revoke)
	}
}

func TestSingleRoleOverride(t *testing.T) {
	f := newFixture(t)
	// cat is in Engineering, nested in ph-csm: CSM first, then Admin.
	f.call("POST", "/mappings", f.admin, map[string]string{"group": "ph-csm", "role": "CSM"}, http.StatusCreated, nil)
	f.call("POST", "/mappings", f.admin, map[string]string{"group": "Engineering", "role": "Admin"}, http.StatusCreated, nil)
	if got := f.roles("cat@example.com"); !slices.Equal(got, []string{"Admin", "CSM"}) {
		t.Fatalf("cat has %v, want [Admin CSM]", got)
	}
	var p reconcile.Plan
	f.call("PUT", "/rules/single-role", f.admin, map[string]bool{"singleRole": true}, 200, &p)
	if got := f.roles("cat@example.com"); !slices.Equal(got, []string{"CSM"}) || !slices.Equal(grants(&p, reconcile.ChangeRevoke), []string{"cat@example.com Admin"}) {
		t.Errorf("with single_role cat has %v (plan revokes %v), want [CSM] (Admin)", got, grants(&p, reconcile.ChangeRevoke))
	}
	var r api.RulesView
	f.call("GET", "/rules", f.read, nil, 200, &r)
	if !r.SingleRole || r.SingleRoleOrigin != "admin" {
		t.Errorf("rules: single role %v from %q, want true from admin", r.SingleRole, r.SingleRoleOrigin)
	}
	f.call("PUT", "/rules/single-role", f.admin, map[string]bool{"singleRole": false}, 200, nil)
	if got := f.roles("cat@example.com"); !slices.Equal(got, []string{"Admin", "CSM"}) {
		t.Errorf("without single_role again cat has %v, want [Admin CSM]", got)
	}
}

func TestSingleRoleSetInConfig(t *testing.T) {
	f := newFixture(t, func(r *reconcile.Rules, _ *api.Options) { r.SingleRole = true })
	before := f.snapshot()
	msg := f.fails("PUT", "/rules/single-role", f.admin, map[string]bool{"singleRole": false}, 409, reconcile.ECONFLICT)
	if want := "config.toml"; !strings.Contains(msg, want) {
		t.Errorf("message %q does not name %s", msg, want)
	}
	f.unchanged(before)
}
