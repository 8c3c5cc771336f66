package webui_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

var (
	inlineTags = regexp.MustCompile(`</?(strong|span|a|time|code|em)\b[^>]*>`)
	tags       = regexp.MustCompile(`<[^>]*>`)
)

// text is a page's text, as a reader sees it: no tags, no entities, one
// space between words.
func text(body string) string {
	body = tags.ReplaceAllString(inlineTags.ReplaceAllString(body, ""), " ")
	return strings.Join(strings.Fields(html.UnescapeString(body)), " ")
}

// contains checks that a page answered 200 and says each of want.
func contains(t *testing.T, p page, want ...string) {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("status %d, want 200\n%s", p.status, p.body)
	}
	body := text(p.body)
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("the page does not say %q", w)
		}
	}
}

func TestOverview(t *testing.T) {
	f := newFixture(t)
	held := f.heldPlan()
	c := f.client().signIn(password)
	contains(t, c.get("/ui/"),
		"Plans held for approval (1)", fmt.Sprintf("Plan %d", held),
		"hr", "@every 15m", "held", "scim", "pushed by the IdP",
		"SCIM push activity", "tok_", "3 minutes ago", "Sync now")

	// The switch: off, then on.
	if p := c.get("/ui/"); !strings.Contains(p.body, `role="switch" aria-checked="true" aria-label="Provisioning from scim"`) {
		t.Error("no switch shows scim enabled")
	}
	if p := c.post("/ui/sources/scim/enabled", c.form("enabled", "false")); p.status != http.StatusSeeOther || f.control.isEnabled("scim") {
		t.Fatalf("disable scim: %d, enabled %v", p.status, f.control.isEnabled("scim"))
	}
	contains(t, c.get("/ui/"), "Source scim is disabled")
	if p := c.post("/ui/sources/scim/enabled", c.form("enabled", "true")); p.status != http.StatusSeeOther || !f.control.isEnabled("scim") {
		t.Fatalf("enable scim: %d, enabled %v", p.status, f.control.isEnabled("scim"))
	}

	// Sync now: the source's directory is the demo one again, as stored:
	// nothing to do.
	f.control.hr.set(demoDirectory())
	if p := c.post("/ui/sources/hr/sync", c.form()); p.status != http.StatusSeeOther {
		t.Fatalf("sync now: %d", p.status)
	}
	f.waitSyncs()
	contains(t, c.get("/ui/"), "Synced hr: no changes.")
	if p := c.post("/ui/sources/scim/sync", c.form()); p.status != http.StatusSeeOther {
		t.Fatalf("sync of a push source: %d", p.status)
	}
	contains(t, c.get("/ui/"), "Sync of scim refused")
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	tests := []struct {
		query     string
		want, not []string
	}{
		{"", []string{"ann.lee@example.com", "grace.oneil@example.com"}, []string{"hiro.tanaka"}},
		{"?q=CHLO", []string{"chloe.martin@example.com"}, []string{"ann.lee"}},
		{"?q=Chloé", []string{"chloe.martin@example.com"}, []string{"ann.lee"}},
		{"?role=Admin", []string{"ann.lee@example.com", "bruno.costa@example.com"}, []string{"chloe.martin"}},
		{"?role=Viewer&source=hr&active=active", []string{"farid.haddad@example.com", "grace.oneil@example.com"}, []string{"ann.lee"}},
		{"?active=inactive", []string{"No user matches."}, []string{"ann.lee"}},
		{"?source=nobody", []string{"No user matches."}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p := c.get("/ui/users" + tt.query)
			contains(t, p, tt.want...)
			for _, n := range tt.not {
				if strings.Contains(p.body, n) {
					t.Errorf("lists %q", n)
				}
			}
		})
	}
}

