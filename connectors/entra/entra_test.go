package entra_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/entra"
	"github.com/idpsync/idpsync/connectors/entra/graphtest"
	"github.com/idpsync/idpsync/reconcile"
)

// config is a connector's configuration for a fake at url.
func config(url string, groups ...string) entra.Config {
	c := entra.DefaultConfig()
	c.TenantID, c.ClientID, c.ClientSecretEnv = "tenant", "client", "UNUSED_SECRET"
	c.GraphURL = url
	c.Groups = groups
	c.ExternalID = "employeeId" // the fake serves ExternalID as employeeId
	c.MaxRetries = 3
	return c
}

func open(t testing.TB, c entra.Config) *entra.Connector {
	t.Helper()
	conn, err := c.OpenWith("entra-test", nil, entra.WithStaticToken("test-token", "127.0.0.1"), entra.WithBackoff(time.Millisecond))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return conn
}

func serve(t testing.TB, d *reconcile.Directory, o graphtest.Options) *graphtest.Server {
	t.Helper()
	o.Token = "test-token"
	s := graphtest.New(d, o)
	t.Cleanup(s.Close)
	return s
}

// rendering is a source that hands the fake the directory as it is at each
// fetch, as the suite expects of a fake IdP.
type rendering struct {
	*entra.Connector
	srv *graphtest.Server
	d   *reconcile.Directory
}

func (r rendering) Fetch(ctx context.Context) (*reconcile.Directory, error) {
	r.srv.SetDirectory(r.d)
	return r.Connector.Fetch(ctx)
}

// The suite serves users in no group and changes groups between fetches
// (one deleted, a nested one promoted and renamed), so the harness scopes
// every group ("*") and every user ("all"): a fixed list of names would
// rightly fail once a named group is gone.
func TestConformance(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Serve: func(t *testing.T, d *reconcile.Directory) reconcile.Source {
			srv := serve(t, d, graphtest.Options{PageSize: 50})
			c := config(srv.URL, "*")
			c.Users = entra.UsersAll
			return rendering{open(t, c), srv, d}
		},
		Broken: func(t *testing.T) reconcile.Source {
			srv := serve(t, connectorSmall(), graphtest.Options{FailPath: "/v1.0/"})
			c := config(srv.URL, "*")
			c.Users = entra.UsersAll
			return open(t, c)
		},
	})
}

func connectorSmall() *reconcile.Directory {
	return &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "u1", UserName: "ann@example.com", DisplayName: "Ann", Email: "ann@example.com", ExternalID: "E1", Active: true},
			{ID: "u2", UserName: "bob@example.com", Active: false},
			{ID: "u3", UserName: "cy@example.com", Active: true},
			{ID: "u4", UserName: "outsider@example.com", Active: true},
		},
		Groups: []reconcile.Group{
			{ID: "g1", DisplayName: "ph-admin", Members: []string{"u1", "g2"}},
			{ID: "g2", DisplayName: "Engineering", Members: []string{"u2", "g3"}},
			{ID: "g3", DisplayName: "Platform", Members: []string{"u3"}},
			{ID: "g4", DisplayName: "Other", Members: []string{"u4", "g3"}},
			{ID: "11111111-2222-3333-4444-555555555555", DisplayName: "By id", Members: []string{"u4"}},
			{ID: "g6", DisplayName: "Twin", Members: nil},
			{ID: "g7", DisplayName: "twin", Members: nil},
			{ID: "g8", DisplayName: "O'Brien's team", Members: []string{"u1"}},
		},
	}
}

// closure returns the users that are members of group id, at any depth.
func closure(d *reconcile.Directory, id string) []string {
	groups := map[string][]string{}
	for _, g := range d.Groups {
		groups[g.ID] = g.Members
	}
	seen := map[string]bool{}
	var users []string
	var walk func(string)
	walk = func(g string) {
		for _, m := range groups[g] {
			if seen[m] {
				continue
			}
			seen[m] = true
			if _, isGroup := groups[m]; isGroup {
				walk(m)
			} else {
				users = append(users, m)
			}
		}
	}
	walk(id)
	slices.Sort(users)
	return users
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	slices.Sort(out)
	return out
}

