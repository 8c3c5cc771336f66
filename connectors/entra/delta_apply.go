package entra

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"

	"github.com/idpsync/idpsync/reconcile"
)

// deltaPage is one page of a delta query, its objects left raw: which
// properties an object carries is part of what it says.
type deltaPage struct {
	Value []json.RawMessage `json:"value"`
	links
}

type removed struct {
	Reason string `json:"reason"`
}

// deltaGroup is a group of /groups/delta: a name if it changed, member
// changes, or its removal.
type deltaGroup struct {
	ID          string   `json:"id"`
	DisplayName *string  `json:"displayName"`
	Removed     *removed `json:"@removed"`
	Members     []struct {
		Type    string   `json:"@odata.type"`
		ID      string   `json:"id"`
		Removed *removed `json:"@removed"`
	} `json:"members@delta"`
}

// deltaState is prev with the changes read so far.
type deltaState struct {
	users    map[string]reconcile.User
	newUsers []string // ids of users the users delta reported that prev lacked
	groups   map[string]*reconcile.Group
	order    []string                   // group ids in directory order
	isGroup  map[string]bool            // ids known to be groups
	named    map[string]string          // names of groups not in prev, as the delta reported them
	members  map[string]map[string]bool // member sets of the groups changed
}

func newDeltaState(prev *reconcile.Directory) *deltaState {
	s := &deltaState{users: make(map[string]reconcile.User, len(prev.Users)), groups: make(map[string]*reconcile.Group, len(prev.Groups)),
		isGroup: map[string]bool{}, named: map[string]string{}, members: map[string]map[string]bool{}}
	for _, u := range prev.Users {
		s.users[u.ID] = u
	}
	for _, g := range prev.Groups {
		g.Members = slices.Clone(g.Members)
		s.groups[g.ID] = &g
		s.order = append(s.order, g.ID)
		s.isGroup[g.ID] = true
	}
	return s
}

// delta reads the changes since cu and applies them to the stored state,
// read through prev only when there are changes. No directory: nothing
// changed.
func (c *Connector) delta(ctx context.Context, prev func(context.Context) (*reconcile.Directory, error), cu cursor) (*reconcile.Directory, cursor, error) {
	var users, groups []json.RawMessage // a delta is small: kept whole, then applied
	next := cu
	var err error
	if next.Users, err = c.readDelta(ctx, cu.Users, func(raw json.RawMessage) error { users = append(users, raw); return nil }); err != nil {
		return nil, cu, fmt.Errorf("users delta: %w", err)
	}
	if next.Groups, err = c.readDelta(ctx, cu.Groups, func(raw json.RawMessage) error { groups = append(groups, raw); return nil }); err != nil {
		return nil, cu, fmt.Errorf("groups delta: %w", err)
	}
	if len(users) == 0 && len(groups) == 0 {
		return nil, cu, nil
	}
	state, err := prev(ctx)
	if err != nil {
		return nil, cu, err
	}
	if state == nil {
		return nil, cu, fmt.Errorf("%w: no stored state to apply the changes to", errFull)
	}
	s := newDeltaState(state)
	for _, raw := range users {
		if err := c.userDelta(s, raw); err != nil {
			return nil, cu, fmt.Errorf("users delta: %w", err)
		}
	}
	for _, raw := range groups {
		if err := s.groupDelta(raw); err != nil {
			return nil, cu, fmt.Errorf("groups delta: %w", err)
		}
	}
	d, err := c.rebuild(ctx, s)
	if err != nil {
		return nil, cu, err
	}
	return d, next, nil
}

// readDelta reads a delta query from link to its end and returns the next
// deltaLink.
func (c *Connector) readDelta(ctx context.Context, link string, each func(json.RawMessage) error) (string, error) {
	req, err := getURL(link)
	if err != nil {
		return "", err
	}
	next, err := c.graph.walk(ctx, req, func(body []byte) (links, error) {
		var p deltaPage
		if err := json.Unmarshal(body, &p); err != nil {
			return links{}, fmt.Errorf("decoding a page: %w", err)
		}
		for _, raw := range p.Value {
			if err := each(raw); err != nil {
				return links{}, err
			}
		}
		return p.links, nil
	})
	if err == nil && next == "" {
		err = fmt.Errorf("the last page has no @odata.deltaLink")
	}
	return next, err
}

