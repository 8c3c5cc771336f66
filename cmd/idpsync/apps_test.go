package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/idpsync/idpsync/webhook"
)

// serve mounts the application API and the admin UI: an API token reads
// users and follows the change feed, an admin token signs in to the UI, the
// metrics label API requests by route, and / leads to the UI.
func TestServeMountsAPIAndUI(t *testing.T) {
	e := newEnv(t)
	e.write("config.toml", testConfig)
	read := strings.TrimSpace(e.mustRun("api-tokens", "create", "--name", "app", "--scope", "read"))
	admin := strings.TrimSpace(e.mustRun("api-tokens", "create", "--name", "ops", "--scope", "admin"))
	p := startInProcess(t, e)
	p.log.wait(t, 0, 20*time.Second, "sync done", "trigger=start")
	base := "http://" + p.addr()

	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(t, resp)
	}

	if code, _ := get("/api/v1/users", ""); code != http.StatusUnauthorized {
		t.Errorf("API without a token: %d, want 401", code)
	}
	code, body := get("/api/v1/users?limit=500", read)
	if code != 200 {
		t.Fatalf("GET /api/v1/users: %d %s", code, body)
	}
	var users struct {
		Users []struct {
			UserName string   `json:"userName"`
			Roles    []string `json:"roles"`
		} `json:"users"`
	}
	if err := json.Unmarshal([]byte(body), &users); err != nil || len(users.Users) == 0 {
		t.Fatalf("users: %v, %s", err, body)
	}
	code, body = get("/api/v1/changes?after=0&wait=1s", read)
	if code != 200 || !strings.Contains(body, `"next"`) || strings.Contains(body, `"changes":[]`) {
		t.Errorf("change feed after the first sync: %d %s", code, body)
	}

	// The UI: the sign-in page, then an admin token signs in.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/ui/" {
		t.Errorf("GET /: %d to %q, want a redirect to /ui/", resp.StatusCode, loc)
	}
	resp, err = client.Get(base + "/ui/signin")
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	csrf := hiddenValue(page, "csrf")
	if resp.StatusCode != 200 || csrf == "" {
		t.Fatalf("sign-in page: %d, csrf %q", resp.StatusCode, csrf)
	}
	for _, tc := range []struct {
		token string
		want  int
	}{{read, http.StatusUnauthorized}, {admin, http.StatusSeeOther}} {
		if resp, err = client.Get(base + "/ui/signin"); err != nil {
			t.Fatal(err)
		}
		csrf = hiddenValue(readAll(t, resp), "csrf")
		resp, err = client.PostForm(base+"/ui/signin", url.Values{"csrf": {csrf}, "secret": {tc.token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("sign-in with a token: %d, want %d", resp.StatusCode, tc.want)
		}
	}
	resp, err = client.Get(base + "/ui/mappings")
	if err != nil {
		t.Fatal(err)
	}
	if page := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(page, "Mappings") {
		t.Errorf("mappings page after sign-in: %d", resp.StatusCode)
	}

	// Metrics name the API's route, not its prefix.
	_, body = get("/metrics", "")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if !hasLabel(fams["idpsync_http_requests_total"], "route", "GET /api/v1/users") {
		t.Errorf("no idpsync_http_requests_total with route=\"GET /api/v1/users\"")
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hiddenValue is the value of the page's first hidden input named name.
func hiddenValue(page, name string) string {
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	return ""
}

func hasLabel(f *dto.MetricFamily, name, value string) bool {
	if f == nil {
		return false
	}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == name && l.GetValue() == value {
				return true
			}
		}
	}
	return false
}

// serve delivers the change log to a configured webhook, signed; a reload
// with a changed mapping delivers the re-derived roles too.
func TestServeWebhooks(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	batches := make(chan webhook.Payload, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte(secret), r.Header.Get(webhook.HeaderSignature), r.Header.Get(webhook.HeaderTimestamp), body, time.Minute); err != nil {
			t.Errorf("delivery does not verify: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("payload: %v", err)
		}
		batches <- p
	}))
	defer recv.Close()
	e := newEnv(t)
	e.write("hook.secret", secret+"\n")
	hook := "\n[[webhook]]\nname = \"app\"\nurl = \"" + recv.URL + "\"\nsecret_file = \"hook.secret\"\nstart = \"beginning\"\n"
	e.write("config.toml", testConfig+hook)
	p := startInProcess(t, e)

	next := func(what string) webhook.Payload {
		t.Helper()
		select {
		case b := <-batches:
			return b
		case <-time.After(20 * time.Second):
			t.Fatalf("no webhook batch for %s", what)
		}
		return webhook.Payload{}
	}
	first := next("the first sync")
	if first.Webhook != "app" || len(first.Changes) == 0 || first.Changes[0].Seq != 1 {
		t.Fatalf("first batch: %+v", first.Batch)
	}
	seen := first.Changes[len(first.Changes)-1].Seq

	// Engineering (Bob) now maps to Admin as well: the reload's plan is delivered next.
	e.write("config.toml", testConfig+"[[mapping]]\ngroup = \"Sales\"\nrole = \"Admin\"\n"+hook)
	if line, _ := p.reload(t, 0); !strings.Contains(line, "configuration reloaded") {
		t.Fatalf("reload: %s", line)
	}
	for {
		b := next("the reload")
		if b.Changes[0].Seq != seen+1 {
			t.Fatalf("batch starts at seq %d after %d: a gap or a repeat", b.Changes[0].Seq, seen)
		}
		seen = b.Changes[len(b.Changes)-1].Seq
		if b.Changes[0].Actor == "config" {
			if !strings.Contains(string(mustMarshal(t, b.Changes)), "cat@example.com") {
				t.Errorf("the reload's batch does not grant cat Admin: %s", mustMarshal(t, b.Changes))
			}
			return
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
