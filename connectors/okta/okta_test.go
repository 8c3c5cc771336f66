package okta_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/okta"
	"github.com/idpsync/idpsync/connectors/okta/oktatest"
	"github.com/idpsync/idpsync/reconcile"
)

const appID = "0oa1app"

// config returns a Config reading srv with the fake's token, every group in
// scope and the external id read from profile.employeeNumber (where the fake
// puts it).
func config(t testing.TB, srv *oktatest.Server) okta.Config {
	t.Helper()
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte(oktatest.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return okta.Config{OrgURL: srv.URL + "/", TokenFile: token, Groups: []string{"*"}, ExternalID: "employeeNumber"}
}

func open(t testing.TB, c okta.Config) *okta.Connector {
	t.Helper()
	src, err := c.Open("okta-test", nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return src
}

// flatSource adapts the connector to connectortest, whose directories nest
// groups. Okta cannot nest, so the fake serves each group flattened
// (oktatest.Flatten). flatSource checks that the connector fetched exactly the
// flattened directory, failing the fetch with the differences if not; when it
// did, it hands the suite the directory as served, nesting included, so the
// suite's own checks (which compare with the nested directory) apply.
type flatSource struct {
	*okta.Connector
	served *reconcile.Directory
}

func (s flatSource) Fetch(ctx context.Context) (*reconcile.Directory, error) {
	got, err := s.Connector.Fetch(ctx)
	if err != nil {
		return got, err
	}
	if diff := connectortest.Diff(got, oktatest.Flatten(s.served)); diff != "" {
		return nil, fmt.Errorf("fetched directory differs from the flattened one served:\n%s", diff)
	}
	return connectortest.Clone(s.served), nil
}

func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Serve: func(t *testing.T, d *reconcile.Directory) reconcile.Source {
			// Every group in scope, and every user assigned to the app, so
			// that users in no group are read too.
			srv := oktatest.New(t, d, oktatest.Options{AppID: appID, AllUsers: true, MaxPageSize: 50})
			c := config(t, srv)
			c.AppID, c.PageSize = appID, 50
			return flatSource{open(t, c), d}
		},
		Broken: func(t *testing.T) reconcile.Source {
			srv := oktatest.New(t, &reconcile.Directory{}, oktatest.Options{
				Fault: func(int64, *http.Request) oktatest.Fault { return oktatest.ServerError },
			})
			return open(t, config(t, srv))
		},
	})
}

// users returns n users u0001… in one group, g-all.
func oneGroup(n int) *reconcile.Directory {
	d := &reconcile.Directory{Groups: []reconcile.Group{{ID: "g-all", DisplayName: "All"}}}
	for i := range n {
		id := fmt.Sprintf("u%04d", i+1)
		d.Users = append(d.Users, reconcile.User{ID: id, UserName: id + "@example.com", Active: true})
		d.Groups[0].Members = append(d.Groups[0].Members, id)
	}
	return d
}