func userIDs(d *reconcile.Directory) []string {
	return ids(d.Users, func(u reconcile.User) string { return u.ID })
}

func groupIDs(d *reconcile.Directory) []string {
	return ids(d.Groups, func(g reconcile.Group) string { return g.ID })
}

func TestScope(t *testing.T) {
	tests := []struct {
		name       string
		groups     []string
		users      string
		wantGroups []string
		wantUsers  []string
		requests   int64
		err        string
	}{
		{name: "nested by name", groups: []string{"ph-admin"},
			wantGroups: []string{"g1", "g2", "g3"}, wantUsers: []string{"u1", "u2", "u3"},
			requests: 1 + 3}, // the lookup, then each group's members once
		{name: "shared nested group read once", groups: []string{"ph-admin", "Other"},
			wantGroups: []string{"g1", "g2", "g3", "g4"}, wantUsers: []string{"u1", "u2", "u3", "u4"},
			requests: 2 + 4},
		{name: "by object id", groups: []string{"11111111-2222-3333-4444-555555555555"},
			wantGroups: []string{"11111111-2222-3333-4444-555555555555"}, wantUsers: []string{"u4"}, requests: 2},
		{name: "name with a quote", groups: []string{"O'Brien's team"},
			wantGroups: []string{"g8"}, wantUsers: []string{"u1"}, requests: 2},
		{name: "prefix", groups: []string{"ph-*"},
			wantGroups: []string{"g1", "g2", "g3"}, wantUsers: []string{"u1", "u2", "u3"}, requests: 4},
		{name: "all users", groups: []string{"Platform"}, users: entra.UsersAll,
			wantGroups: []string{"g3"}, wantUsers: []string{"u1", "u2", "u3", "u4"}, requests: 3},
		{name: "unknown name", groups: []string{"ph-admin", "Nope"}, err: `no group is named or has the id "Nope"`},
		{name: "unknown id", groups: []string{"99999999-2222-3333-4444-555555555555"}, err: "no group is named"},
		{name: "ambiguous name", groups: []string{"Twin"}, err: `2 groups are named "Twin"`},
		{name: "pattern matching nothing", groups: []string{"zz-*"}, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, connectorSmall(), graphtest.Options{})
			c := config(srv.URL, tt.groups...)
			if tt.users != "" {
				c.Users = tt.users
			}
			got, err := open(t, c).Fetch(t.Context())
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Fetch error = %v, want one saying %q", err, tt.err)
				}
				if got != nil {
					t.Errorf("Fetch returned a directory with its error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if g := groupIDs(got); !slices.Equal(g, tt.wantGroups) && (len(g) > 0 || len(tt.wantGroups) > 0) {
				t.Errorf("groups = %v, want %v", g, tt.wantGroups)
			}
			if u := userIDs(got); !slices.Equal(u, tt.wantUsers) && (len(u) > 0 || len(tt.wantUsers) > 0) {
				t.Errorf("users = %v, want %v", u, tt.wantUsers)
			}
			if n := srv.Requests(); n != tt.requests {
				t.Errorf("requests = %d, want %d", n, tt.requests)
			}
		})
	}
}

// A member of a group nested in a mapped group is in the mapped group,
// however deep.
func TestNestedTransitive(t *testing.T) {
	d := connectortest.Synthetic(connectortest.Options{Users: 300, Groups: 40, Memberships: 900, NestingDepth: 4, Seed: 3})
	srv := serve(t, d, graphtest.Options{PageSize: 17})
	got, err := open(t, config(srv.URL, "group-00001")).Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if g, w := closure(got, "g-00001"), closure(d, "g-00001"); !slices.Equal(g, w) {
		t.Errorf("members of g-00001 at any depth: got %d, want %d", len(g), len(w))
	}
	if len(groupIDs(got)) < 2 {
		t.Errorf("got groups %v, want g-00001 and the groups nested in it", groupIDs(got))
	}
}

