package webui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/webui"
)

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		secret string
		ok     bool
	}{
		{"password", password, true},
		{"admin token", adminToken, true},
		{"wrong password", "correct horse battery stapler", false},
		{"token without the admin scope", readToken, false},
		{"empty", "", false},
		{"password with another case", strings.ToUpper(password), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := f.client()
			p := c.trySignIn(tt.secret)
			if tt.ok {
				if p.status != http.StatusSeeOther || p.location != "/ui/" {
					t.Fatalf("sign-in: %d → %q, want 303 → /ui/", p.status, p.location)
				}
				k := c.cookie("idpsync_session")
				if k == nil || len(k.Value) < 43 {
					t.Fatalf("session cookie %v, want a 32-byte random id", k)
				}
				if !c.signedIn() {
					t.Error("not signed in after a successful sign-in")
				}
				return
			}
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "not accepted") {
				t.Errorf("sign-in: %d, want 401 with a message\n%s", p.status, p.body)
			}
			if c.cookie("idpsync_session") != nil || c.signedIn() {
				t.Error("a refused sign-in started a session")
			}
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	p := c.get("/ui/signin")
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/ui/signin",
		strings.NewReader(url.Values{"csrf": {field(t, p.body, "csrf")}, "secret": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == "idpsync_session" {
			session = k
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/ui" {
		t.Errorf("session cookie: HttpOnly %v, SameSite %v, Path %q; want HttpOnly, Strict, /ui",
			session.HttpOnly, session.SameSite, session.Path)
	}
	if session.Secure {
		t.Error("Secure set although Options.Secure is false")
	}
}

func TestSignInFormNeedsItsToken(t *testing.T) {
	f := newFixture(t)
	for _, token := range []string{"", "forged"} {
		c := f.client()
		c.get("/ui/signin") // sets the sign-in cookie
		p := c.post("/ui/signin", url.Values{"csrf": {token}, "secret": {password}})
		if p.status != http.StatusForbidden || c.signedIn() {
			t.Errorf("sign-in with token %q: %d, signed in %v; want 403, not signed in", token, p.status, c.signedIn())
		}
	}
}

func TestSignInRateLimited(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	for i := range 10 {
		if p := c.trySignIn(fmt.Sprintf("guess %d", i)); p.status != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d: %d, want 401", i+1, p.status)
		}
	}
	if p := c.trySignIn(password); p.status != http.StatusTooManyRequests || c.signedIn() {
		t.Fatalf("after 10 failures, the right password: %d; want 429 and no session", p.status)
	}
	f.clock.advance(11 * time.Minute)
	if p := c.trySignIn(password); p.status != http.StatusSeeOther {
		t.Errorf("once the window passed: %d, want 303", p.status)
	}
}

func TestSignOut(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	old := c.cookie("idpsync_session").Value
	if p := c.post("/ui/signout", c.form()); p.status != http.StatusSeeOther || p.location != "/ui/signin" {
		t.Fatalf("sign-out: %d → %q", p.status, p.location)
	}
	if c.signedIn() {
		t.Error("still signed in after signing out")
	}
	c.setCookie("idpsync_session", old) // a copy of the cookie kept elsewhere
	if c.signedIn() {
		t.Error("the old session id still works after signing out")
	}
}

func TestExpiredSession(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		f := newFixture(t)
		c := f.client().signIn(password)
		f.clock.advance(29 * time.Minute)
		if !c.signedIn() {
			t.Fatal("session ended before its idle time")
		}
		f.clock.advance(31 * time.Minute)
		p := c.get("/ui/users")
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/signin") {
			t.Fatalf("idle session: %d → %q, want a redirect to sign in", p.status, p.location)
		}
		// A form sent with it does nothing.
		p = c.post("/ui/sources/hr/enabled", c.form("enabled", "false"))
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/signin") || !f.control.isEnabled("hr") {
			t.Errorf("POST with an expired session: %d → %q, hr enabled %v; want sign-in, nothing changed",
				p.status, p.location, f.control.isEnabled("hr"))
		}
	})
	t.Run("absolute", func(t *testing.T) {
		f := newFixture(t)
		c := f.client().signIn(password)
		for range 8*3 - 1 { // used every 20 minutes for 7h40
			f.clock.advance(20 * time.Minute)
			if !c.signedIn() {
				t.Fatal("session ended early")
			}
		}
		f.clock.advance(20 * time.Minute)
		if p := c.get("/ui/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/signin") {
			t.Errorf("session past its maximum age: %d → %q, want a redirect to sign in", p.status, p.location)
		}
	})
}