func TestUsersPaged(t *testing.T) {
	f := newFixture(t)
	d := demoDirectory()
	for i := range 120 {
		d.Users = append(d.Users, reconcile.User{ID: fmt.Sprintf("x%03d", i), UserName: fmt.Sprintf("user%03d@example.com", i), Active: true})
	}
	f.control.hr.set(d)
	if _, err := f.engine.Sync(t.Context(), f.control.hr, reconcile.SyncOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	c := f.client().signIn(password)
	p := c.get("/ui/users?q=user")
	contains(t, p, "user000@example.com", "user049@example.com", "Next →")
	if strings.Contains(p.body, "user050@") || strings.Contains(p.body, "Previous") {
		t.Error("page 1 shows more than 50 users, or a previous page")
	}
	contains(t, c.get("/ui/users?page=3&q=user"), "user100@example.com", "user119@example.com", "← Previous")
	if p := c.get("/ui/users?page=3&q=user"); strings.Contains(p.body, "Next →") {
		t.Error("the last page links to a next one")
	}
}

func TestUserPage(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	u, err := f.store.User(t.Context(), "dev.patel@example.com")
	if err != nil {
		t.Fatal(err)
	}
	contains(t, c.get("/ui/users/"+u.ID),
		"dev.patel@example.com", "Dev Patel", "Source", "hr",
		"CSM: member of ph-csm (through Engineering, nested in it)",
		"History", "create dev.patel@example.com source hr schedule")
	farid, _ := f.store.User(t.Context(), "farid.haddad@example.com")
	contains(t, c.get("/ui/users/"+farid.ID), "the default role, because none of the user's groups is mapped")
	if p := c.get("/ui/users/nobody"); p.status != http.StatusNotFound {
		t.Errorf("unknown user: %d, want 404", p.status)
	}
}

func TestPlans(t *testing.T) {
	f := newFixture(t)
	held := f.heldPlan()
	c := f.client().signIn(password)
	path := fmt.Sprintf("/ui/plans/%d", held)
	// Nothing of a held plan happened: its summary says what it would do.
	plans := c.get("/ui/plans")
	contains(t, plans, "Waiting: held and dry-run plans (1)", fmt.Sprintf("Plan %d", held), "would deactivate 3")
	if strings.Contains(plans.body, "3 deactivated") {
		t.Error("the held plan's summary says it deactivated users")
	}
	p := c.get(path)
	contains(t, p, "HELD by the safety brake", "Deactivations (3)", "farid.haddad@example.com",
		"Approve and apply plan", "Discard")
	// Approving asks first, naming what it does.
	if want := fmt.Sprintf(`data-confirm="Approve plan %d and apply it now? It will deactivate 3, change 2 groups (source hr), past the safety brake."`, held); !strings.Contains(p.body, want) {
		t.Errorf("the approve form does not ask %s\n%s", want, p.body)
	}

	for format, want := range map[string]string{"json": `"status": "held"`, "markdown": "| Deactivations | 3 |", "text": "Deactivations (3)"} {
		p := c.get(path + "/report?format=" + format)
		if p.status != http.StatusOK || !strings.Contains(p.body, want) {
			t.Errorf("report as %s: %d, lacks %q", format, p.status, want)
		}
	}

	if p := c.post(path+"/approve", c.form()); p.status != http.StatusSeeOther || p.location != path {
		t.Fatalf("approve: %d → %q", p.status, p.location)
	}
	contains(t, c.get(path), fmt.Sprintf("Plan %d applied.", held), fmt.Sprintf("Plan %d applied", held))
	contains(t, c.get("/ui/plans"), "3 deactivated")
	if u, _ := f.store.User(t.Context(), "farid.haddad@example.com"); u.Active {
		t.Error("farid is still active after the approval")
	}
	// Approved once: a second approval is refused, cleanly.
	c.post(path+"/approve", c.form())
	contains(t, c.get(path), "Nothing was applied: plan")

	// Discard another held plan.
	f.control.hr.set(&reconcile.Directory{})
	second, err := f.engine.Sync(t.Context(), f.control.hr, reconcile.SyncOptions{Actor: "schedule"})
	if err != nil || second.Status != reconcile.StatusHeld {
		t.Fatalf("second held plan: %v, %v", second, err)
	}
	if r := c.post(fmt.Sprintf("/ui/plans/%d/discard", second.ID), c.form()); r.status != http.StatusSeeOther {
		t.Fatalf("discard: %d", r.status)
	}
	if got, _ := f.store.Plan(t.Context(), second.ID); got.Status != reconcile.StatusDiscarded {
		t.Errorf("plan %d is %s, want discarded", second.ID, got.Status)
	}
	if r := c.get("/ui/plans/999"); r.status != http.StatusNotFound {
		t.Errorf("unknown plan: %d, want 404", r.status)
	}
}

func TestChanges(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	contains(t, c.get("/ui/changes"), "Change log", "ann.lee@example.com", "schedule")
	pv := c.post("/ui/mappings/preview", c.form("op", "add", "group", "Sales", "role", "Admin"))
	c.post("/ui/mappings/apply", c.form("preview", field(t, pv.body, "preview")))
	p := c.get("/ui/changes?kind=grant&user=farid.haddad@example.com")
	contains(t, p, "grant farid.haddad@example.com Admin: member of Sales ui:password")
	if strings.Contains(p.body, "emma.schmidt") || strings.Contains(p.body, "Viewer: a mapped role") {
		t.Error("the user filter lists another user's changes")
	}
	contains(t, c.get("/ui/changes?user=nobody"), `No user "nobody"`)
	contains(t, c.get("/ui/changes?kind=group-create"), "group-create Sales 3 members schedule")
	p = c.get("/ui/changes?actor=someone-else")
	contains(t, p, "No changes.")
}

func TestAssetsAndHeaders(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	for _, path := range []string{"/ui/assets/app.css", "/ui/assets/app.js"} {
		if p := c.get(path); p.status != http.StatusOK || len(p.body) < 100 {
			t.Errorf("%s: %d, %d bytes", path, p.status, len(p.body))
		}
	}
	resp, err := http.Get(f.srv.URL + "/ui/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, want := range map[string]string{
		"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if p := f.client().signIn(password).get("/ui/nowhere"); p.status != http.StatusNotFound {
		t.Errorf("unknown page: %d, want 404", p.status)
	}
}
