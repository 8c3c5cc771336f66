package webui_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/webui"
)

// sourceRow returns the text of a source's row of the overview.
func sourceRow(t *testing.T, p page, name string) string {
	t.Helper()
	i := strings.Index(p.body, `<th scope="row">`+name+` `)
	if i < 0 {
		t.Fatalf("no row for source %s\n%s", name, p.body)
	}
	row := p.body[i:]
	return row[:strings.Index(row, "</tr>")]
}

// TestSyncNowInBackground: "Sync now" answers while the run goes on; the
// overview shows it running; its outcome comes on the next page once it
// ends.
func TestSyncNowInBackground(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	release := f.control.hold(t)
	// The run is held until release: an answer now means the request did
	// not wait for it.
	if p := c.post("/ui/sources/hr/sync", c.form()); p.status != http.StatusSeeOther || p.location != "/ui/" {
		t.Fatalf("sync now: %d → %q", p.status, p.location)
	}
	p := c.get("/ui/")
	contains(t, p, "Sync of hr started: its outcome shows here when it ends.")
	row := sourceRow(t, p, "hr")
	if !strings.Contains(row, "running now") || !strings.Contains(row, `disabled aria-label="Sync hr now"`) {
		t.Errorf("the overview does not show hr running, with Sync now disabled:\n%s", row)
	}
	// A second click while it runs starts nothing.
	c.post("/ui/sources/hr/sync", c.form())
	contains(t, c.get("/ui/"), "A sync of hr is already running")
	release()
	f.waitSyncs()
	p = c.get("/ui/")
	contains(t, p, "Synced hr: no changes.")
	if row := sourceRow(t, p, "hr"); strings.Contains(row, "running now") {
		t.Errorf("hr still shown running after its run:\n%s", row)
	}
	if runs, _ := f.store.Runs(t.Context(), "hr", 0); len(runs) != 2 {
		t.Errorf("hr ran %d times, want 2 (the fixture's and one sync now)", len(runs))
	}

	// A run the brake holds: the message links to the plan.
	f.control.hr.set(shrunk())
	c.post("/ui/sources/hr/sync", c.form())
	f.waitSyncs()
	held, err := f.store.Plans(t.Context(), reconcile.PlanFilter{Status: reconcile.StatusHeld})
	if err != nil || len(held) != 1 {
		t.Fatalf("held plans %v, %v", held, err)
	}
	p = c.get("/ui/")
	if want := fmt.Sprintf(`<a href="/ui/plans/%d">review plan %d</a>.</p>`, held[0].ID, held[0].ID); !strings.Contains(p.body, want) {
		t.Errorf("the held sync's message has no link %s\n%s", want, p.body)
	}
	if !strings.Contains(p.body, `<p id="flash" class="flash flash-error" role="alert" tabindex="-1">`) {
		t.Error("the message cannot take focus")
	}

	// What cannot start is refused at once, and nothing runs.
	if err := f.control.SetEnabled(t.Context(), "hr", false, "test"); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"hr": "Sync of hr refused: the source is switched off.", "scim": "Sync of scim refused: it is a SCIM source",
		"nope": "Sync of nope refused: there is no such source.",
	} {
		c.post("/ui/sources/"+name+"/sync", c.form())
		contains(t, c.get("/ui/"), want)
	}
	f.waitSyncs()
	if runs, _ := f.store.Runs(t.Context(), "hr", 0); len(runs) != 3 {
		t.Errorf("hr ran %d times, want 3", len(runs))
	}
}

// TestConfigTokenActivity: tokens config.toml gives are listed with their
// last use as the daemon saw it; they count as tokens.
func TestConfigTokenActivity(t *testing.T) {
	f := newFixtureOpts(t, fixtureOptions{noStoreToken: true})
	c := f.client().signIn(password)
	contains(t, c.get("/ui/"), "No SCIM tokens yet.")

	f.setConfigTokens(
		webui.TokenActivity{Source: "scim", Key: "token_file"},
		webui.TokenActivity{Source: "scim", Key: "token_env", LastUsed: time.Now().Add(-2 * time.Minute)},
	)
	p := c.get("/ui/")
	contains(t, p, "config token (token_env) scim in config.toml 2 minutes ago valid",
		"config token (token_file) scim in config.toml never valid",
		"The use of a config token is kept in memory only")
	if strings.Contains(p.body, "No SCIM tokens yet") {
		t.Error("the overview says there are no SCIM tokens")
	}
	if row := text(sourceRow(t, p, "scim")); !strings.Contains(row, "last request 2 minutes ago") {
		t.Errorf("the scim row does not show the config token's last request: %q", row)
	}
}

// TestOverviewHeldThenDecided: a last run the brake held shows what became
// of its plan: applied once approved, discarded; the counts in the tense
// that fits.
func TestOverviewHeldThenDecided(t *testing.T) {
	for _, tt := range []struct {
		decide  string
		outcome string
		summary string
	}{
		{"approve", "applied", "3 deactivated"},
		{"discard", "discarded", "would deactivate 3"},
	} {
		t.Run(tt.decide, func(t *testing.T) {
			f := newFixture(t)
			held := f.heldPlan()
			c := f.client().signIn(password)
			row := text(sourceRow(t, c.get("/ui/"), "hr"))
			if !strings.Contains(row, "· held would deactivate 3") {
				t.Errorf("before: %q, want held, would deactivate 3", row)
			}
			if p := c.post(fmt.Sprintf("/ui/plans/%d/%s", held, tt.decide), c.form()); p.status != http.StatusSeeOther {
				t.Fatalf("%s: %d", tt.decide, p.status)
			}
			p := c.get("/ui/")
			row = sourceRow(t, p, "hr")
			for _, want := range []string{
				fmt.Sprintf(`<span class="badge badge-%s">%s</span>`, tt.outcome, tt.outcome),
				"(held by the safety brake, then " + map[string]string{"approve": "approved", "discard": "discarded"}[tt.decide] + ")",
				tt.summary,
			} {
				if !strings.Contains(row, want) {
					t.Errorf("after %s, the hr row lacks %q:\n%s", tt.decide, want, row)
				}
			}
			if strings.Contains(row, "badge-held") {
				t.Errorf("after %s, the hr row still says held:\n%s", tt.decide, row)
			}
			if strings.Contains(p.body, "Plans held for approval") {
				t.Error("the plan is still listed as held")
			}
		})
	}
}

// TestFlashTakesFocus: a page with a message marks it to take focus (the
// script focuses it; the browser test checks that it does).
func TestFlashTakesFocus(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	c.confirm(c.preview(http.StatusOK, "op", "add", "group", "Sales", "role", "CSM"))
	p := c.get("/ui/mappings")
	if !strings.Contains(p.body, `<p id="flash" class="flash" role="status" tabindex="-1">Applied: add mapping Sales → CSM`) {
		t.Errorf("no focusable message:\n%s", p.body)
	}
	js := c.get("/ui/assets/app.js")
	if !strings.Contains(js.body, `document.getElementById("flash")`) || !strings.Contains(js.body, ".focus()") {
		t.Error("app.js does not move focus to the message")
	}
	// The preview's report scrolls: it takes focus, to be scrolled by keyboard.
	pv := c.preview(http.StatusOK, "op", "add", "group", "Engineering", "role", "CSM")
	if !strings.Contains(pv.body, `<pre class="report" tabindex="0" aria-label="The plan's report">`) {
		t.Error("the preview's report cannot be reached by keyboard")
	}
}
