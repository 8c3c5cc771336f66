package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
)

// evaluator derives users' roles from one source's directory under one set of
// rules (DESIGN.md rule 3). Building it indexes the directory once; each
// user's evaluation is then a few map lookups.
type evaluator struct {
	rules      *Rules
	groups     map[string]*Group   // id → group
	parents    map[string][]string // group id → ids of the groups it is a direct member of
	userGroups map[string][]string // user id → ids of the groups it is a direct member of
	mapped     map[string][]int    // group display name → indexes of the mappings naming it
	memo       map[string][]int    // group id → sorted indexes of mappings reached from it
}

func newEvaluator(rules *Rules, d *Directory) *evaluator {
	e := &evaluator{
		rules:      rules,
		groups:     make(map[string]*Group),
		parents:    make(map[string][]string),
		userGroups: make(map[string][]string),
		mapped:     make(map[string][]int),
		memo:       make(map[string][]int),
	}
	for i, m := range rules.Mappings {
		e.mapped[m.Group] = append(e.mapped[m.Group], i)
	}
	if d == nil {
		return e
	}
	for i := range d.Groups {
		e.groups[d.Groups[i].ID] = &d.Groups[i]
	}
	for i := range d.Groups {
		g := &d.Groups[i]
		for _, m := range g.Members {
			if _, isGroup := e.groups[m]; isGroup {
				e.parents[m] = append(e.parents[m], g.ID)
			} else {
				e.userGroups[m] = append(e.userGroups[m], g.ID)
			}
		}
	}
	return e
}

// reach returns the sorted indexes of the mappings whose group is gid or any
// group gid is nested in. Cycles in the nesting are harmless.
func (e *evaluator) reach(gid string) []int {
	if r, ok := e.memo[gid]; ok {
		return r
	}
	var out []int
	seen := map[string]bool{gid: true}
	queue := []string{gid}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if g := e.groups[id]; g != nil {
			out = append(out, e.mapped[g.DisplayName]...)
		}
		for _, p := range e.parents[id] {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	e.memo[gid] = out
	return out
}

// grants derives the roles of the source user with the given id, in mapping order.
func (e *evaluator) grants(userID string) []Grant {
	var idx []int
	for _, gid := range e.userGroups[userID] {
		idx = append(idx, e.reach(gid)...)
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	if e.rules.SingleRole && len(idx) > 1 {
		idx = idx[:1]
	}
	var out []Grant
	for _, i := range idx {
		m := e.rules.Mappings[i]
		j := slices.IndexFunc(out, func(g Grant) bool { return g.Role == m.Role })
		if j < 0 {
			out = append(out, Grant{Role: m.Role, Reason: ReasonGroup, Groups: []string{m.Group}})
		} else if !slices.Contains(out[j].Groups, m.Group) {
			out[j].Groups = append(out[j].Groups, m.Group)
		}
	}
	if len(out) == 0 && e.rules.DefaultRole != "" {
		out = append(out, Grant{Role: e.rules.DefaultRole, Reason: ReasonDefault})
	}
	return out
}

// GroupPath is a group a user belongs to, and how: Via lists the groups from
// the one the user is a direct member of up to Group (empty when direct).
type GroupPath struct {
	Group  string   `json:"group"`
	Via    []string `json:"via,omitempty"`
	Mapped bool     `json:"mapped"`
}

// paths returns every group the user is in, directly or through nesting,
// with the shortest chain that makes it so, sorted by group name.
func (e *evaluator) paths(userID string) []GroupPath {
	prev := map[string]string{}
	var order, queue []string
	for _, gid := range e.userGroups[userID] {
		if _, seen := prev[gid]; !seen {
			prev[gid] = ""
			order = append(order, gid)
			queue = append(queue, gid)
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, p := range e.parents[id] {
			if _, seen := prev[p]; !seen {
				prev[p] = id
				order = append(order, p)
				queue = append(queue, p)
			}
		}
	}
	out := make([]GroupPath, 0, len(order))
	for _, gid := range order {
		var via []string
		for c := prev[gid]; c != ""; c = prev[c] {
			via = append([]string{e.groups[c].DisplayName}, via...)
		}
		name := e.groups[gid].DisplayName
		out = append(out, GroupPath{Group: name, Via: via, Mapped: len(e.mapped[name]) > 0})
	}
	slices.SortFunc(out, func(a, b GroupPath) int { return strings.Compare(a.Group, b.Group) })
	return out
}

// SortRoles orders role names as users see them: roles in the order of the
// first mapping that gives them, then the default role, then the rest of the
// catalogue, then unknown names alphabetically.
func (r *Rules) SortRoles(roles []string) []string {
	return r.roleRank().sort(slices.Clone(roles))
}

// roleRank is the order SortRoles sorts by; build it once to sort many lists.
type roleRank map[string]int

func (r *Rules) roleRank() roleRank {
	rank := make(roleRank, len(r.Roles)+len(r.Mappings))
	add := func(name string) {
		if _, ok := rank[name]; !ok {
			rank[name] = len(rank)
		}
	}
	for _, m := range r.Mappings {
		add(m.Role)
	}
	if r.DefaultRole != "" {
		add(r.DefaultRole)
	}
	for _, x := range r.Roles {
		add(x.Name)
	}
	return rank
}

// sort sorts roles in place and returns them.
func (rank roleRank) sort(roles []string) []string {
	if len(roles) < 2 {
		return roles
	}
	slices.SortStableFunc(roles, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a, b)
	})
	return roles
}

// Hash fingerprints what decides roles: the catalogue, the default role,
// single_role and the mappings in order. A store keeps the hash of the rules
// last applied, so a changed config.toml is noticed and re-derived.
func (r *Rules) Hash() string {
	type mapping struct{ Group, Role string }
	v := struct {
		Roles       []string
		DefaultRole string
		SingleRole  bool
		Mappings    []mapping
	}{r.RoleNames(), r.DefaultRole, r.SingleRole, nil}
	for _, m := range r.Mappings {
		v.Mappings = append(v.Mappings, mapping{m.Group, m.Role})
	}
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Merge returns the rules with the admin-defined roles and mappings added
// after those of the configuration, and the admin's default role and
// single_role where the configuration leaves them unset (no default role;
// single_role false). What the configuration sets wins: an admin setting it
// overrides is kept but has no effect.
func (r Rules) Merge(admin *AdminRules) Rules {
	if admin == nil {
		return r
	}
	r.Roles = append(slices.Clone(r.Roles), admin.Roles...)
	r.Mappings = append(slices.Clone(r.Mappings), admin.Mappings...)
	if r.DefaultRole == "" && admin.DefaultRole != "" {
		r.DefaultRole, r.DefaultRoleOrigin = admin.DefaultRole, OriginAdmin
	}
	if !r.SingleRole && admin.SingleRole {
		r.SingleRole, r.SingleRoleOrigin = true, OriginAdmin
	}
	return r
}