func TestForgedCookie(t *testing.T) {
	f := newFixture(t)
	real := f.client().signIn(password)
	id := real.cookie("idpsync_session").Value
	flipped := []byte(id)
	flipped[5] ^= 1
	for name, value := range map[string]string{
		"random":    "dGhpcyBpcyBub3QgYSBzZXNzaW9uIGlkIGF0IGFsbCEhIQ",
		"one bit":   string(flipped),
		"truncated": id[:len(id)-1],
	} {
		t.Run(name, func(t *testing.T) {
			c := f.client()
			c.setCookie("idpsync_session", value)
			c.csrf = real.csrf // even with a valid form token
			if p := c.get("/ui/users"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/signin") {
				t.Errorf("GET: %d → %q, want a redirect to sign in", p.status, p.location)
			}
			p := c.post("/ui/mappings/preview", c.form("op", "add", "group", "Sales", "role", "CSM"))
			if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/signin") {
				t.Errorf("POST: %d → %q, want a redirect to sign in", p.status, p.location)
			}
			c.post("/ui/sources/hr/enabled", c.form("enabled", "false"))
			if !f.control.isEnabled("hr") {
				t.Error("a forged cookie disabled a source")
			}
		})
	}
}

// TestCSRF sends each state-changing form without its token and with a
// wrong one: 403, and nothing changes.
func TestCSRF(t *testing.T) {
	f := newFixture(t)
	held := f.heldPlan()
	c := f.client().signIn(password)
	// A preview waiting for confirmation, to try to confirm.
	p := c.post("/ui/mappings/preview", c.form("op", "add", "group", "Sales", "role", "CSM"))
	if p.status != http.StatusOK {
		t.Fatalf("preview: %d\n%s", p.status, p.body)
	}
	preview := field(t, p.body, "preview")
	forms := []struct {
		path string
		form []string
	}{
		{"/ui/mappings/apply", []string{"preview", preview}},
		{"/ui/mappings/preview", []string{"op", "add", "group", "Sales", "role", "Admin"}},
		{fmt.Sprintf("/ui/plans/%d/approve", held), nil},
		{fmt.Sprintf("/ui/plans/%d/discard", held), nil},
		{"/ui/sources/hr/enabled", []string{"enabled", "false"}},
		{"/ui/sources/hr/sync", nil},
		{"/ui/signout", nil},
	}
	for _, form := range forms {
		for _, token := range []string{"", "wrong", c.csrf[:len(c.csrf)-1]} {
			t.Run(form.path+"/"+token, func(t *testing.T) {
				v := c.form(form.form...)
				if token == "" {
					v.Del("csrf")
				} else {
					v.Set("csrf", token)
				}
				if p := c.post(form.path, v); p.status != http.StatusForbidden {
					t.Errorf("%d, want 403", p.status)
				}
			})
		}
	}
	// Nothing changed.
	if got := f.adminMappings(); len(got) != 0 {
		t.Errorf("admin mappings %v, want none", got)
	}
	if pl, err := f.store.Plan(t.Context(), held); err != nil || pl.Status != reconcile.StatusHeld {
		t.Errorf("held plan: %v, %v; want still held", pl.Status, err)
	}
	if !f.control.isEnabled("hr") {
		t.Error("hr was disabled")
	}
	if runs, _ := f.store.Runs(t.Context(), "hr", 0); len(runs) != 2 {
		t.Errorf("hr ran %d times, want 2 (the fixture's)", len(runs))
	}
	if !c.signedIn() {
		t.Error("signed out by a form without its token")
	}
	if got := f.roles("farid.haddad@example.com"); !slices.Equal(got, []string{"Viewer"}) {
		t.Errorf("farid's roles %v, want [Viewer]", got)
	}
}

