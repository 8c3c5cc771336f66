package webui_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestPreviewThenConfirm(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)

	p := c.post("/ui/mappings/preview", c.form("op", "add", "group", "Sales", "role", "Admin"))
	if p.status != http.StatusOK {
		t.Fatalf("preview: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{
		"Preview: add mapping Sales → Admin",
		"2 users gain Admin, 1 loses Viewer.",
		"emma.schmidt@example.com", "farid.haddad@example.com",
		"member of Sales",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the preview does not say %q", want)
		}
	}
	if strings.Contains(p.body, "ann.lee@example.com") {
		t.Error("the preview lists a user it does not change")
	}
	// Previewing applies nothing.
	if got := f.adminMappings(); len(got) != 0 {
		t.Fatalf("after the preview, admin mappings %v; want none", got)
	}
	if got := f.roles("farid.haddad@example.com"); !slices.Equal(got, []string{"Viewer"}) {
		t.Fatalf("after the preview, farid has %v", got)
	}

	id := field(t, p.body, "preview")
	p = c.post("/ui/mappings/apply", c.form("preview", id))
	if p.status != http.StatusSeeOther || p.location != "/ui/mappings" {
		t.Fatalf("confirm: %d → %q\n%s", p.status, p.location, p.body)
	}
	if got, want := f.adminMappings(), []string{"Sales→Admin"}; !slices.Equal(got, want) {
		t.Errorf("admin mappings %v, want %v", got, want)
	}
	if got, want := f.roles("farid.haddad@example.com"), []string{"Admin"}; !slices.Equal(got, want) {
		t.Errorf("farid has %v, want %v", got, want)
	}
	if got, want := f.roles("emma.schmidt@example.com"), []string{"Admin", "CSM"}; !slices.Equal(got, want) {
		t.Errorf("emma has %v, want %v", got, want)
	}
	page := c.get("/ui/mappings")
	if !strings.Contains(page.body, "Applied: add mapping Sales → Admin") {
		t.Errorf("the mappings page does not confirm the edit:\n%s", page.body)
	}

	// A preview is confirmed once.
	if p := c.post("/ui/mappings/apply", c.form("preview", id)); p.status != http.StatusConflict {
		t.Errorf("confirming again: %d, want 409", p.status)
	}
	if got := f.adminMappings(); len(got) != 1 {
		t.Errorf("admin mappings %v after a replay", got)
	}
}

// TestStalePreviewRefused: two previews made on the same rules; once one is
// applied, the other describes rules that are gone and applies nothing.
func TestStalePreviewRefused(t *testing.T) {
	f := newFixture(t)
	alice := f.client().signIn(password)
	bob := f.client().signIn(adminToken)

	pa := alice.post("/ui/mappings/preview", alice.form("op", "add", "group", "Sales", "role", "Admin"))
	pb := bob.post("/ui/mappings/preview", bob.form("op", "add", "group", "Engineering", "role", "Admin"))
	if pa.status != http.StatusOK || pb.status != http.StatusOK {
		t.Fatalf("previews: %d, %d", pa.status, pb.status)
	}
	if p := bob.post("/ui/mappings/apply", bob.form("preview", field(t, pb.body, "preview"))); p.status != http.StatusSeeOther {
		t.Fatalf("first confirm: %d\n%s", p.status, p.body)
	}
	p := alice.post("/ui/mappings/apply", alice.form("preview", field(t, pa.body, "preview")))
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Nothing was applied") {
		t.Fatalf("stale confirm: %d, want 409 saying nothing was applied\n%s", p.status, p.body)
	}
	if got, want := f.adminMappings(), []string{"Engineering→Admin"}; !slices.Equal(got, want) {
		t.Errorf("admin mappings %v, want %v", got, want)
	}
	if got := f.roles("farid.haddad@example.com"); !slices.Equal(got, []string{"Viewer"}) {
		t.Errorf("farid has %v: the stale preview was applied", got)
	}
}