// userDelta applies a user of /users/delta: only the properties it carries
// change.
func (c *Connector) userDelta(s *deltaState, raw json.RawMessage) error {
	var o object
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("decoding a user: %w", err)
	}
	if err := json.Unmarshal(raw, &present); err != nil {
		return fmt.Errorf("decoding a user: %w", err)
	}
	if o.ID == "" {
		return fmt.Errorf("a user without an id")
	}
	if _, gone := present["@removed"]; gone {
		delete(s.users, o.ID)
		return nil
	}
	u, ok := s.users[o.ID]
	if !ok {
		s.newUsers = append(s.newUsers, o.ID)
		return nil
	}
	if _, ok := present["accountEnabled"]; ok {
		u.Active = o.AccountEnabled
	}
	for _, m := range c.cfg.mapping() {
		v, ok := present[m.prop]
		if !ok {
			continue
		}
		if _, known := userProps[m.prop]; known {
			m.set(&u, readProp(&o, m.prop))
			continue
		}
		ext, err := extValue(v)
		if err != nil {
			return fmt.Errorf("decoding a user: %s: %w", m.prop, err)
		}
		m.set(&u, ext)
	}
	s.users[o.ID] = u
	return nil
}

// groupDelta applies a group of /groups/delta.
func (s *deltaState) groupDelta(raw json.RawMessage) error {
	var g deltaGroup
	if err := json.Unmarshal(raw, &g); err != nil {
		return fmt.Errorf("decoding a group: %w", err)
	}
	if g.ID == "" {
		return fmt.Errorf("a group without an id")
	}
	if g.Removed != nil {
		delete(s.groups, g.ID)
		delete(s.named, g.ID)
		return nil
	}
	known := s.groups[g.ID]
	if known == nil {
		// Not in scope before: if it is now, it is read whole.
		if g.DisplayName != nil {
			s.named[g.ID] = *g.DisplayName
		}
		return nil
	}
	if g.DisplayName != nil {
		known.DisplayName = *g.DisplayName
	}
	for _, m := range g.Members {
		switch m.Type {
		case odataGroup:
			s.isGroup[m.ID] = true
		case odataUser, "":
		default:
			continue // devices, service principals, contacts
		}
		set := s.members[g.ID]
		if set == nil {
			set = make(map[string]bool, len(known.Members))
			for _, id := range known.Members {
				set[id] = true
			}
			s.members[g.ID] = set
		}
		switch {
		case m.Removed != nil:
			set[m.ID] = false
		case !set[m.ID]:
			set[m.ID] = true
			known.Members = append(known.Members, m.ID)
		}
	}
	return nil
}

// rebuild turns the changed state into the directory: the configured groups
// (found again, as a name may have changed), the groups nested in them (read
// whole if new to the scope), and their users (read if new).
func (c *Connector) rebuild(ctx context.Context, s *deltaState) (*reconcile.Directory, error) {
	for id, set := range s.members {
		if g := s.groups[id]; g != nil {
			g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return !set[m] })
		}
	}
	roots, err := c.roots(s)
	if err != nil {
		return nil, err
	}
	st := &state{cfg: c.cfg, ext: c.cfg.extensions(), users: map[string]reconcile.User{}}
	reach := map[string]bool{}
	var pending []groupRef
	var visit func(id string)
	visit = func(id string) {
		if reach[id] {
			return
		}
		reach[id] = true
		g := s.groups[id]
		if g == nil {
			pending = append(pending, groupRef{id: id, name: s.named[id]})
			return
		}
		for _, m := range g.Members {
			if s.isGroup[m] {
				visit(m)
			}
		}
	}
	for _, id := range roots {
		visit(id)
	}
	for len(pending) > 0 {
		level := pending
		pending = nil
		if err := c.names(ctx, level); err != nil {
			return nil, err
		}
		results, err := c.readMembers(ctx, st, level)
		if err != nil {
			return nil, err
		}
		for i, g := range level {
			s.groups[g.id] = &reconcile.Group{ID: g.id, DisplayName: g.name, Members: results[i].members}
			s.order = append(s.order, g.id)
			for _, n := range results[i].nested {
				s.isGroup[n.id] = true
				if _, ok := s.named[n.id]; !ok {
					s.named[n.id] = n.name
				}
			}
		}
		for _, g := range level {
			reach[g.id] = false // visit it again, now that its members are known
			visit(g.id)
		}
	}
	return c.assemble(ctx, s, st, reach)
}