// No silent truncation at any page boundary: groups of page size -1, +0, +1,
// ×2 members and users, each read whole.
func TestPaging(t *testing.T) {
	const pageSize = 4
	for _, n := range []int{0, 1, pageSize - 1, pageSize, pageSize + 1, 2 * pageSize, 2*pageSize + 1} {
		t.Run(fmt.Sprint(n, " members"), func(t *testing.T) {
			d := &reconcile.Directory{Groups: []reconcile.Group{{ID: "g", DisplayName: "G"}}}
			for i := range n {
				id := fmt.Sprintf("u%02d", i)
				d.Users = append(d.Users, reconcile.User{ID: id, UserName: id + "@example.com", Active: true})
				d.Groups[0].Members = append(d.Groups[0].Members, id)
			}
			for _, users := range []string{entra.UsersInGroups, entra.UsersAll} {
				srv := serve(t, d, graphtest.Options{PageSize: pageSize})
				c := config(srv.URL, "G")
				c.Users = users
				got, err := open(t, c).Fetch(t.Context())
				if err != nil {
					t.Fatalf("users=%s: Fetch: %v", users, err)
				}
				if diff := connectortest.Diff(got, d); diff != "" {
					t.Errorf("users=%s:\n%s", users, diff)
				}
				pages := max(1, (n+pageSize-1)/pageSize)
				want := int64(1 + pages) // lookup + member pages
				if users == entra.UsersAll {
					want += int64(pages)
				}
				if r := srv.Requests(); r != want {
					t.Errorf("users=%s: %d requests, want %d", users, r, want)
				}
			}
		})
	}
}