func TestEditRemoveReorder(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	apply := func(kv ...string) string {
		t.Helper()
		p := c.post("/ui/mappings/preview", c.form(kv...))
		if p.status != http.StatusOK {
			t.Fatalf("preview %v: %d\n%s", kv, p.status, p.body)
		}
		if p := c.post("/ui/mappings/apply", c.form("preview", field(t, p.body, "preview"))); p.status != http.StatusSeeOther {
			t.Fatalf("confirm %v: %d\n%s", kv, p.status, p.body)
		}
		return strings.Join(f.adminMappings(), " ")
	}
	apply("op", "add", "group", "Sales", "role", "CSM")
	apply("op", "add", "group", "Engineering", "role", "Admin")
	if got, want := apply("op", "move", "dir", "up", "index", "1", "old_group", "Engineering", "old_role", "Admin"),
		"Engineering→Admin Sales→CSM"; got != want {
		t.Errorf("after moving up: %s, want %s", got, want)
	}
	if got, want := apply("op", "edit", "index", "1", "old_group", "Sales", "old_role", "CSM", "group", "Sales", "role", "Viewer"),
		"Engineering→Admin Sales→Viewer"; got != want {
		t.Errorf("after editing: %s, want %s", got, want)
	}
	if got, want := apply("op", "remove", "index", "0", "old_group", "Engineering", "old_role", "Admin"),
		"Sales→Viewer"; got != want {
		t.Errorf("after removing: %s, want %s", got, want)
	}

	// Refused edits: the page re-renders with the reason, nothing changes.
	for _, tt := range []struct {
		name   string
		form   []string
		status int
		says   string
	}{
		{"unknown role", []string{"op", "add", "group", "Sales", "role", "Owner"}, http.StatusBadRequest, `&#34;Owner&#34; is not a role: pick one of Admin, CSM, Viewer`},
		{"duplicate", []string{"op", "add", "group", "Sales", "role", "Viewer"}, http.StatusBadRequest, "Sales → Viewer is mapped already (mapping 3, here)"},
		{"duplicate of config", []string{"op", "add", "group", "ph-admin", "role", "Admin"}, http.StatusBadRequest, "ph-admin → Admin is mapped already (mapping 1, in config.toml)"},
		{"edit into a duplicate", []string{"op", "edit", "index", "0", "old_group", "Sales", "old_role", "Viewer", "group", "ph-csm", "role", "CSM"}, http.StatusBadRequest, "ph-csm → CSM is mapped already (mapping 2, in config.toml)"},
		{"edit to an unknown role", []string{"op", "edit", "index", "0", "old_group", "Sales", "old_role", "Viewer", "group", "Sales", "role", "Owner"}, http.StatusBadRequest, "is not a role"},
		{"no group", []string{"op", "add", "group", " ", "role", "CSM"}, http.StatusBadRequest, "needs a group"},
		{"no role", []string{"op", "add", "group", "Sales", "role", ""}, http.StatusBadRequest, "needs a group and a role"},
		{"page out of date", []string{"op", "remove", "index", "0", "old_group", "Engineering", "old_role", "Admin"}, http.StatusConflict, "changed since this page was loaded"},
		{"index out of range", []string{"op", "remove", "index", "7", "old_group", "Sales", "old_role", "Viewer"}, http.StatusConflict, "changed since"},
		{"cannot move", []string{"op", "move", "dir", "up", "index", "0", "old_group", "Sales", "old_role", "Viewer"}, http.StatusBadRequest, "cannot move"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := c.post("/ui/mappings/preview", c.form(tt.form...))
			if p.status != tt.status || !strings.Contains(p.body, tt.says) {
				t.Errorf("%d, want %d saying %q\n%s", p.status, tt.status, tt.says, p.body)
			}
			// The UI's words, not the CLI's or the API's.
			if strings.Contains(p.body, "CLI/API") || strings.Contains(p.body, "stored in the database") {
				t.Errorf("the refusal speaks of the CLI/API:\n%s", p.body)
			}
			if got := strings.Join(f.adminMappings(), " "); got != "Sales→Viewer" {
				t.Errorf("mappings changed to %s", got)
			}
		})
	}
}

func TestMappingsPage(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	p := c.post("/ui/mappings/preview", c.form("op", "add", "group", "Nobody-reports-this", "role", "CSM"))
	if !strings.Contains(p.body, "No user&#39;s roles change.") {
		t.Errorf("a mapping of an unreported group: the preview does not say nothing changes\n%s", p.body)
	}
	c.post("/ui/mappings/apply", c.form("preview", field(t, p.body, "preview")))

	page := c.get("/ui/mappings")
	if page.status != http.StatusOK {
		t.Fatalf("GET /ui/mappings: %d", page.status)
	}
	body := page.body
	// Config mappings are read-only: no edit form names them.
	list := body[strings.Index(body, `<ol class="mappings"`):strings.Index(body, "</ol>")]
	if n := strings.Count(list, "managed by config"); n != 2 {
		t.Errorf("%d mappings marked managed by config, want 2", n)
	}
	if strings.Contains(body, `name="old_group" value="ph-admin"`) {
		t.Error("a config mapping has an edit form")
	}
	if !strings.Contains(body, `name="old_group" value="Nobody-reports-this"`) {
		t.Error("the admin mapping has no edit form")
	}
	// The group no source reports is flagged; the picker offers the
	// reported groups with their member counts.
	if n := strings.Count(body, "no source reports this group"); n != 1 {
		t.Errorf("%d mappings flagged as unreported, want 1", n)
	}
	for _, want := range []string{
		`<option value="Sales" label="hr: 3 direct members">`,
		`<option value="ph-csm" label="hr: 2 direct members, 1 nested group">`,
		"hr: 2 direct members + 1 nested group", // the config mapping of ph-csm
		"Default role", "Viewer",
		// The role of a new mapping is chosen, never preselected.
		`<select id="add-role" name="role" required><option value="" selected>Choose a role…</option><option>Admin</option><option>CSM</option><option>Viewer</option></select>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the mappings page lacks %q", want)
		}
	}
	// Every input has a label.
	for _, id := range []string{"add-group", "add-role", "g3", "r3"} {
		if !strings.Contains(body, `for="`+id+`"`) || !strings.Contains(body, `id="`+id+`"`) {
			t.Errorf("input %s has no label", id)
		}
	}
}