// TestCrossSiteFormRefused: a browser's cross-site post is refused before
// its token is even checked.
func TestCrossSiteFormRefused(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(password)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/ui/sources/hr/enabled",
		strings.NewReader(c.form("enabled", "false").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := c.do(req); p.status != http.StatusForbidden || !f.control.isEnabled("hr") {
		t.Errorf("cross-site post: %d, hr enabled %v; want 403, unchanged", p.status, f.control.isEnabled("hr"))
	}
}

func TestNextStaysOnTheUI(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	if p := c.get("/ui/users?q=ann"); p.location != "/ui/signin?next=%2Fusers%3Fq%3Dann" {
		t.Errorf("redirect to sign in: %q", p.location)
	}
	for next, want := range map[string]string{
		"/users?q=ann":         "/ui/users?q=ann",
		"//evil.example/x":     "/ui/",
		"https://evil.example": "/ui/",
		"/\\evil.example":      "/ui/",
	} {
		c := f.client()
		p := c.get("/ui/signin")
		p = c.post("/ui/signin", url.Values{"csrf": {field(t, p.body, "csrf")}, "secret": {password}, "next": {next}})
		if p.location != want {
			t.Errorf("next %q: redirected to %q, want %q", next, p.location, want)
		}
	}
}

func TestNewChecksOptions(t *testing.T) {
	f := newFixture(t)
	good := webui.Options{Engine: f.engine, Store: f.store, Queries: f.store, Control: f.control, PasswordHash: "$2y$05$kZrXaBua4SjW4f4GoOZavuP7bCsSzy6F57RpQlEVrTT9uQnhLTNB6"}
	if _, err := webui.New(good); err != nil {
		t.Fatalf("New(%+v): %v", good, err)
	}
	for name, edit := range map[string]func(o *webui.Options){
		"no engine":            func(o *webui.Options) { o.Engine = nil },
		"no control":           func(o *webui.Options) { o.Control = nil },
		"no way to sign in":    func(o *webui.Options) { o.PasswordHash = "" },
		"a password, not hash": func(o *webui.Options) { o.PasswordHash = "hunter2" },
	} {
		o := good
		edit(&o)
		if _, err := webui.New(o); reconcile.ErrorKind(err) != reconcile.EINVALID {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

// TestTokenSession: a session started with an admin API token records its
// edits as ui:api:NAME, and ends once the token is revoked or loses the
// admin scope: at the next form sent, or within a minute.
func TestTokenSession(t *testing.T) {
	f := newFixture(t)
	c := f.client().signIn(adminToken)
	contains(t, c.get("/ui/"), "ui:api:ops")
	c.confirm(c.preview(http.StatusOK, "op", "add", "group", "Sales", "role", "CSM"))
	contains(t, c.get("/ui/changes?user=farid.haddad@example.com&kind=grant"), "CSM: member of Sales ui:api:ops")
	pw := f.client().signIn(password)

	f.setAPIToken(adminToken, "", "") // revoked
	if !c.signedIn() {
		t.Fatal("a page read within the minute ended the session") // the token is looked up at most once a minute
	}
	p := c.post("/ui/sources/hr/enabled", c.form("enabled", "false"))
	if p.status != http.StatusSeeOther || p.location != "/ui/signin?revoked=1" || !f.control.isEnabled("hr") {
		t.Fatalf("a form sent after the revocation: %d → %q, hr enabled %v; want the sign-in page, nothing changed",
			p.status, p.location, f.control.isEnabled("hr"))
	}
	contains(t, c.get(p.location), "the admin API token it was started with is revoked or no longer has the admin scope")
	f.setAPIToken(adminToken, "ops", "admin")
	if c.signedIn() {
		t.Error("the session came back with the token")
	}
	if !pw.signedIn() {
		t.Error("a password session ended with the token")
	}

	// Losing the admin scope ends it too, within a minute, forms or not.
	c = f.client().signIn(adminToken)
	f.setAPIToken(adminToken, "ops", "read")
	f.clock.advance(30 * time.Second)
	if !c.signedIn() {
		t.Fatal("the session ended before a minute passed")
	}
	f.clock.advance(31 * time.Second)
	if p := c.get("/ui/users"); p.status != http.StatusSeeOther || p.location != "/ui/signin?revoked=1" {
		t.Errorf("a minute after the scope was lost: %d → %q, want the sign-in page", p.status, p.location)
	}
	if !pw.signedIn() {
		t.Error("the password session ended")
	}
}
