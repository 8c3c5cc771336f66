package okta

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"

	"github.com/idpsync/idpsync/reconcile"
)

// Connector reads an Okta org. It keeps nothing between fetches but the
// rate-limit window it last saw, and is safe for concurrent use.
type Connector struct {
	name   string
	cfg    Config
	client *okta.Client
	pacer  *pacer
	log    *slog.Logger
}

var _ reconcile.Source = (*Connector)(nil)

// Name returns the source's name.
func (c *Connector) Name() string { return c.name }

// newClient builds the SDK client: cache and retries off (the pacer
// retries), requests through hc. secret is the API token; with OAuth (a
// client_id), hc signs the requests.
func newClient(c Config, secret string, hc *http.Client) (*okta.Client, error) {
	opts := []okta.ConfigSetter{
		okta.WithOrgUrl(c.OrgURL),
		okta.WithCache(false),
		okta.WithHttpClientPtr(hc),
		okta.WithRateLimitMaxRetries(0),
		okta.WithRequestTimeout(0), // the pacer times each attempt
		okta.WithUserAgentExtra("idpsync"),
	}
	if u, err := url.Parse(c.OrgURL); err == nil && u.Scheme == "http" {
		opts = append(opts, okta.WithTestingDisableHttpsCheck(true)) // loopback only: see Validate
	}
	if c.ClientID != "" {
		// OAuth: the oauth transport under hc signs in and sets every
		// request's Authorization header (see oauth.go for why not the
		// SDK's "PrivateKey" mode). The SDK's own Bearer header, with this
		// placeholder, is replaced.
		opts = append(opts, okta.WithAuthorizationMode("Bearer"), okta.WithToken("set-by-the-oauth-transport"))
	} else {
		opts = append(opts, okta.WithAuthorizationMode("SSWS"), okta.WithToken(secret))
	}
	_, client, err := okta.NewClient(context.Background(), opts...)
	return client, err
}

// Fetch reads the in-scope groups, their members and the app's assigned
// users, and returns them as a directory that has passed Validate. Any
// failure, including a page that fails after its retries or is cut short, is
// an error and no directory.
func (c *Connector) Fetch(ctx context.Context) (*reconcile.Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("okta source %q: %w", c.name, err)
	}
	start, before, waited := time.Now(), c.pacer.requests.Load(), c.pacer.waited.Load()
	d, err := c.fetch(ctx)
	if err != nil {
		return nil, fmt.Errorf("okta source %q: %w", c.name, err)
	}
	c.log.DebugContext(ctx, "read okta directory", "users", len(d.Users), "groups", len(d.Groups),
		"requests", c.pacer.requests.Load()-before,
		"paced", time.Duration(c.pacer.waited.Load()-waited).Round(time.Millisecond),
		"took", time.Since(start).Round(time.Millisecond))
	return d, nil
}

// fetch is one fetch's work.
type fetch struct {
	c     *Connector
	mu    sync.Mutex
	users map[string]reconcile.User // by id
}

func (c *Connector) fetch(ctx context.Context) (*reconcile.Directory, error) {
	f := &fetch{c: c, users: make(map[string]reconcile.User)}
	scope := make(map[string]string) // group id → name
	var all map[string]string        // every group, when listed
	if len(c.cfg.Groups) > 0 {
		var err error
		if all, err = f.groups(ctx); err != nil {
			return nil, err
		}
		if err := f.match(all, scope); err != nil {
			return nil, err
		}
	}
	if c.cfg.AppID != "" {
		if err := f.appGroups(ctx, all, scope); err != nil {
			return nil, err
		}
		if err := f.appUsers(ctx); err != nil {
			return nil, err
		}
	}
	members, err := f.members(ctx, scope)
	if err != nil {
		return nil, err
	}

	d := &reconcile.Directory{
		Users:  make([]reconcile.User, 0, len(f.users)),
		Groups: make([]reconcile.Group, 0, len(scope)),
	}
	for _, u := range f.users {
		d.Users = append(d.Users, u)
	}
	slices.SortFunc(d.Users, func(a, b reconcile.User) int { return cmp.Compare(a.ID, b.ID) })
	for id, name := range scope {
		m := members[id]
		slices.Sort(m)
		d.Groups = append(d.Groups, reconcile.Group{ID: id, DisplayName: name, Members: slices.Compact(m)})
	}
	slices.SortFunc(d.Groups, func(a, b reconcile.Group) int { return cmp.Compare(a.ID, b.ID) })
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// params is the query of a list's first page.
func (f *fetch) params(expand string) *query.Params {
	return query.NewQueryParams(query.WithLimit(int64(f.c.cfg.PageSize)), query.WithExpand(expand))
}

// groups lists every group of the org, id → name. Okta's q= and search=
// could narrow the list by name, but q= is capped and search= is eventually
// consistent: a group just created could be missed, and read as its members
// leaving. One pass over every group costs a request per PageSize groups.
func (f *fetch) groups(ctx context.Context) (map[string]string, error) {
	all := make(map[string]string)
	err := pages(ctx, "groups", func() ([]*okta.Group, *okta.Response, error) {
		return f.c.client.Group.ListGroups(ctx, f.params(""))
	}, func(g *okta.Group) error {
		if g.Id == "" || g.Profile == nil {
			return fmt.Errorf("groups: a group without an id or a profile")
		}
		all[g.Id] = g.Profile.Name
		return nil
	})
	return all, err
}

// match puts the groups whose names match the configured patterns in scope.
// An exact name that matches no group is an error.
func (f *fetch) match(all, scope map[string]string) error {
	var missing []string
	for _, p := range f.c.cfg.Groups {
		found := false
		for id, name := range all {
			if matches(p, name) {
				scope[id], found = name, true
			}
		}
		if !found && !strings.HasSuffix(p, "*") {
			missing = append(missing, strconv.Quote(p))
		}
	}
	if len(missing) > 0 {
		return reconcile.Errorf(reconcile.ENOTFOUND, "groups: no group is named %s", strings.Join(missing, ", "))
	}
	return nil
}

// matches reports whether a group name matches a pattern: an exact name or a
// "prefix*", compared case-insensitively.
func matches(pattern, name string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix)
	}
	return strings.EqualFold(pattern, name)
}