// roots finds the configured groups among those known. A name that now
// names no group, or several, needs the full read, which reports it.
func (c *Connector) roots(s *deltaState) ([]string, error) {
	var candidates []groupRef
	for _, id := range s.order {
		if g := s.groups[id]; g != nil {
			candidates = append(candidates, groupRef{id: id, name: g.DisplayName})
		}
	}
	var named []groupRef
	for id, name := range s.named {
		named = append(named, groupRef{id: id, name: name})
	}
	slices.SortFunc(named, func(a, b groupRef) int { return cmp.Compare(a.id, b.id) })
	candidates = append(candidates, named...)
	var out []string
	for _, e := range c.cfg.Groups {
		var matched []groupRef
		for _, g := range candidates {
			if matches(e, g) {
				matched = append(matched, g)
			}
		}
		if err := check(e, matched); err != nil {
			return nil, fmt.Errorf("%w: %v", errFull, err)
		}
		for _, g := range matched {
			out = append(out, g.id)
		}
	}
	return out, nil
}

// names looks up the names of groups known only by id (a nested group
// added through members@delta).
func (c *Connector) names(ctx context.Context, refs []groupRef) error {
	for i := range refs {
		if refs[i].name != "" {
			continue
		}
		g, err := c.graph.groups.ByGroupId(refs[i].id).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName"}},
		})
		if err != nil {
			return fmt.Errorf("group %s: %w", refs[i].id, err)
		}
		refs[i].name = deref(g.GetDisplayName())
	}
	return nil
}

// assemble builds the directory from the reachable groups and the users
// the scope takes: every user, or the members of those groups.
func (c *Connector) assemble(ctx context.Context, s *deltaState, st *state, reach map[string]bool) (*reconcile.Directory, error) {
	final := map[string]reconcile.User{}
	var missing []string
	take := func(id string) {
		if _, ok := final[id]; ok {
			return
		}
		if u, ok := st.users[id]; ok { // read just now
			final[id] = u
		} else if u, ok := s.users[id]; ok {
			final[id] = u
		} else {
			missing = append(missing, id)
			final[id] = reconcile.User{} // placeholder until read
		}
	}
	if c.cfg.Users == UsersAll {
		for id := range s.users {
			take(id)
		}
		for _, id := range s.newUsers {
			take(id)
		}
	}
	for _, id := range s.order {
		if g := s.groups[id]; g != nil && reach[id] {
			for _, m := range g.Members {
				if !s.isGroup[m] {
					take(m)
				}
			}
		}
	}
	if err := c.usersByID(ctx, st, missing); err != nil {
		return nil, err
	}
	for _, id := range missing {
		if u, ok := st.users[id]; ok {
			final[id] = u
		} else {
			delete(final, id) // gone since
		}
	}

	d := &reconcile.Directory{Users: make([]reconcile.User, 0, len(final))}
	for _, id := range s.order {
		g := s.groups[id]
		if g == nil || !reach[id] {
			continue
		}
		g.Members = slices.DeleteFunc(g.Members, func(m string) bool {
			if s.isGroup[m] {
				return s.groups[m] == nil || !reach[m]
			}
			_, ok := final[m]
			return !ok
		})
		d.Groups = append(d.Groups, *g)
	}
	for _, u := range final {
		d.Users = append(d.Users, u)
	}
	slices.SortFunc(d.Users, func(a, b reconcile.User) int { return cmp.Compare(a.ID, b.ID) })
	return d, nil
}

// idsPerFilter is how many ids one "id in (…)" filter takes.
const idsPerFilter = 15

// usersByID reads users by id, 15 per request, into st. Ids Graph no longer
// has are left out.
func (c *Connector) usersByID(ctx context.Context, st *state, ids []string) error {
	for chunk := range slices.Chunk(ids, idsPerFilter) {
		quoted := make([]string, len(chunk))
		for i, id := range chunk {
			quoted[i] = "'" + quote(id) + "'"
		}
		filter := "id in (" + strings.Join(quoted, ",") + ")"
		if err := c.readUsers(ctx, st, &filter); err != nil {
			return fmt.Errorf("users by id: %w", err)
		}
	}
	return nil
}
