package main

import (
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/scimserver"
	"github.com/idpsync/idpsync/webui"
)

// uiClient is a browser stand-in for the admin UI of an in-process daemon.
type uiClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newUIClient(t *testing.T, p *inProcess) *uiClient {
	jar, _ := cookiejar.New(nil)
	return &uiClient{t: t, base: "http://" + p.addr(), http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request and returns the status, the Location and the body.
func (c *uiClient) do(method, path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(form.Encode()))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, readAll(c.t, resp)
}

// signIn signs in with secret and returns the sign-in's response.
func (c *uiClient) signIn(secret string) *http.Response {
	c.t.Helper()
	_, page := c.do("GET", "/ui/signin", nil)
	resp, _ := c.do("POST", "/ui/signin", url.Values{"csrf": {hiddenValue(page, "csrf")}, "secret": {secret}})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	_, page = c.do("GET", "/ui/", nil)
	c.csrf = hiddenValue(page, "csrf")
	return resp
}

// text is a page's text without tags, one space between words.
func pageText(body string) string {
	body = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")
	return strings.Join(strings.Fields(html.UnescapeString(body)), " ")
}

// The overview lists the SCIM tokens config.toml gives, with their last
// use as the daemon saw it (config tokens have no row in the store).
func TestUIConfigTokenActivity(t *testing.T) {
	e := newEnv(t)
	t.Setenv("IDPSYNC_SCIM_TOKEN", scimToken)
	e.write("config.toml", testConfig+"[[source]]\nname = \"scim\"\ntype = \"scim\"\ntoken_env = \"IDPSYNC_SCIM_TOKEN\"\n")
	admin := strings.TrimSpace(e.mustRun("api-tokens", "create", "--name", "ops", "--scope", "admin"))
	p := startInProcess(t, e)
	c := newUIClient(t, p)
	c.signIn(admin)

	_, page := c.do("GET", "/ui/", nil)
	if text := pageText(page); !strings.Contains(text, "config token (token_env) scim in config.toml never valid") || strings.Contains(text, "No SCIM tokens yet") {
		t.Errorf("before any push, the overview says:\n%s", text)
	}
	if code := scimStatus(t, p, "ann.scim@example.com"); code != http.StatusCreated {
		t.Fatalf("SCIM POST with the config token: %d", code)
	}
	_, page = c.do("GET", "/ui/", nil)
	text := pageText(page)
	for _, want := range []string{
		"config token (token_env) scim in config.toml less than a minute ago valid",
		"pushed by the IdP last request less than a minute ago",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("after a push, the overview does not say %q:\n%s", want, text)
		}
	}
}

// A UI session started with an admin API token records its actor by the
// token's name, and ends when the token is revoked.
func TestUITokenSessionRevoked(t *testing.T) {
	e := newEnv(t)
	e.write("config.toml", testConfig)
	admin := strings.TrimSpace(e.mustRun("api-tokens", "create", "--name", "ops", "--scope", "admin"))
	p := startInProcess(t, e)
	p.log.wait(t, 0, 20*time.Second, "sync done", "trigger=start")
	c := newUIClient(t, p)
	c.signIn(admin)
	if _, page := c.do("GET", "/ui/", nil); !strings.Contains(page, "ui:api:ops") {
		t.Errorf("the UI does not name the token's holder:\n%s", page)
	}
	id := regexp.MustCompile(`(?m)^(\S+)\s+ops\s+admin`).FindStringSubmatch(e.mustRun("api-tokens", "list"))
	if id == nil {
		t.Fatal("no token ops in api-tokens list")
	}
	e.mustRun("api-tokens", "revoke", id[1])
	resp, _ := c.do("POST", "/ui/sources/hr/enabled", url.Values{"csrf": {c.csrf}, "enabled": {"false"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/ui/signin?revoked=1" {
		t.Errorf("a form after the revocation: %d → %q, want the sign-in page", resp.StatusCode, loc)
	}
	if st := status(t, p.d, "hr"); !st.Enabled {
		t.Error("a revoked token's session switched hr off")
	}
}

// [ui] secure_cookie marks the session cookie Secure although idpsync
// serves plain HTTP (TLS terminated at a proxy).
func TestUISecureCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t)
		cfg := testConfig
		if secure {
			cfg = strings.Replace(cfg, "[rules]", "[ui]\nsecure_cookie = true\n[rules]", 1)
		}
		e.write("config.toml", cfg)
		admin := strings.TrimSpace(e.mustRun("api-tokens", "create", "--name", "ops", "--scope", "admin"))
		p := startInProcess(t, e)
		var session *http.Cookie
		for _, k := range newUIClient(t, p).signIn(admin).Cookies() {
			if k.Name == "idpsync_session" {
				session = k
			}
		}
		if session == nil || session.Secure != secure {
			t.Errorf("secure_cookie = %v: session cookie %v, want Secure %v", secure, session, secure)
		}
		if err := p.stop(t); err != nil {
			t.Fatal(err)
		}
	}
}

// tokenAuth records the last use of each config token, by source and key,
// in memory; the store's tokens are not among them.
func TestConfigTokenUse(t *testing.T) {
	t.Setenv("IDPSYNC_TEST_PUSH_TOKEN", "env-token")
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Sources: []config.Source{
		{Name: "a", Type: "scim", SCIM: &scimserver.SourceConfig{TokenEnv: "IDPSYNC_TEST_PUSH_TOKEN"}},
		{Name: "b", Type: "scim", SCIM: &scimserver.SourceConfig{TokenFile: file}},
	}}
	a, err := newTokenAuth(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return at }
	want := []webui.TokenActivity{{Source: "a", Key: "token_env"}, {Source: "b", Key: "token_file"}}
	if got := a.activity(); !slices.Equal(got, want) {
		t.Fatalf("before any use: %+v, want %+v", got, want)
	}
	if source, err := a.Authenticate(t.Context(), "file-token"); err != nil || source != "b" {
		t.Fatalf("Authenticate(file token) = %q, %v", source, err)
	}
	want[1].LastUsed = at
	got := a.activity()
	if len(got) != 2 || got[0] != want[0] || got[1].Source != "b" || !got[1].LastUsed.Equal(at) {
		t.Errorf("after a use of b's token: %+v, want %+v", got, want)
	}

	// A reload builds a new tokenAuth: the uses of the tokens it keeps carry over.
	next, err := newTokenAuth(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	next.carry(a)
	if got := next.activity(); len(got) != 2 || !got[0].LastUsed.IsZero() || !got[1].LastUsed.Equal(at) {
		t.Errorf("after a reload: %+v, want b's use kept", got)
	}
}
