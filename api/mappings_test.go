package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
)

// snapshot is what a dry run must leave as it was.
type snapshot struct {
	admin   reconcile.AdminRules
	changes int
	plans   int
	bob     []string
}

func (f *fixture) snapshot() snapshot {
	f.t.Helper()
	admin, err := f.db.AdminRules(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	plans, err := f.db.Plans(f.ctx, reconcile.PlanFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return snapshot{admin: *admin, changes: len(f.changes()), plans: len(plans), bob: f.roles("bob@example.com")}
}

func (f *fixture) unchanged(before snapshot) {
	f.t.Helper()
	after := f.snapshot()
	if !slices.Equal(after.admin.Mappings, before.admin.Mappings) || !slices.Equal(after.admin.Roles, before.admin.Roles) ||
		after.admin.DefaultRole != before.admin.DefaultRole || after.admin.SingleRole != before.admin.SingleRole ||
		after.changes != before.changes || after.plans != before.plans || !slices.Equal(after.bob, before.bob) {
		f.t.Errorf("a dry run wrote: before %+v, after %+v", before, after)
	}
}

// grants lists a plan's grants as "user role".
func grants(p *reconcile.Plan, kind string) []string {
	var out []string
	for _, c := range p.Changes {
		if c.Kind == kind {
			out = append(out, c.User+" "+c.Role)
		}
	}
	slices.Sort(out)
	return out
}

func TestMappingCRUD(t *testing.T) {
	f := newFixture(t)
	sales := map[string]string{"group": "Sales", "role": "CSM"}

	// Dry run: the plan, and nothing written.
	before := f.snapshot()
	var p reconcile.Plan
	f.call("POST", "/mappings?dry_run=true", f.admin, sales, 200, &p)
	if p.Status != reconcile.StatusDryRun || p.ID != 0 || p.Summary.Grant != 1 || p.Summary.Revoke != 1 ||
		!slices.Equal(grants(&p, reconcile.ChangeGrant), []string{"bob@example.com CSM"}) ||
		!slices.Equal(grants(&p, reconcile.ChangeRevoke), []string{"bob@example.com Viewer"}) {
		t.Fatalf("dry run = %+v; want an unsaved dry-run plan granting bob CSM instead of Viewer", p)
	}
	f.unchanged(before)

	// Apply: bob gains CSM (and loses the default role), and the change log says so.
	var applied reconcile.Plan
	resp := f.call("POST", "/mappings", f.admin, sales, http.StatusCreated, &applied)
	if applied.Status != reconcile.StatusApplied || applied.ID == 0 || applied.Summary.Grant != 1 || applied.Actor != "api:ops" {
		t.Fatalf("apply = %+v; want an applied plan with one grant by api:ops", applied)
	}
	if got := f.roles("bob@example.com"); !slices.Equal(got, []string{"CSM"}) {
		t.Errorf("bob's roles = %v, want [CSM]", got)
	}
	log := f.changes()[before.changes:]
	if !slices.ContainsFunc(log, func(r reconcile.ChangeRecord) bool {
		return r.Kind == reconcile.ChangeGrant && r.User == "bob@example.com" && r.Role == "CSM" &&
			r.PlanID == applied.ID && r.Actor == "api:ops" && slices.Equal(r.Groups, []string{"Sales"})
	}) {
		t.Errorf("change log after the apply: %+v; want bob's CSM grant through Sales, by api:ops", log)
	}

	var list api.MappingList
	f.call("GET", "/mappings", f.read, nil, 200, &list)
	if len(list.Mappings) != 2 || list.Mappings[0].Origin != "config" || list.Mappings[1].Origin != "admin" ||
		list.Mappings[1].Group != "Sales" || list.Mappings[1].Position != 2 || resp.Header.Get("ETag") != `"`+list.Hash+`"` {
		t.Fatalf("mappings = %+v (ETag after apply %s); want ph-admin (config), Sales (admin)", list, resp.Header.Get("ETag"))
	}
	salesID := list.Mappings[1].ID
	if loc := resp.Header.Get("Location"); loc != "/api/v1/mappings/"+salesID {
		t.Errorf("Location after the apply = %q, want /api/v1/mappings/%s", loc, salesID)
	}
	var one api.MappingView
	f.call("GET", "/mappings/"+salesID, f.read, nil, 200, &one)
	if one != list.Mappings[1] {
		t.Errorf("GET /mappings/%s = %+v, want %+v", salesID, one, list.Mappings[1])
	}

	// Update: Sales → Admin; dry run first.
	toAdmin := map[string]string{"group": "Sales", "role": "Admin"}
	before = f.snapshot()
	f.call("PUT", "/mappings/"+salesID+"?dry_run=true", f.admin, toAdmin, 200, &p)
	if !slices.Equal(grants(&p, reconcile.ChangeGrant), []string{"bob@example.com Admin"}) {
		t.Errorf("update dry run grants %v, want bob Admin", grants(&p, reconcile.ChangeGrant))
	}
	f.unchanged(before)
	f.call("PUT", "/mappings/"+salesID, f.admin, toAdmin, 200, &p)
	if got := f.roles("bob@example.com"); !slices.Equal(got, []string{"Admin"}) {
		t.Errorf("after the update bob has %v, want [Admin]", got)
	}
	f.fails("PUT", "/mappings/"+salesID, f.admin, sales, 404, reconcile.ENOTFOUND) // its id changed with its role

	// Reorder: add Engineering → CSM, then put it first among the admin mappings.
	eng := map[string]string{"group": "Engineering", "role": "CSM"}
	f.call("POST", "/mappings", f.admin, eng, http.StatusCreated, nil)
	f.call("GET", "/mappings", f.read, nil, 200, &list)
	ids := []string{list.Mappings[2].ID, list.Mappings[1].ID}
	before = f.snapshot()
	f.call("PUT", "/mappings/order?dry_run=true", f.admin, api.OrderBody{IDs: ids}, 200, &p)
	f.unchanged(before)
	f.call("PUT", "/mappings/order", f.admin, api.OrderBody{IDs: ids}, 200, nil)
	f.call("GET", "/mappings", f.read, nil, 200, &list)
	if got := []string{list.Mappings[0].Group, list.Mappings[1].Group, list.Mappings[2].Group}; !slices.Equal(got, []string{"ph-admin", "Engineering", "Sales"}) {
		t.Errorf("order after reorder = %v", got)
	}
	f.fails("PUT", "/mappings/order", f.admin, api.OrderBody{IDs: ids[:1]}, 400, reconcile.EINVALID)
	f.fails("PUT", "/mappings/order", f.admin, api.OrderBody{IDs: []string{ids[0], ids[0]}}, 400, reconcile.EINVALID)

	// Delete: dry run, then for real; bob falls back to the default role.
	before = f.snapshot()
	f.call("DELETE", "/mappings/"+list.Mappings[2].ID+"?dry_run=true", f.admin, nil, 200, &p)
	if !slices.Equal(grants(&p, reconcile.ChangeRevoke), []string{"bob@example.com Admin"}) {
		t.Errorf("delete dry run revokes %v, want bob Admin", grants(&p, reconcile.ChangeRevoke))
	}
	f.unchanged(before)
	f.call("DELETE", "/mappings/"+list.Mappings[2].ID, f.admin, nil, 200, nil)
	if got := f.roles("bob@example.com"); !slices.Equal(got, []string{"Viewer"}) {
		t.Errorf("after the delete bob has %v, want [Viewer]", got)
	}
	f.fails("DELETE", "/mappings/"+list.Mappings[2].ID, f.admin, nil, 404, reconcile.ENOTFOUND)
}

func TestConfigMappingReadOnly(t *testing.T) {
	f := newFixture(t)
	var list api.MappingList
	f.call("GET", "/mappings", f.read, nil, 200, &list)
	id := list.Mappings[0].ID // ph-admin → Admin, from config.toml
	before := f.snapshot()
	for _, tt := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/mappings/" + id, map[string]string{"group": "ph-admin", "role": "CSM"}},
		{"DELETE", "/mappings/" + id, nil},
		{"DELETE", "/mappings/" + id + "?dry_run=true", nil},
		{"PUT", "/mappings/order", api.OrderBody{IDs: []string{id}}},
		{"DELETE", "/roles/Admin", nil},
		{"PUT", "/rules/default-role", map[string]string{"defaultRole": "CSM"}},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			f.t = t
			f.fails(tt.method, tt.path, f.admin, tt.body, http.StatusConflict, reconcile.ECONFLICT)
		})
	}
	f.t = t
	f.unchanged(before)
}

