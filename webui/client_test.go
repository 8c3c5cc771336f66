package webui_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// client is a browser stand-in: it keeps cookies and does not follow
// redirects, so tests see them.
type client struct {
	t    testing.TB
	base string
	http *http.Client
	csrf string // the session's CSRF token, once signed in
}

func (f *fixture) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return &client{t: f.t, base: f.srv.URL, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is a response with its body read.
type page struct {
	status   int
	location string
	body     string
}

func (c *client) do(req *http.Request) page {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}
}

func (c *client) get(path string) page {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a form as is: add "csrf" to it to send the token.
func (c *client) post(path string, form url.Values) page {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// form returns the values plus the session's CSRF token.
func (c *client) form(kv ...string) url.Values {
	v := url.Values{"csrf": {c.csrf}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// field returns the value of the first hidden input named name in body.
func field(t testing.TB, body, name string) string {
	t.Helper()
	re := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no field %q in the page:\n%s", name, body)
	}
	return m[1]
}

// trySignIn loads the sign-in form and sends secret with it.
func (c *client) trySignIn(secret string) page {
	c.t.Helper()
	p := c.get("/ui/signin")
	if p.status != http.StatusOK {
		c.t.Fatalf("GET /ui/signin: %d", p.status)
	}
	return c.post("/ui/signin", url.Values{"csrf": {field(c.t, p.body, "csrf")}, "secret": {secret}, "next": {"/"}})
}

// signIn signs in and keeps the session's CSRF token.
func (c *client) signIn(secret string) *client {
	c.t.Helper()
	p := c.trySignIn(secret)
	if p.status != http.StatusSeeOther || p.location != "/ui/" {
		c.t.Fatalf("sign in: %d → %q, want 303 → /ui/\n%s", p.status, p.location, p.body)
	}
	home := c.get("/ui/")
	m := csrfField.FindStringSubmatch(home.body)
	if home.status != http.StatusOK || m == nil {
		c.t.Fatalf("overview after sign-in: %d, no CSRF token\n%s", home.status, home.body)
	}
	c.csrf = m[1]
	return c
}

// signedIn reports whether the client's session is live: the overview
// answers instead of sending it to sign in.
func (c *client) signedIn() bool {
	c.t.Helper()
	p := c.get("/ui/")
	return p.status == http.StatusOK
}

func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.base + "/ui/")
	for _, k := range c.http.Jar.Cookies(u) {
		if k.Name == name {
			return k
		}
	}
	return nil
}

func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(c.base + "/ui/")
	c.http.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/ui"}})
}

// buttonLabel finds buttons with an aria-label: the label, then the text.
var buttonLabel = regexp.MustCompile(`<button type="submit" aria-label="([^"]*)">([^<]*)</button>`)
