package webui_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// preview posts an edit of the rules and returns the preview page; the
// status must be want.
func (c *client) preview(want int, kv ...string) page {
	c.t.Helper()
	p := c.post("/ui/mappings/preview", c.form(kv...))
	if p.status != want {
		c.t.Fatalf("preview %v: %d, want %d\n%s", kv, p.status, want, p.body)
	}
	return p
}

// confirm applies a preview; it must be applied.
func (c *client) confirm(preview page) {
	c.t.Helper()
	if p := c.post("/ui/mappings/apply", c.form("preview", field(c.t, preview.body, "preview"))); p.status != http.StatusSeeOther {
		c.t.Fatalf("confirm: %d\n%s", p.status, p.body)
	}
}

// TestDefaultRoleEditable: where config.toml sets no default role, the
// page offers to set one; setting it goes through the preview, and a
// preview made stale by another edit applies nothing.
func TestDefaultRoleEditable(t *testing.T) {
	f := newFixtureOpts(t, fixtureOptions{rules: func(r *reconcile.Rules) { r.DefaultRole = "" }})
	c := f.client().signIn(password)
	if got := f.roles("farid.haddad@example.com"); len(got) != 0 {
		t.Fatalf("without a default role farid has %v", got)
	}
	page := c.get("/ui/mappings")
	contains(t, page, "Default role", "Not set. config.toml leaves it unset, so it can be set here.")
	if !strings.Contains(page.body, `<input type="hidden" name="op" value="default-role"><input type="hidden" name="old_value" value="">`) {
		t.Fatal("no form sets the default role")
	}
	if strings.Contains(page.body, "set in config.toml") {
		t.Error("the page says the default role is set in config.toml")
	}

	p := c.preview(http.StatusOK, "op", "default-role", "value", "Viewer", "old_value", "")
	contains(t, p, "Preview: set the default role to Viewer", "2 users fall back to Viewer.",
		"farid.haddad@example.com", "grace.oneil@example.com")
	if got := f.roles("farid.haddad@example.com"); len(got) != 0 {
		t.Fatalf("the preview gave farid %v", got)
	}
	// Two previews from the same page: the first confirmed makes the other stale.
	other := c.preview(http.StatusOK, "op", "default-role", "value", "CSM", "old_value", "")
	c.confirm(p)
	if got, want := f.roles("farid.haddad@example.com"), []string{"Viewer"}; !slices.Equal(got, want) {
		t.Errorf("farid has %v, want %v", got, want)
	}
	contains(t, c.get("/ui/mappings"), "Applied: set the default role to Viewer", "Set here, for users in no mapped group.")
	if r := c.post("/ui/mappings/apply", c.form("preview", field(t, other.body, "preview"))); r.status != http.StatusConflict || !strings.Contains(r.body, "Nothing was applied") {
		t.Errorf("stale preview: %d, want 409 saying nothing was applied\n%s", r.status, r.body)
	}
	// A form from a page older than the setting is refused.
	r := c.post("/ui/mappings/preview", c.form("op", "default-role", "value", "Admin", "old_value", ""))
	if r.status != http.StatusConflict || !strings.Contains(r.body, "the default role changed since this page was loaded") {
		t.Errorf("edit from an old page: %d\n%s", r.status, r.body)
	}
	// Removing it again.
	c.confirm(c.preview(http.StatusOK, "op", "default-role", "value", "", "old_value", "Viewer"))
	if got := f.roles("farid.haddad@example.com"); len(got) != 0 {
		t.Errorf("after removing the default role farid has %v", got)
	}
	a, err := f.store.AdminRules(t.Context())
	if err != nil || a.DefaultRole != "" {
		t.Errorf("stored default role %q, %v", a.DefaultRole, err)
	}
}

// TestSettingsManagedByConfig: what config.toml sets is shown as such, has
// no form, and a forged edit of it is refused.
func TestSettingsManagedByConfig(t *testing.T) {
	f := newFixtureOpts(t, fixtureOptions{rules: func(r *reconcile.Rules) { r.SingleRole = true }})
	c := f.client().signIn(password)
	page := c.get("/ui/mappings")
	settings := page.body[strings.Index(page.body, `<dl class="settings"`):strings.Index(page.body, "</dl>")]
	if n := strings.Count(settings, "managed by config"); n != 2 {
		t.Errorf("%d settings managed by config, want 2 (default role, single_role)\n%s", n, settings)
	}
	if strings.Contains(settings, "<form") {
		t.Errorf("a setting config.toml sets has a form:\n%s", settings)
	}
	for _, form := range [][]string{
		{"op", "default-role", "value", "CSM", "old_value", ""},
		{"op", "single-role", "value", "false", "old_value", "false"},
	} {
		if r := c.post("/ui/mappings/preview", c.form(form...)); r.status != http.StatusConflict || !strings.Contains(r.body, "is set in config.toml") {
			t.Errorf("%v: %d, want 409 saying config.toml sets it\n%s", form, r.status, r.body)
		}
	}
	// With single_role on, a new mapping's preview says config's come first.
	contains(t, c.preview(http.StatusOK, "op", "add", "group", "Engineering", "role", "Admin"),
		"single_role is on", "config.toml's mappings always come first")
}

