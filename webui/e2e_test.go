package webui_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/webui"
)

// chromium finds a Chromium or Chrome binary: $IDPSYNC_CHROMIUM, else the
// usual names on PATH (Debian's package installs /usr/bin/chromium).
func chromium() string {
	if p := os.Getenv("IDPSYNC_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser drives one headless Chromium tab against the fixture's server.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string // where screenshots go, or ""
}

func newBrowser(t *testing.T, f *fixture) *browser {
	t.Helper()
	path := chromium()
	if path == "" {
		if os.Getenv("IDPSYNC_CI") != "" {
			t.Fatal("no chromium binary found, and CI (IDPSYNC_CI) must run the browser test: apt-get install chromium")
		}
		t.Skip("no chromium binary found (apt-get install chromium, or set IDPSYNC_CHROMIUM)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 860))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelTimeout)
	return &browser{t: t, ctx: ctx, base: f.srv.URL, shots: os.Getenv("IDPSYNC_SCREENSHOTS")}
}

// load runs actions that navigate (a link followed, a form sent) and waits
// for the new page: it must answer 200 (after any redirect).
func (b *browser) load(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != 200 {
		b.t.Fatalf("%s: HTTP %d (%s)", what, resp.Status, resp.URL)
	}
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.load("open "+path, chromedp.Navigate(b.base+path))
}

// text returns the visible text of the first element sel selects.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.Join(strings.Fields(s), " ")
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// activeID returns the id of the element that has focus.
func (b *browser) activeID() string {
	b.t.Helper()
	id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil {
		b.t.Fatalf("focus: %v", err)
	}
	return id
}

// answerConfirm makes the page's next window.confirm (data-confirm's
// question) answer yes, as an admin clicking OK, and keep its question;
// asked returns it.
func (b *browser) answerConfirm() {
	b.t.Helper()
	b.do("answer confirm", chromedp.Evaluate[chromedp.Void](`window.confirm = q => { sessionStorage.setItem("asked", q); return true; }`))
}

func (b *browser) asked() string {
	b.t.Helper()
	q, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`sessionStorage.getItem("asked") || ""`))
	if err != nil {
		b.t.Fatalf("asked: %v", err)
	}
	return q
}

// unlabelled lists the page's form controls and buttons that have no
// accessible name: no label, no aria-label, no text.
const unlabelled = `[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
	.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
	.map(e => e.outerHTML)`

// shot checks that every control of the page is labelled, and saves a
// screenshot of the whole page as NAME.png when asked to.
func (b *browser) shot(name string) {
	b.t.Helper()
	bad, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](unlabelled))
	if err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
	for _, e := range bad {
		b.t.Errorf("page %s: a control has no label: %s", name, e)
	}
	if b.shots == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TestBrowser drives the UI in headless Chromium the way an admin would:
