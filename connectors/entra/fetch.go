package entra

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/idpsync/idpsync/reconcile"
)

// Connector reads a directory from Entra ID. It keeps nothing between
// fetches and is safe for concurrent use.
type Connector struct {
	name      string
	cfg       Config // defaults applied
	graph     *graph
	log       *slog.Logger
	fullEvery time.Duration
	now       func() time.Time
}

var _ reconcile.DeltaSource = (*Connector)(nil)

// Name returns the source's name.
func (c *Connector) Name() string { return c.name }

// lookupLimit is how many configured groups are looked up one by one; past
// it, listing every group once takes fewer requests.
const lookupLimit = 15

// Fetch reads the in-scope groups, the groups nested in them and their
// members, and returns them as a directory that has passed Validate. Every
// page is followed to the end; any error, on any page, is an error and no
// directory.
//
// Requests: resolving the groups (one per configured group, or one listing
// of all groups past 15 of them or with "*"), then for each in-scope or
// nested group one request per 999 direct members, plus one per 999 users
// when users = "all". Each group's members are read once, however many
// parents it has; a user's properties come with the membership, so there is
// no request per user.
func (c *Connector) Fetch(ctx context.Context) (*reconcile.Directory, error) {
	start := time.Now()
	d, err := c.fetch(ctx)
	if err == nil {
		err = d.Validate()
	}
	if err != nil {
		return nil, c.failed(ctx, err)
	}
	c.log.DebugContext(ctx, "read directory", "users", len(d.Users), "groups", len(d.Groups), "took", time.Since(start))
	return d, nil
}

// failed wraps a fetch's error. A fetch cut short by ctx fails with an error
// that Is ctx's, even where the SDK kept the cancellation only as text (as
// azidentity does when a sign-in is cancelled).
func (c *Connector) failed(ctx context.Context, err error) error {
	if ce := ctx.Err(); ce != nil && !errors.Is(err, ce) {
		err = fmt.Errorf("%w: %w", ce, err)
	}
	return fmt.Errorf("entra source %q: %w", c.name, err)
}

type groupRef struct{ id, name string }

// state is what one fetch has read so far.
type state struct {
	cfg   Config
	ext   []string // the directory extensions the mapping reads
	mu    sync.Mutex
	users map[string]reconcile.User
}

func (s *state) addUser(g *object) error {
	id := g.ID
	s.mu.Lock()
	_, seen := s.users[id]
	s.mu.Unlock()
	if seen {
		return nil
	}
	u, err := s.cfg.toUser(g)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.users[id] = u
	s.mu.Unlock()
	return nil
}

func (c *Connector) fetch(ctx context.Context) (*reconcile.Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	roots, err := c.resolve(ctx)
	if err != nil {
		return nil, err
	}
	st := &state{cfg: c.cfg, ext: c.cfg.extensions(), users: map[string]reconcile.User{}}
	if c.cfg.Users == UsersAll {
		if err := c.listUsers(ctx, st); err != nil {
			return nil, err
		}
	}

	// Breadth first over the nesting: each group's direct members once.
	d := &reconcile.Directory{}
	index := map[string]int{} // group id → index in d.Groups
	var level []groupRef
	for _, g := range roots {
		if _, ok := index[g.id]; !ok {
			index[g.id] = len(d.Groups)
			d.Groups = append(d.Groups, reconcile.Group{ID: g.id, DisplayName: g.name})
			level = append(level, g)
		}
	}
	for len(level) > 0 {
		results, err := c.readMembers(ctx, st, level)
		if err != nil {
			return nil, err
		}
		var next []groupRef
		for i, g := range level {
			r := results[i]
			d.Groups[index[g.id]].Members = r.members
			for _, n := range r.nested {
				if _, ok := index[n.id]; !ok {
					index[n.id] = len(d.Groups)
					d.Groups = append(d.Groups, reconcile.Group{ID: n.id, DisplayName: n.name})
					next = append(next, n)
				}
			}
		}
		level = next
	}
	d.Users = make([]reconcile.User, 0, len(st.users))
	for _, u := range st.users {
		d.Users = append(d.Users, u)
	}
	slices.SortFunc(d.Users, func(a, b reconcile.User) int { return cmp.Compare(a.ID, b.ID) })
	return d, nil
}

type memberResult struct {
	members []string   // ids of users and groups
	nested  []groupRef // the groups among them
}