// TestSingleRoleEditable: single_role, off in config.toml, is turned on
// from the UI through a preview that says config's mappings come first.
func TestSingleRoleEditable(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	page := c.get("/ui/mappings")
	if !strings.Contains(page.body, `<input type="hidden" name="op" value="single-role"><input type="hidden" name="old_value" value="false">`) {
		t.Fatal("no form turns single_role on")
	}
	// Off, a mapping's preview does not speak of single_role.
	if p := c.preview(http.StatusOK, "op", "add", "group", "Sales", "role", "CSM"); strings.Contains(p.body, "single_role is on") {
		t.Error("single_role is off, but the preview says it is on")
	}
	p := c.preview(http.StatusOK, "op", "single-role", "value", "true", "old_value", "false")
	contains(t, p, "Preview: turn single_role on", "1 user loses CSM.", "bruno.costa@example.com",
		"single_role is on", "config.toml's mappings always come first")
	c.confirm(p)
	if got, want := f.roles("bruno.costa@example.com"), []string{"Admin"}; !slices.Equal(got, want) {
		t.Errorf("bruno has %v, want %v", got, want)
	}
	contains(t, c.get("/ui/mappings"), "Applied: turn single_role on", "Turned on here.")
	if r := c.post("/ui/mappings/preview", c.form("op", "single-role", "value", "true", "old_value", "false")); r.status != http.StatusConflict {
		t.Errorf("turning it on from an old page: %d, want 409", r.status)
	}
}

// TestPreviewUnreportedGroup: the group typed is trimmed; a group no
// source reports is flagged in the preview, with a near match offered.
func TestPreviewUnreportedGroup(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	p := c.preview(http.StatusOK, "op", "add", "group", "  sales ", "role", "CSM")
	contains(t, p, "Preview: add mapping sales → CSM", "No source reports a group named “sales”", "Did you mean “Sales”?")
	suggested := p.body[strings.Index(p.body, `<div class="callout" id="unreported"`):]
	for _, want := range []string{
		`<input type="hidden" name="op" value="add">`, `<input type="hidden" name="role" value="CSM">`,
		`<input type="hidden" name="group" value="Sales">`,
	} {
		if !strings.Contains(suggested, want) {
			t.Errorf("the suggestion's form lacks %s", want)
		}
	}
	// The suggestion previews the same edit with the reported name.
	p = c.preview(http.StatusOK, "op", "add", "role", "CSM", "group", "Sales", "index", "", "old_group", "", "old_role", "")
	contains(t, p, "Preview: add mapping Sales → CSM", "1 user gains CSM")
	if strings.Contains(p.body, "No source reports") {
		t.Error("a reported group is flagged")
	}
	// Nothing near: flagged, nothing offered.
	p = c.preview(http.StatusOK, "op", "add", "group", "Nobody", "role", "CSM")
	contains(t, p, "No source reports a group named “Nobody”")
	if strings.Contains(p.body, "Did you mean") {
		t.Error("a suggestion for a name nothing resembles")
	}
	// An edit is checked too.
	c.confirm(c.preview(http.StatusOK, "op", "add", "group", "Sales", "role", "CSM"))
	contains(t, c.preview(http.StatusOK, "op", "edit", "index", "0", "old_group", "Sales", "old_role", "CSM", "group", "engineering", "role", "CSM"),
		"No source reports a group named “engineering”", "Did you mean “Engineering”?")
	if got, want := f.adminMappings(), []string{"Sales→CSM"}; !slices.Equal(got, want) {
		t.Errorf("admin mappings %v, want %v", got, want)
	}
}

// TestMappingControlsNamed: every "Preview change" button names what it
// previews; a refused add keeps the role chosen.
func TestMappingControlsNamed(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	c.confirm(c.preview(http.StatusOK, "op", "add", "group", "Sales", "role", "CSM"))
	c.confirm(c.preview(http.StatusOK, "op", "add", "group", "Engineering", "role", "Admin"))
	page := c.get("/ui/mappings")
	var names []string
	for _, m := range buttonLabel.FindAllStringSubmatch(page.body, -1) {
		if m[2] == "Preview change" {
			names = append(names, m[1])
		}
	}
	want := []string{ // the default role is config.toml's: no button
		"Preview change of single_role",
		"Preview change to mapping 3, Sales → CSM", "Preview change to mapping 4, Engineering → Admin",
	}
	if !slices.Equal(names, want) {
		t.Errorf("Preview change buttons named %q, want %q", names, want)
	}
	r := c.post("/ui/mappings/preview", c.form("op", "add", "group", "Sales", "role", "CSM"))
	if !strings.Contains(r.body, `<option value="">Choose a role…</option><option>Admin</option><option selected>CSM</option>`) {
		t.Errorf("the refused add lost its role:\n%s", r.body)
	}
}