// appGroups puts the groups assigned to the app in scope.
func (f *fetch) appGroups(ctx context.Context, all, scope map[string]string) error {
	app := f.c.cfg.AppID
	return pages(ctx, "app "+app+" groups", func() ([]*okta.ApplicationGroupAssignment, *okta.Response, error) {
		return f.c.client.Application.ListApplicationGroupAssignments(ctx, app, f.params("group"))
	}, func(a *okta.ApplicationGroupAssignment) error {
		name, ok := all[a.Id]
		if g, _ := embedded(a.Embedded, "group"); g != nil {
			if p, _ := g["profile"].(map[string]any); p != nil {
				name, ok = p["name"].(string)
			}
		}
		if a.Id == "" || !ok {
			return fmt.Errorf("app %s groups: assignment %q carries no group name", app, a.Id)
		}
		scope[a.Id] = name
		return nil
	})
}

// appUsers reads the users assigned to the app, directly or through groups.
func (f *fetch) appUsers(ctx context.Context) error {
	app := f.c.cfg.AppID
	return pages(ctx, "app "+app+" users", func() ([]*okta.AppUser, *okta.Response, error) {
		return f.c.client.Application.ListApplicationUsers(ctx, app, f.params("user"))
	}, func(a *okta.AppUser) error {
		u, _ := embedded(a.Embedded, "user")
		if u == nil {
			return fmt.Errorf("app %s users: assignment %q carries no user (expand=user)", app, a.Id)
		}
		id, _ := u["id"].(string)
		status, _ := u["status"].(string)
		profile, _ := u["profile"].(map[string]any)
		_, err := f.add(id, status, profile)
		return err
	})
}