func TestIfMatch(t *testing.T) {
	f := newFixture(t)
	resp := f.call("GET", "/mappings", f.read, nil, 200, nil)
	etag := resp.Header.Get("ETag")
	f.call("POST", "/roles", f.admin, api.RoleBody{Name: "Auditor"}, http.StatusCreated, nil) // the rules change
	for _, tt := range []struct {
		ifMatch string
		status  int
	}{{etag, 412}, {`"` + f.rulesHash() + `"`, http.StatusCreated}} {
		req, err := http.NewRequestWithContext(f.ctx, "POST", f.srv.URL+"/api/v1/mappings", jsonBody(map[string]string{"group": "Audit", "role": "Auditor"}))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+f.admin)
		req.Header.Set("If-Match", tt.ifMatch)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("If-Match %s: status %d, want %d", tt.ifMatch, resp.StatusCode, tt.status)
		}
	}
}

func (f *fixture) rulesHash() string {
	f.t.Helper()
	r, err := f.engine.Rules(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return r.Hash()
}

func TestRoles(t *testing.T) {
	f := newFixture(t)
	before := f.snapshot()
	// A dry run creates nothing: 200, no Location. Applied: 201 and where the role is.
	resp := f.call("POST", "/roles?dry_run=true", f.admin, api.RoleBody{Name: "Auditor"}, http.StatusOK, nil)
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Errorf("a dry run answered Location %q", loc)
	}
	f.unchanged(before)
	resp = f.call("POST", "/roles", f.admin, api.RoleBody{Name: "Audit Team"}, http.StatusCreated, nil)
	if loc := resp.Header.Get("Location"); loc != "/api/v1/roles/Audit%20Team" {
		t.Errorf("Location = %q, want /api/v1/roles/Audit%%20Team", loc)
	}
	f.call("DELETE", resp.Header.Get("Location")[len("/api/v1"):], f.admin, nil, http.StatusOK, nil)
	f.call("POST", "/roles", f.admin, api.RoleBody{Name: "Auditor"}, http.StatusCreated, nil)
	f.fails("POST", "/roles", f.admin, api.RoleBody{Name: "Auditor"}, 409, reconcile.ECONFLICT)
	f.call("POST", "/mappings", f.admin, map[string]string{"group": "Sales", "role": "Auditor"}, http.StatusCreated, nil)
	var roles []api.RoleView
	f.call("GET", "/roles", f.read, nil, 200, &roles)
	want := []api.RoleView{
		{Name: "Admin", Origin: "config", MappedFrom: []string{"ph-admin"}},
		{Name: "CSM", Origin: "config", MappedFrom: []string{}},
		{Name: "Viewer", Origin: "config", MappedFrom: []string{}, Default: true},
		{Name: "Auditor", Origin: "admin", MappedFrom: []string{"Sales"}},
	}
	if !slices.EqualFunc(roles, want, func(a, b api.RoleView) bool {
		return a.Name == b.Name && a.Origin == b.Origin && a.Default == b.Default && slices.Equal(a.MappedFrom, b.MappedFrom)
	}) {
		t.Errorf("roles = %+v, want %+v", roles, want)
	}
	f.fails("DELETE", "/roles/Auditor", f.admin, nil, 409, reconcile.ECONFLICT) // mapped
	f.fails("DELETE", "/roles/Pilot", f.admin, nil, 404, reconcile.ENOTFOUND)
}