func TestPaging(t *testing.T) {
	for _, ps := range []int{1, 2, 200} {
		for _, n := range []int{0, 1, 199, 200, 201} {
			for _, emptyLast := range []bool{false, true} {
				t.Run(fmt.Sprintf("page%d/users%d/emptyLast=%v", ps, n, emptyLast), func(t *testing.T) {
					d := oneGroup(n)
					srv := oktatest.New(t, d, oktatest.Options{MaxPageSize: ps, EmptyLastPage: emptyLast})
					c := config(t, srv)
					c.PageSize = 200 // more than the fake allows: it caps, as Okta does
					got, err := open(t, c).Fetch(t.Context())
					if err != nil {
						t.Fatalf("Fetch: %v", err)
					}
					if diff := connectortest.Diff(got, d); diff != "" {
						t.Fatalf("fetched directory differs:\n%s", diff)
					}
					pages := max((n+ps-1)/ps, 1)
					if emptyLast && n > 0 && n%ps == 0 {
						pages++
					}
					groupPages := 1
					if emptyLast && ps == 1 {
						groupPages++
					}
					if want := int64(groupPages + pages); srv.Requests() != want {
						t.Errorf("requests = %d, want %d (one per page, no more)", srv.Requests(), want)
					}
				})
			}
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		status            string
		staged, provision bool
		want              bool
		wantErr           bool
	}{
		{status: "ACTIVE", want: true},
		{status: "PASSWORD_EXPIRED", want: true},
		{status: "LOCKED_OUT", want: true},
		{status: "RECOVERY", want: true},
		{status: "SUSPENDED", want: false},
		{status: "DEPROVISIONED", want: false},
		{status: "STAGED", want: false},
		{status: "STAGED", staged: true, want: true},
		{status: "PROVISIONED", want: false},
		{status: "PROVISIONED", provision: true, want: true},
		{status: "PROVISIONED", staged: true, want: false},
		{status: "SOMETHING_NEW", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/staged=%v/provisioned=%v", tt.status, tt.staged, tt.provision), func(t *testing.T) {
			srv := oktatest.New(t, oneGroup(1), oktatest.Options{Status: func(reconcile.User) string { return tt.status }})
			c := config(t, srv)
			c.StagedActive, c.ProvisionedActive = tt.staged, tt.provision
			got, err := open(t, c).Fetch(t.Context())
			if tt.wantErr {
				if err == nil || got != nil {
					t.Fatalf("Fetch = %v, %v; want no directory and an error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got.Users[0].Active != tt.want {
				t.Errorf("active = %v, want %v", got.Users[0].Active, tt.want)
			}
		})
	}
}

func TestAttributeMapping(t *testing.T) {
	d := &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "00u1", UserName: "ann@example.com", Email: "ann.lee@example.com", GivenName: "Ann", FamilyName: "Lee", ExternalID: "E1", Active: true},
			{ID: "00u2", UserName: "bo@example.com", Email: "bo@example.org", DisplayName: "Bo", Active: true},
		},
		Groups: []reconcile.Group{{ID: "g1", DisplayName: "G", Members: []string{"00u1", "00u2"}}},
	}
	srv := oktatest.New(t, d, oktatest.Options{})
	t.Run("defaults", func(t *testing.T) {
		c := config(t, srv)
		c.ExternalID = ""
		got, err := open(t, c).Fetch(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := []reconcile.User{
			// displayName falls back to firstName lastName; externalId is the Okta id.
			{ID: "00u1", UserName: "ann@example.com", Email: "ann.lee@example.com", DisplayName: "Ann Lee", GivenName: "Ann", FamilyName: "Lee", ExternalID: "00u1", Active: true},
			{ID: "00u2", UserName: "bo@example.com", Email: "bo@example.org", DisplayName: "Bo", ExternalID: "00u2", Active: true},
		}
		if !slices.Equal(got.Users, want) {
			t.Errorf("users = %+v\nwant %+v", got.Users, want)
		}
	})
	t.Run("mapped", func(t *testing.T) {
		c := config(t, srv)
		c.UserName, c.DisplayName, c.ExternalID = "email", "lastName", "employeeNumber"
		got, err := open(t, c).Fetch(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if u := got.Users[0]; u.UserName != "ann.lee@example.com" || u.DisplayName != "Lee" || u.ExternalID != "E1" {
			t.Errorf("user = %+v, want userName from email, displayName from lastName, externalId from employeeNumber", u)
		}
	})
}

// scoped is a directory to scope: groups with names that patterns tell apart.
func scoped() *reconcile.Directory {
	d := &reconcile.Directory{}
	for i := range 7 {
		id := fmt.Sprintf("u%d", i+1)
		d.Users = append(d.Users, reconcile.User{ID: id, UserName: id + "@example.com", Active: true})
	}
	d.Groups = []reconcile.Group{
		{ID: "g1", DisplayName: "ph-admin", Members: []string{"u1"}},
		{ID: "g2", DisplayName: "ph-csm", Members: []string{"u2"}},
		{ID: "g3", DisplayName: "PH-Ops", Members: []string{"u3"}},
		{ID: "g4", DisplayName: "Sales", Members: []string{"u4"}},
		{ID: "g5", DisplayName: "Salesforce", Members: []string{"u5"}},
		{ID: "g6", DisplayName: "Engineering", Members: []string{"u6", "u1"}},
	}
	return d
}

// ids returns the ids of d's users and groups, sorted.
func ids(d *reconcile.Directory) (users, groups []string) {
	for _, u := range d.Users {
		users = append(users, u.ID)
	}
	for _, g := range d.Groups {
		groups = append(groups, g.ID)
	}
	slices.Sort(users)
	slices.Sort(groups)
	return users, groups
}

func TestScope(t *testing.T) {
	tests := []struct {
		name       string
		groups     []string
		app        bool
		appUsers   []string
		appGroups  []string
		wantUsers  []string
		wantGroups []string
		wantErr    string
	}{
		{name: "prefix", groups: []string{"ph-*"}, wantUsers: []string{"u1", "u2", "u3"}, wantGroups: []string{"g1", "g2", "g3"}},
		{name: "exact", groups: []string{"Sales"}, wantUsers: []string{"u4"}, wantGroups: []string{"g4"}},
		{name: "exact ignores case", groups: []string{"sales"}, wantUsers: []string{"u4"}, wantGroups: []string{"g4"}},
		{name: "prefix of an exact name", groups: []string{"Sales*"}, wantUsers: []string{"u4", "u5"}, wantGroups: []string{"g4", "g5"}},
		{name: "both", groups: []string{"ph-a*", "Engineering"}, wantUsers: []string{"u1", "u6"}, wantGroups: []string{"g1", "g6"}},
		{name: "prefix matching nothing", groups: []string{"zz-*"}},
		{name: "exact matching nothing", groups: []string{"Sales", "Slaes"}, wantErr: `no group is named "Slaes"`},
		{name: "app only", app: true, appUsers: []string{"u7"}, appGroups: []string{"g2"},
			wantUsers: []string{"u2", "u7"}, wantGroups: []string{"g2"}},
		{name: "app and groups", groups: []string{"Sales"}, app: true, appUsers: []string{"u7"}, appGroups: []string{"g2"},
			wantUsers: []string{"u2", "u4", "u7"}, wantGroups: []string{"g2", "g4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := oktatest.New(t, scoped(), oktatest.Options{AppID: appID, AppUsers: tt.appUsers, AppGroups: tt.appGroups})
			c := config(t, srv)
			c.Groups = tt.groups
			if tt.app {
				c.AppID = appID
			}
			got, err := open(t, c).Fetch(t.Context())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != nil {
					t.Fatalf("Fetch = %v, %v; want no directory and an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			users, groups := ids(got)
			if !slices.Equal(users, tt.wantUsers) || !slices.Equal(groups, tt.wantGroups) {
				t.Errorf("users %v, groups %v; want users %v, groups %v", users, groups, tt.wantUsers, tt.wantGroups)
			}
		})
	}
}

// manyGroups is a directory of n groups and 3n memberships, less the users
// in no group (who are not in scope).
func manyGroups(n int) *reconcile.Directory {
	d := connectortest.Synthetic(connectortest.Options{Users: 3 * n, Groups: n, Memberships: 3 * n, Seed: 3})
	member := make(map[string]bool)
	for _, g := range d.Groups {
		for _, m := range g.Members {
			member[m] = true
		}
	}
	d.Users = slices.DeleteFunc(d.Users, func(u reconcile.User) bool { return !member[u.ID] })
	return d
}

func TestRateLimitShare(t *testing.T) {
	// 20 requests a 1 s window; idpsync may use half. 30 groups: 31 requests.
	srv := oktatest.New(t, manyGroups(30), oktatest.Options{RateLimit: 20, Window: time.Second, Enforce: true})
	c := config(t, srv)
	c.RateLimitShare = 0.5
	if _, err := open(t, c).Fetch(t.Context()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	counts := srv.WindowCounts()
	for i, n := range counts {
		if n > 10 {
			t.Errorf("window %d: %d requests, more than the share (10 of 20); all windows: %v", i, n, counts)
		}
	}
	if got := srv.Requests(); got != 31 {
		t.Errorf("requests = %d, want 31 (no 429 to retry)", got)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name    string
		opts    oktatest.Options
		wantErr bool
	}{
		{name: "429 every 4th request, obeying the reset", opts: oktatest.Options{TooManyEvery: 4, Window: time.Second}},
		{name: "transient 503", opts: oktatest.Options{Fault: func(n int64, _ *http.Request) oktatest.Fault {
			if n == 2 || n == 3 {
				return oktatest.Unavailable
			}
			return oktatest.None
		}}},
		{name: "persistent 500 on one group", wantErr: true, opts: oktatest.Options{Fault: func(_ int64, r *http.Request) oktatest.Fault {
			if strings.Contains(r.URL.Path, "/groups/g-00003/") {
				return oktatest.ServerError
			}
			return oktatest.None
		}}},
		{name: "cut-off page", wantErr: true, opts: oktatest.Options{Fault: func(n int64, _ *http.Request) oktatest.Fault {
			if n == 4 {
				return oktatest.CutOff
			}
			return oktatest.None
		}}},
		{name: "group gone mid-fetch", wantErr: true, opts: oktatest.Options{Fault: func(_ int64, r *http.Request) oktatest.Fault {
			if strings.Contains(r.URL.Path, "/groups/g-00002/") {
				return oktatest.NotFoundPage
			}
			return oktatest.None
		}}},
		{name: "429 on every request", wantErr: true, opts: oktatest.Options{TooManyEvery: 1, Window: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := manyGroups(6)
			srv := oktatest.New(t, d, tt.opts)
			c := config(t, srv)
			c.Concurrency = 1
			got, err := open(t, c).Fetch(t.Context())
			if tt.wantErr {
				if err == nil || got != nil {
					t.Fatalf("Fetch = %v, %v; want no directory and an error", got, err)
				}
				t.Logf("error: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if diff := connectortest.Diff(got, d); diff != "" {
				t.Errorf("fetched directory differs:\n%s", diff)
			}
			if srv.Requests() <= 7 {
				t.Errorf("requests = %d, want more than 7 (the retries)", srv.Requests())
			}
		})
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name string
		opts oktatest.Options
	}{
		{name: "slow server", opts: oktatest.Options{Latency: 300 * time.Millisecond}},
		{name: "waiting for a rate-limit window", opts: oktatest.Options{RateLimit: 4, Window: 50 * time.Second}},
		{name: "backing off a 503", opts: oktatest.Options{Fault: func(int64, *http.Request) oktatest.Fault { return oktatest.Unavailable }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := oktatest.New(t, manyGroups(20), tt.opts)
			c := config(t, srv)
			c.MaxRetries = 50
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(150*time.Millisecond, cancel)
			start := time.Now()
			got, err := open(t, c).Fetch(ctx)
			if took := time.Since(start); took > time.Second {
				t.Errorf("Fetch took %v after the cancel, want it to stop promptly", took)
			}
			if !errors.Is(err, context.Canceled) || got != nil {
				t.Errorf("Fetch = %v, %v; want no directory and context.Canceled", got, err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := okta.Config{OrgURL: "https://example.okta.com", TokenEnv: "T", Groups: []string{"ph-*"}}
	tests := []struct {
		name   string
		change func(c *okta.Config)
		want   []string // keys named; none: valid
	}{
		{"ok", func(c *okta.Config) {}, nil},
		{"oauth", func(c *okta.Config) { c.TokenEnv, c.ClientID, c.PrivateKeyFile = "", "0oa1", "key.pem" }, nil},
		{"loopback http", func(c *okta.Config) { c.OrgURL = "http://127.0.0.1:8080/" }, nil},
		{"http", func(c *okta.Config) { c.OrgURL = "http://example.okta.com" }, []string{"org_url"}},
		{"path", func(c *okta.Config) { c.OrgURL = "https://example.okta.com/api/v1" }, []string{"org_url"}},
		{"no org", func(c *okta.Config) { c.OrgURL = "" }, []string{"org_url"}},
		{"no credentials", func(c *okta.Config) { c.TokenEnv = "" }, []string{"token_file"}},
		{"two tokens", func(c *okta.Config) { c.TokenFile = "t" }, []string{"token_file, token_env"}},
		{"token and oauth", func(c *okta.Config) { c.ClientID = "x" }, []string{"client_id"}},
		{"half oauth", func(c *okta.Config) { c.TokenEnv, c.ClientID = "", "0oa1" }, []string{"private_key_file"}},
		{"no scope", func(c *okta.Config) { c.Groups = nil }, []string{"groups or app_id"}},
		{"app scope", func(c *okta.Config) { c.Groups, c.AppID = nil, "0oa1" }, nil},
		{"bad pattern", func(c *okta.Config) { c.Groups = []string{"a*b", ""} }, []string{"groups[0]", "groups[1]"}},
		{"everything wrong", func(c *okta.Config) {
			c.RateLimitShare, c.PageSize, c.Timeout, c.MaxRetries, c.Concurrency, c.MaxRetryWait = 1.5, 5000, "soon", -1, 99, "-1s"
		}, []string{"rate_limit_share", "page_size", "timeout", "max_retries", "concurrency", "max_retry_wait"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.change(&c)
			errs := c.Validate()
			if len(tt.want) == 0 && len(errs) > 0 {
				t.Fatalf("Validate = %v, want none", errs)
			}
			if len(errs) != len(tt.want) {
				t.Errorf("Validate = %v, want %d errors naming %v", errs, len(tt.want), tt.want)
			}
			for _, key := range tt.want {
				if !slices.ContainsFunc(errs, func(e error) bool { return strings.Contains(e.Error(), key) }) {
					t.Errorf("Validate = %v, want an error naming %s", errs, key)
				}
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	t.Setenv("IDPSYNC_TEST_EMPTY_TOKEN", "")
	c := okta.Config{OrgURL: "https://example.okta.com", TokenEnv: "IDPSYNC_TEST_EMPTY_TOKEN", Groups: []string{"*"}}
	if _, err := c.Open("o", nil); reconcile.ErrorKind(err) != reconcile.EINVALID || !strings.Contains(err.Error(), "token_env") {
		t.Errorf("Open with an empty token = %v, want EINVALID naming token_env", err)
	}
}

// TestLive reads a real org. It runs only when IDPSYNC_OKTA_ORG_URL and
// IDPSYNC_OKTA_TOKEN name one; IDPSYNC_OKTA_GROUPS (comma-separated,
// default "*") and IDPSYNC_OKTA_APP_ID set the scope.
func TestLive(t *testing.T) {
	org, token := os.Getenv("IDPSYNC_OKTA_ORG_URL"), os.Getenv("IDPSYNC_OKTA_TOKEN")
	if org == "" || token == "" {
		t.Skip("IDPSYNC_OKTA_ORG_URL and IDPSYNC_OKTA_TOKEN are not set")
	}
	groups := []string{"*"}
	if g := os.Getenv("IDPSYNC_OKTA_GROUPS"); g != "" {
		groups = strings.Split(g, ",")
	}
	c := okta.Config{OrgURL: org, TokenEnv: "IDPSYNC_OKTA_TOKEN", Groups: groups, AppID: os.Getenv("IDPSYNC_OKTA_APP_ID")}
	d, err := open(t, c).Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	t.Logf("%d users, %d groups", len(d.Users), len(d.Groups))
}