// readMembers reads the direct members of the groups, cfg.Concurrency at a
// time. The first error cancels the rest.
func (c *Connector) readMembers(ctx context.Context, st *state, level []groupRef) ([]memberResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	results := make([]memberResult, len(level))
	sem := make(chan struct{}, c.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, g := range level {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			r, err := c.members(ctx, st, g)
			if err != nil {
				cancel(fmt.Errorf("members of group %q (%s): %w", g.name, g.id, err))
				return
			}
			results[i] = r
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return results, nil
}

func (c *Connector) members(ctx context.Context, st *state, g groupRef) (memberResult, error) {
	var r memberResult
	top := int32(c.cfg.PageSize)
	req, err := c.graph.groups.ByGroupId(g.id).Members().ToGetRequestInformation(ctx, &groups.ItemMembersRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.ItemMembersRequestBuilderGetQueryParameters{Select: c.cfg.selectProps(), Top: &top},
	})
	if err != nil {
		return r, err
	}
	_, err = c.graph.pages(ctx, req, st.ext, func(objs []object) error {
		for i := range objs {
			switch m := &objs[i]; m.Type {
			case odataUser:
				if err := st.addUser(m); err != nil {
					return err
				}
				r.members = append(r.members, m.ID)
			case odataGroup:
				r.members = append(r.members, m.ID)
				r.nested = append(r.nested, groupRef{id: m.ID, name: m.DisplayName})
			}
			// Devices, service principals and contacts are not users.
		}
		return nil
	})
	return r, err
}

// listUsers reads every user of the tenant.
func (c *Connector) listUsers(ctx context.Context, st *state) error {
	if err := c.readUsers(ctx, st, nil); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	return nil
}

// readUsers reads the users matching filter (nil: all) into st, every page.
func (c *Connector) readUsers(ctx context.Context, st *state, filter *string) error {
	top := int32(c.cfg.PageSize)
	req, err := c.graph.users.ToGetRequestInformation(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Select: c.cfg.selectProps(), Top: &top, Filter: filter},
	})
	if err != nil {
		return err
	}
	// Every object of /users is a user, whatever its @odata.type says.
	_, err = c.graph.pages(ctx, req, st.ext, func(objs []object) error {
		for i := range objs {
			if err := st.addUser(&objs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// resolve finds the configured groups.
func (c *Connector) resolve(ctx context.Context) ([]groupRef, error) {
	entries := c.cfg.Groups
	if len(entries) == 0 {
		return nil, nil
	}
	if len(entries) > lookupLimit || slices.Contains(entries, "*") {
		all, err := c.listGroups(ctx, nil)
		if err != nil {
			return nil, err
		}
		var out []groupRef
		for _, e := range entries {
			var matched []groupRef
			for _, g := range all {
				if matches(e, g) {
					matched = append(matched, g)
				}
			}
			if err := check(e, matched); err != nil {
				return nil, err
			}
			out = append(out, matched...)
		}
		return out, nil
	}
	var out []groupRef
	for _, e := range entries {
		var matched []groupRef
		switch {
		case guid.MatchString(e):
			g, err := c.graph.groups.ByGroupId(e).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
				QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
			})
			if statusOf(err) == 404 {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("group %s: %w", e, err)
			}
			matched = append(matched, groupRef{id: deref(g.GetId()), name: deref(g.GetDisplayName())})
		case strings.HasSuffix(e, "*"):
			filter := "startswith(displayName,'" + quote(strings.TrimSuffix(e, "*")) + "')"
			var err error
			if matched, err = c.listGroups(ctx, &filter); err != nil {
				return nil, err
			}
		default:
			filter := "displayName eq '" + quote(e) + "'"
			var err error
			if matched, err = c.listGroups(ctx, &filter); err != nil {
				return nil, err
			}
		}
		if err := check(e, matched); err != nil {
			return nil, err
		}
		out = append(out, matched...)
	}
	return out, nil
}

// matches tells whether a configured entry names g.
func matches(entry string, g groupRef) bool {
	switch {
	case entry == "*" || entry == g.id:
		return true
	case strings.HasSuffix(entry, "*"):
		p := strings.TrimSuffix(entry, "*")
		return len(g.name) >= len(p) && strings.EqualFold(g.name[:len(p)], p)
	}
	return strings.EqualFold(entry, g.name)
}

// check rejects an entry that names no group, and a name that names several.
// A pattern may match none.
func check(entry string, matched []groupRef) error {
	pattern := strings.HasSuffix(entry, "*")
	switch {
	case len(matched) == 0 && !pattern:
		return reconcile.Errorf(reconcile.ENOTFOUND, "groups: no group is named or has the id %q", entry)
	case len(matched) > 1 && !pattern:
		return reconcile.Errorf(reconcile.EINVALID, "groups: %d groups are named %q: name the one meant by its object id", len(matched), entry)
	}
	return nil
}

// quote escapes s for an OData string literal.
func quote(s string) string { return strings.ReplaceAll(s, "'", "''") }

// listGroups lists the groups matching filter (nil: all), every page.
func (c *Connector) listGroups(ctx context.Context, filter *string) ([]groupRef, error) {
	top := int32(c.cfg.PageSize)
	req, err := c.graph.groups.ToGetRequestInformation(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}, Filter: filter, Top: &top},
	})
	var out []groupRef
	if err == nil {
		_, err = c.graph.pages(ctx, req, nil, func(objs []object) error {
			for _, g := range objs {
				out = append(out, groupRef{id: g.ID, name: g.DisplayName})
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	return out, nil
}