// members reads the members of the in-scope groups, several groups at once,
// and returns them by group id. The first failure stops the others.
func (f *fetch) members(ctx context.Context, scope map[string]string) (map[string][]string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ids := make(chan string)
	var (
		mu  sync.Mutex
		out = make(map[string][]string, len(scope))
		wg  sync.WaitGroup
	)
	for range min(f.c.cfg.Concurrency, max(len(scope), 1)) {
		wg.Go(func() {
			for id := range ids {
				var m []string
				err := pages(ctx, "group "+id+" members", func() ([]member, *okta.Response, error) {
					return f.listMembers(ctx, id)
				}, func(u member) error {
					uid, err := f.addRaw(u)
					m = append(m, uid)
					return err
				})
				if err != nil {
					cancel(err)
					continue // drain ids
				}
				mu.Lock()
				out[id] = m
				mu.Unlock()
			}
		})
	}
	for id := range scope {
		if ctx.Err() != nil {
			break
		}
		ids <- id
	}
	close(ids)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// member is a user of a group's member page, as much of it as is read: a
// user is a member of several groups, and its profile is decoded only the
// first time it is seen. The SDK's okta.User would decode every field of
// every membership (links, credentials, the profile as a map): most of a
// large read's CPU.
type member struct {
	ID      string          `json:"id"`
	Status  string          `json:"status"`
	Profile json.RawMessage `json:"profile"`
}

// listMembers is the SDK's Group.ListGroupUsers decoding into members.
func (f *fetch) listMembers(ctx context.Context, groupID string) ([]member, *okta.Response, error) {
	path := "/api/v1/groups/" + url.PathEscape(groupID) + "/users" + f.params("").String()
	rq := f.c.client.CloneRequestExecutor()
	req, err := rq.WithAccept("application/json").WithContentType("application/json").NewRequest("GET", path, nil)
	if err != nil {
		return nil, nil, err
	}
	var ms []member
	resp, err := rq.Do(ctx, req, &ms)
	if err != nil {
		return nil, resp, err
	}
	return ms, resp, nil
}

// addRaw is add for a member, decoding its profile only if it is new.
func (f *fetch) addRaw(u member) (string, error) {
	if u.ID == "" {
		return "", errors.New("a user without an id")
	}
	f.mu.Lock()
	_, seen := f.users[u.ID]
	f.mu.Unlock()
	if seen {
		return u.ID, nil
	}
	var profile map[string]any
	if len(u.Profile) > 0 {
		if err := json.Unmarshal(u.Profile, &profile); err != nil {
			return u.ID, fmt.Errorf("user %s: profile: %w", u.ID, err)
		}
	}
	return f.add(u.ID, u.Status, profile)
}

// add records a user the first time it is seen and returns its id.
func (f *fetch) add(id, status string, profile map[string]any) (string, error) {
	if id == "" {
		return "", errors.New("a user without an id")
	}
	f.mu.Lock()
	_, seen := f.users[id]
	f.mu.Unlock()
	if seen {
		return id, nil
	}
	u, err := f.c.user(id, status, profile)
	if err != nil {
		return id, err
	}
	f.mu.Lock()
	f.users[id] = u
	f.mu.Unlock()
	return id, nil
}

// user maps an Okta user to a reconcile.User through the attribute mapping.
func (c *Connector) user(id, status string, profile map[string]any) (reconcile.User, error) {
	active, err := c.active(status)
	if err != nil {
		return reconcile.User{}, fmt.Errorf("user %s: %w", id, err)
	}
	m := c.cfg
	u := reconcile.User{
		ID:          id,
		UserName:    field(profile, m.UserName),
		Email:       field(profile, m.Email),
		DisplayName: field(profile, m.DisplayName),
		GivenName:   field(profile, m.GivenName),
		FamilyName:  field(profile, m.FamilyName),
		ExternalID:  field(profile, m.ExternalID),
		Active:      active,
	}
	if u.DisplayName == "" && m.DisplayName == "displayName" {
		u.DisplayName = strings.TrimSpace(field(profile, "firstName") + " " + field(profile, "lastName"))
	}
	if m.ExternalID == "id" {
		u.ExternalID = id
	}
	return u, nil
}

// active maps an Okta user status to active.
func (c *Connector) active(status string) (bool, error) {
	switch status {
	case "ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY":
		return true, nil
	case "SUSPENDED", "DEPROVISIONED":
		return false, nil
	case "STAGED":
		return c.cfg.StagedActive, nil
	case "PROVISIONED":
		return c.cfg.ProvisionedActive, nil
	}
	// A status Okta adds later must not be guessed either way: guessing
	// inactive would lock users out, guessing active would keep access.
	return false, fmt.Errorf("unknown status %q", status)
}

// field reads a profile field as a string.
func field(profile map[string]any, key string) string {
	switch v := profile[key].(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// embedded returns _embedded[key] as a JSON object.
func embedded(e any, key string) (map[string]any, bool) {
	m, _ := e.(map[string]any)
	v, ok := m[key].(map[string]any)
	return v, ok
}

// pages reads a list to its end: the first page, then every Link rel="next".
// A page that fails, or a next link that leads back to a page already read,
// is an error.
func pages[T any](ctx context.Context, what string, first func() ([]T, *okta.Response, error), each func(T) error) error {
	items, resp, err := first()
	seen := make(map[string]bool)
	for n := 1; ; n++ {
		if err != nil {
			return fmt.Errorf("%s, page %d: %w", what, n, err)
		}
		for _, it := range items {
			if err := each(it); err != nil {
				return fmt.Errorf("%s, page %d: %w", what, n, err)
			}
		}
		if resp == nil || !resp.HasNextPage() {
			return nil
		}
		if seen[resp.NextPage] {
			return fmt.Errorf("%s, page %d: the next link %s leads back to a page already read", what, n, resp.NextPage)
		}
		seen[resp.NextPage] = true
		if err := ctx.Err(); err != nil {
			return err
		}
		items = nil
		resp, err = resp.Next(ctx, &items)
	}
}
