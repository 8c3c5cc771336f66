package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// AddManualUser creates a user owned by no source, with the roles an admin
// gives it (at least one, unless the rules have a default role).
func (e *Engine) AddManualUser(ctx context.Context, u User, roles []string, actor string) (*Plan, error) {
	if strings.TrimSpace(u.UserName) == "" {
		return nil, Errorf(EINVALID, "userName is required")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rules, err := e.Rules(ctx)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 && rules.DefaultRole != "" {
		roles = []string{rules.DefaultRole}
	}
	var grants []Grant
	for _, r := range roles {
		if !rules.HasRole(r) {
			return nil, Errorf(EINVALID, "unknown role %q (roles are %s)", r, quoteList(rules.RoleNames()))
		}
		if !slices.ContainsFunc(grants, func(g Grant) bool { return g.Role == r }) {
			grants = append(grants, Grant{Role: r, Reason: ReasonManual})
		}
	}
	switch existing, err := e.store.User(ctx, u.UserName); {
	case err == nil:
		return nil, Errorf(ECONFLICT, "userName %q already exists (owned by %s)", existing.UserName, ownerName(existing.Source))
	case ErrorKind(err) != ENOTFOUND:
		return nil, err
	}
	after := userAttrs(&u)
	after[AttrActive] = true
	after["roles"] = grantRoles(grants)
	p := &Plan{Kind: KindManual, Source: Manual, Changes: []Change{{
		Kind: ChangeCreate, User: u.UserName, Source: Manual, After: after, Grants: grants, Reason: "added by hand",
	}}}
	p.Summarize()
	e.finish(p, actor, &rules)
	return p, e.apply(ctx, p)
}

// DeactivateManualUser deactivates a manual user. Users owned by a source are
// deprovisioned in their source, not by hand.
func (e *Engine) DeactivateManualUser(ctx context.Context, ref, actor string) (*Plan, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, err := e.store.User(ctx, ref)
	if err != nil {
		return nil, err
	}
	if u.Source != Manual {
		return nil, Errorf(EINVALID, "user %q is owned by source %q: deprovision it there (unassign it in the IdP); only manual users are deactivated by hand", u.UserName, u.Source)
	}
	if !u.Active {
		return nil, Errorf(EINVALID, "user %q is already inactive", u.UserName)
	}
	p := &Plan{Kind: KindManual, Source: Manual, Changes: []Change{deactivation(u, "deactivated by hand")}}
	p.Summarize()
	e.finish(p, actor, nil)
	return p, e.apply(ctx, p)
}

// Push applies a push source's writes (one SCIM request) and the changes
// they cause to app users, in one transaction. No safety brake applies:
// each push names its users one by one. With on_conflict = "reject", a
// write asserting a userName another owner has fails with ECONFLICT and
// nothing is written.
func (e *Engine) Push(ctx context.Context, w *SourceWrites, actor string) (*Plan, error) {
	ps, ok := e.store.(PushStore)
	if !ok {
		return nil, Errorf(EINTERNAL, "the store does not take pushes")
	}
	if _, sources := e.config(); !hasKey(sources, w.Source) {
		return nil, Errorf(ENOTFOUND, "source %q is not configured", w.Source)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rules, err := e.Rules(ctx)
	if err != nil {
		return nil, err
	}
	var plan *Plan
	err = ps.ApplyPush(ctx, w, func(st *PushState) (*Plan, error) {
		only := make(map[string]bool, len(st.Affected))
		for _, id := range st.Affected {
			only[id] = true
		}
		p := e.finish(Diff(Input{Rules: &rules, Users: st.Users, Source: w.Source, Fetched: st.Slice, Only: only}), actor, &rules)
		for _, c := range p.Changes {
			if c.Kind == ChangeConflict {
				return nil, Errorf(ECONFLICT, "%s", c.Reason)
			}
		}
		if p.Empty() {
			return nil, nil
		}
		plan = p
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	if plan == nil {
		return &Plan{Kind: KindPush, Source: w.Source, Actor: actor}, nil
	}
	e.applied(plan)
	return plan, nil
}

// Explanation tells why a user holds its roles.
type Explanation struct {
	User   AppUser     `json:"user"`
	Grants []Grant     `json:"grants"`           // derived now from the stored source state and the rules
	Groups []GroupPath `json:"groups,omitempty"` // every group the source puts the user in
	Note   string      `json:"note,omitempty"`
}

// Explain derives a user's roles again and says which groups gave which
// role, or why the default role applies.
func (e *Engine) Explain(ctx context.Context, ref string) (*Explanation, error) {
	u, err := e.store.User(ctx, ref)
	if err != nil {
		return nil, err
	}
	rules, err := e.Rules(ctx)
	if err != nil {
		return nil, err
	}
	u.Roles = rules.SortRoles(u.Roles)
	x := &Explanation{User: *u}
	switch {
	case u.Source == Manual:
		for _, r := range u.Roles {
			x.Grants = append(x.Grants, Grant{Role: r, Reason: ReasonManual})
		}
		x.Note = "manual user: its roles were given by an admin, no source or mapping changes them"
		return x, nil
	case !u.Active:
		x.Note = "inactive: an inactive user holds no roles"
		return x, nil
	}
	// The evaluator visits only the groups the user is in, directly or
	// through nesting: reading those gives the grants and paths the whole
	// directory would, without reading it.
	groups, err := e.store.UserGroups(ctx, u.Source, u.SourceID)
	if err != nil {
		return nil, err
	}
	if _, sources := e.config(); !hasKey(sources, u.Source) {
		x.Note = fmt.Sprintf("source %q is no longer configured", u.Source)
	}
	ev := newEvaluator(&rules, &Directory{Groups: groups})
	x.Grants = ev.grants(u.SourceID)
	x.Groups = ev.paths(u.SourceID)
	derived := grantRoles(x.Grants)
	slices.Sort(derived)
	applied := slices.Sorted(slices.Values(u.Roles))
	if !slices.Equal(derived, applied) {
		x.Note = strings.TrimPrefix(x.Note+"; the roles derived now differ from those applied (a plan is pending)", "; ")
	}
	return x, nil
}