func TestFailures(t *testing.T) {
	d := connectortest.Synthetic(connectortest.Options{Users: 200, Groups: 10, Memberships: 600, NestingDepth: 2, InactiveEvery: 4, Seed: 5})
	tests := []struct {
		name    string
		opts    graphtest.Options
		retries int
		wantErr bool
		minTime time.Duration
	}{
		{name: "429 obeyed", opts: graphtest.Options{ThrottleEvery: 10, RetryAfter: 1}, minTime: time.Second},
		{name: "503 retried", opts: graphtest.Options{TransientEvery: 3, TransientStatus: 503}},
		{name: "502 retried", opts: graphtest.Options{TransientEvery: 2}},
		{name: "cut-off page retried", opts: graphtest.Options{CutOffEvery: 3}},
		{name: "persistent 5xx", opts: graphtest.Options{FailPath: "/members"}, wantErr: true},
		{name: "persistent cut-off page", opts: graphtest.Options{CutOffPath: "/members"}, wantErr: true},
		{name: "5xx beyond the retries", opts: graphtest.Options{TransientEvery: 1}, retries: -1, wantErr: true},
		{name: "Retry-After past max_retry_wait", opts: graphtest.Options{ThrottleEvery: 2, RetryAfter: 3600}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.PageSize = 30
			srv := serve(t, d, tt.opts)
			c := config(srv.URL, "group-*")
			c.Users = entra.UsersAll
			c.Concurrency = 1 // the fake's "every n-th request" is then this fetch's
			if tt.retries < 0 {
				c.MaxRetries = 2
			}
			start := time.Now()
			got, err := open(t, c).Fetch(t.Context())
			took := time.Since(start)
			if tt.wantErr {
				if err == nil {
					t.Fatal("Fetch succeeded, want an error")
				}
				if got != nil {
					t.Errorf("Fetch returned a directory along with %v", err)
				}
				if took > 10*time.Second {
					t.Errorf("failing took %v", took)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if diff := connectortest.Diff(got, d); diff != "" {
				t.Error(diff)
			}
			if took < tt.minTime {
				t.Errorf("Fetch took %v, want at least %v (Retry-After)", took, tt.minTime)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	d := connectortest.Synthetic(connectortest.Options{Users: 500, Groups: 50, Memberships: 2000, Seed: 2})
	srv := serve(t, d, graphtest.Options{PageSize: 10, Latency: 20 * time.Millisecond})
	c := config(srv.URL, "*")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		got, err := open(t, c).Fetch(ctx)
		if got != nil {
			err = errors.New("got a directory")
		}
		done <- err
	}()
	for srv.Requests() < 3 { // a run well under way
		time.Sleep(time.Millisecond)
	}
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch error = %v, want context.Canceled", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("Fetch took %v to stop", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Fetch did not stop within 5s of the cancel")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *entra.Config)
		want   []string // keys named; none: valid
	}{
		{"valid", func(c *entra.Config) {}, nil},
		{"certificate", func(c *entra.Config) { c.ClientSecretEnv, c.CertificateFile = "", "cert.pem" }, nil},
		{"no secret", func(c *entra.Config) { c.ClientSecretEnv = "" }, []string{"client_secret_file"}},
		{"two secrets", func(c *entra.Config) { c.ClientSecretFile = "s" }, []string{"exactly one (2 set)"}},
		{"missing ids", func(c *entra.Config) { c.TenantID, c.ClientID = "", "" }, []string{"tenant_id", "client_id"}},
		{"no groups", func(c *entra.Config) { c.Groups = nil }, []string{"groups: required"}},
		{"no groups, all users", func(c *entra.Config) { c.Groups, c.Users = nil, entra.UsersAll }, nil},
		{"bad values", func(c *entra.Config) {
			c.Users, c.PageSize, c.Timeout, c.GraphURL, c.Concurrency = "some", 1000, "soon", "graph", 99
		}, []string{"users:", "page_size:", "timeout:", "graph_url:", "concurrency:"}},
		{"unknown property", func(c *entra.Config) { c.UserName = "shoeSize" }, []string{"user_name:"}},
		{"extension property", func(c *entra.Config) { c.ExternalID = "extension_abc_badge" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config("https://graph.microsoft.com/v1.0", "ph-admin")
			tt.change(&c)
			errs := c.Validate()
			if len(tt.want) == 0 && len(errs) > 0 {
				t.Fatalf("Validate = %v, want none", errs)
			}
			all := fmt.Sprint(errs)
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("Validate = %v, want one naming %q", errs, w)
				}
			}
			if _, err := c.Open("x", nil); len(tt.want) > 0 && reconcile.ErrorKind(err) != reconcile.EINVALID {
				t.Errorf("Open error = %v, want EINVALID", err)
			}
		})
	}
}

// TestLiveTenant reads a real tenant. Set IDPSYNC_ENTRA_TENANT_ID,
// IDPSYNC_ENTRA_CLIENT_ID, IDPSYNC_ENTRA_CLIENT_SECRET, and optionally
// IDPSYNC_ENTRA_GROUPS (comma-separated; default every group, all users).
func TestLiveTenant(t *testing.T) {
	tenant, client := os.Getenv("IDPSYNC_ENTRA_TENANT_ID"), os.Getenv("IDPSYNC_ENTRA_CLIENT_ID")
	if tenant == "" || client == "" || os.Getenv("IDPSYNC_ENTRA_CLIENT_SECRET") == "" {
		t.Skip("set IDPSYNC_ENTRA_TENANT_ID, IDPSYNC_ENTRA_CLIENT_ID and IDPSYNC_ENTRA_CLIENT_SECRET to read a live tenant")
	}
	c := entra.DefaultConfig()
	c.TenantID, c.ClientID, c.ClientSecretEnv = tenant, client, "IDPSYNC_ENTRA_CLIENT_SECRET"
	c.Groups, c.Users = []string{"*"}, entra.UsersAll
	if g := os.Getenv("IDPSYNC_ENTRA_GROUPS"); g != "" {
		c.Groups, c.Users = strings.Split(g, ","), entra.UsersInGroups
	}
	conn, err := c.Open("live", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := conn.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	t.Logf("%d users, %d groups", len(d.Users), len(d.Groups))
}