// sign in with the keyboard, map a group, read the preview, confirm, find a
// user whose role changed and why, then approve a plan the brake held. With
// IDPSYNC_SCREENSHOTS set, it saves a screenshot of each page there
// (docs/screenshots holds the README's).
func TestBrowser(t *testing.T) {
	f := newFixture(t)
	f.setConfigTokens(webui.TokenActivity{Source: "scim", Key: "token_env", LastUsed: time.Now().Add(-time.Minute)})
	b := newBrowser(t, f)

	// Sign in, by keyboard: the password field has focus; Enter sends it.
	b.open("/ui/")
	if got := b.text("h1"); got != "Sign in to idpsync" {
		t.Fatalf("an anonymous visit shows %q, want the sign-in page", got)
	}
	b.shot("signin")
	b.load("sign in", chromedp.SendKeys(chromedp.ID("secret"), password+"\r"))
	if got := b.text("h1"); got != "Overview" {
		t.Fatalf("after sign-in: %q, want the overview", got)
	}
	b.shot("overview")
	// The first Tab reaches the skip link, and focus shows.
	b.do("tab", chromedp.KeyEvent("\t"))
	focus, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`[document.activeElement.className, getComputedStyle(document.activeElement).outlineStyle]`))
	if err != nil || len(focus) != 2 || focus[0] != "skip" || focus[1] == "none" {
		t.Errorf("after one Tab, focus is on %q (%v), want the skip link, outlined", focus, err)
	}

	// Add a mapping: pick the group, the role, and preview its impact.
	b.load("open mappings", chromedp.Click(chromedp.CSS(`nav a[href="/ui/mappings"]`)))
	b.do("fill the add form",
		chromedp.SendKeys(chromedp.ID("add-group"), "Sales"),
		chromedp.SetValue(chromedp.ID("add-role"), "Admin"))
	b.load("preview", chromedp.Click(chromedp.CSS(`form.add button[type=submit]`)))
	if got, want := b.text("#impact-summary"), "2 users gain Admin, 1 loses Viewer."; got != want {
		t.Errorf("impact summary %q, want %q", got, want)
	}
	affected := b.text("table.impact tbody")
	for _, user := range []string{"emma.schmidt@example.com", "farid.haddad@example.com"} {
		if !strings.Contains(affected, user) {
			t.Errorf("the preview does not list %s: %q", user, affected)
		}
	}
	if strings.Contains(affected, "ann.lee") {
		t.Errorf("the preview lists a user it does not change: %q", affected)
	}
	if got := f.adminMappings(); len(got) != 0 {
		t.Fatalf("the preview applied something: %v", got)
	}
	b.shot("mappings-preview")

	b.load("confirm", chromedp.Click(chromedp.CSS(`form.confirm button[type=submit]`)))
	if got := b.text(".flash"); !strings.HasPrefix(got, "Applied: add mapping Sales → Admin") {
		t.Errorf("after confirming: %q", got)
	}
	// The message has focus: keyboard and screen reader users start there.
	if got := b.activeID(); got != "flash" {
		t.Errorf("after confirming, focus is on %q, want the message", got)
	}
	if got, want := f.roles("farid.haddad@example.com"), []string{"Admin"}; !slices.Equal(got, want) {
		t.Errorf("farid's roles %v, want %v", got, want)
	}
	b.shot("mappings")

	// Find farid: his role changed, and the why names the new group.
	b.load("open users", chromedp.Click(chromedp.CSS(`nav a[href="/ui/users"]`)))
	b.shot("users")
	b.load("search", chromedp.SendKeys(chromedp.ID("q"), "farid\r"))
	if got := b.text("table.users tbody"); !strings.Contains(got, "farid.haddad@example.com") || !strings.Contains(got, "Admin") {
		t.Fatalf("search for farid: %q", got)
	}
	b.load("open farid", chromedp.Click(chromedp.CSS(`table.users tbody a`)))
	if got := b.text("ul.why"); got != "Admin: member of Sales" {
		t.Errorf("why: %q, want %q", got, "Admin: member of Sales")
	}
	if got := b.text("table.changes tbody"); !strings.Contains(got, "Admin: member of Sales") || !strings.Contains(got, "ui:password") {
		t.Errorf("farid's history lacks the grant: %q", got)
	}
	b.shot("user")

	// The directory loses three people: a sync from the overview is held.
	d := demoDirectory()
	d.Users = slices.DeleteFunc(d.Users, func(u reconcile.User) bool { return u.ID == "u1001" || u.ID == "u1003" || u.ID == "u1007" })
	for i := range d.Groups {
		d.Groups[i].Members = slices.DeleteFunc(d.Groups[i].Members, func(m string) bool { return m == "u1001" || m == "u1003" || m == "u1007" })
	}
	f.control.hr.set(d)
	b.load("open overview", chromedp.Click(chromedp.CSS(`nav a[href="/ui/"]`)))
	// Sync now answers at once (the run waits here until released): the
	// overview shows it running; its outcome shows on the next page.
	release := f.control.hold(t)
	b.load("sync now", chromedp.Click(chromedp.CSS(`form[action="/ui/sources/hr/sync"] button`)))
	if got := b.text(".flash"); got != "Sync of hr started: its outcome shows here when it ends." {
		t.Fatalf("after sync now: %q", got)
	}
	if got := b.text("table.sources tbody tr"); !strings.Contains(got, "running now") {
		t.Errorf("the overview does not show hr running: %q", got)
	}
	release()
	f.waitSyncs()
	b.load("open overview", chromedp.Click(chromedp.CSS(`nav a[href="/ui/"]`)))
	held, err := f.store.Plans(t.Context(), reconcile.PlanFilter{Status: reconcile.StatusHeld})
	if err != nil || len(held) != 1 {
		t.Fatalf("held plans: %v, %v", held, err)
	}
	id := held[0].ID
	if got := b.text(".flash"); !strings.Contains(got, "held by the safety brake") || !strings.HasSuffix(got, fmt.Sprintf("review plan %d.", id)) {
		t.Fatalf("after the sync: %q", got)
	}
	b.load("open the held plan", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#flash a[href="/ui/plans/%d"]`, id))))
	if got := b.text("pre.report"); !strings.Contains(got, "Deactivations (3)") || !strings.Contains(got, "grace.oneil@example.com") {
		t.Errorf("the held plan's report: %q", got)
	}
	b.shot("plan")
	// Approving asks first, saying what it does; the admin accepts.
	b.answerConfirm()
	b.load("approve", chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)))
	if got, want := b.asked(), fmt.Sprintf("Approve plan %d and apply it now? It will deactivate 3", id); !strings.HasPrefix(got, want) {
		t.Errorf("approving asks %q, want it to start %q", got, want)
	}
	if got := b.text(".flash"); !strings.HasPrefix(got, fmt.Sprintf("Plan %d applied.", id)) {
		t.Errorf("after approving: %q", got)
	}
	if p, err := f.store.Plan(t.Context(), id); err != nil || p.Status != reconcile.StatusApplied {
		t.Errorf("plan %d after approval: %v, %v", id, p, err)
	}
	if u, err := f.store.User(t.Context(), "grace.oneil@example.com"); err != nil || u.Active {
		t.Errorf("grace after approval: %+v, %v; want inactive", u, err)
	}

	b.load("open plans", chromedp.Click(chromedp.CSS(`nav a[href="/ui/plans"]`)))
	b.shot("plans")
	b.load("open changes", chromedp.Click(chromedp.CSS(`nav a[href="/ui/changes"]`)))
	if got := b.text("table.changes tbody"); !strings.Contains(got, "deactivate") {
		t.Errorf("the change log lacks the deactivations: %q", got)
	}
	b.shot("changes")

	// Sign out: the UI asks to sign in again.
	b.load("sign out", chromedp.Click(chromedp.CSS(`form.signout button`)))
	if got := b.text("h1"); got != "Sign in to idpsync" {
		t.Errorf("after signing out: %q", got)
	}
}
