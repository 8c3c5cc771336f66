package reconcile

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Input is everything Diff needs; Diff reads it and never changes it.
type Input struct {
	Rules *Rules
	// Users are the current app users: all of them for a full plan.
	Users []AppUser
	// States holds the stored state of every configured source (a nil
	// directory: the source never ran). Sources missing here are not
	// configured: their users are left alone unless Remove names one.
	States map[string]*Directory
	// Source is the source this plan is about: the one synced (Fetched) or
	// removed (Remove). Empty for a plan that re-derives roles only.
	Source  string
	Fetched *Directory // Source's freshly fetched directory, for a sync
	Remove  bool       // Source left the configuration: deactivate its users
	// Brake limits Source's deactivations; over it the plan is held.
	Brake Threshold
	// Only, when set, narrows the plan to these users of Source (source ids):
	// a push event. Fetched then holds just them (and their groups); one of
	// them missing from Fetched was deleted from the source.
	Only map[string]bool
}

// Diff is the pure planning function: it compares the app users with what
// their sources assert under the rules and returns the changes that bring
// them in line. A sync also plans the creates, adoptions and conflicts for
// users the source asserts but does not own yet. Status is StatusHeld when
// the plan would deactivate more of Source's users than Brake allows, and
// empty otherwise.
func Diff(in Input) *Plan {
	p := &Plan{Source: in.Source, Kind: KindRules}
	switch {
	case in.Remove:
		p.Kind, p.DropSource = KindRemove, in.Source
	case in.Fetched != nil:
		p.Kind, p.Directory = KindSync, in.Fetched
	}
	d := newDiffer(in)
	if in.Only != nil {
		p.Kind, p.Directory = KindPush, nil
		d.source(p, in.Source)
		p.Summarize()
		return p
	}
	for _, name := range d.sourceNames() {
		d.source(p, name)
	}
	if in.Remove {
		var active []*AppUser
		for _, u := range d.owned[in.Source] {
			if u.Active {
				active = append(active, u)
			}
		}
		for _, u := range sortedUsers(active) {
			p.Changes = append(p.Changes, deactivation(u, fmt.Sprintf("source %q was removed from the configuration", in.Source)))
		}
	}
	if in.Fetched != nil {
		p.Changes = append(p.Changes, groupChanges(in.States[in.Source], in.Fetched)...)
		if p.Empty() && sameDirectory(in.States[in.Source], in.Fetched) {
			p.Directory = nil // nothing to store either
		}
	}
	p.Summarize()
	d.brake(p)
	return p
}

type differ struct {
	in     Input
	owned  map[string]map[string]*AppUser // owner → source id → user
	byName map[string]*AppUser            // folded userName → user
	ids    map[string]map[string]*User    // source → its directory's users by id, built on demand
	rank   roleRank                       // the rules' role order, for revokes
}

func newDiffer(in Input) *differ {
	d := &differ{in: in, owned: map[string]map[string]*AppUser{}, byName: make(map[string]*AppUser, len(in.Users)), ids: map[string]map[string]*User{}, rank: in.Rules.roleRank()}
	for i := range in.Users {
		u := &in.Users[i]
		d.byName[FoldName(u.UserName)] = u
		if d.owned[u.Source] == nil {
			d.owned[u.Source] = map[string]*AppUser{}
		}
		d.owned[u.Source][u.SourceID] = u
	}
	return d
}

// sourceNames lists the configured sources in a stable order.
func (d *differ) sourceNames() []string {
	names := make([]string, 0, len(d.in.States)+1)
	for n := range d.in.States {
		names = append(names, n)
	}
	if d.in.Fetched != nil && !slices.Contains(names, d.in.Source) {
		names = append(names, d.in.Source)
	}
	if d.in.Remove {
		names = slices.DeleteFunc(names, func(n string) bool { return n == d.in.Source })
	}
	sort.Strings(names)
	return names
}

func (d *differ) directory(source string) *Directory {
	if source == d.in.Source && d.in.Fetched != nil {
		return d.in.Fetched
	}
	return d.in.States[source]
}

// source plans the users one source owns or, when it is being synced, asserts.
func (d *differ) source(p *Plan, name string) {
	dir := d.directory(name)
	if dir == nil {
		return
	}
	fresh := name == d.in.Source && d.in.Fetched != nil
	ev := newEvaluator(d.in.Rules, dir)
	// The previous state's evaluator names the groups a user left; it is
	// built only when a revoke needs it.
	var prev *evaluator
	old := func() *evaluator {
		if prev == nil && fresh {
			prev = newEvaluator(d.in.Rules, d.in.States[name])
		}
		return prev
	}
	users := byFoldedName(dir.Users)
	seen := make(map[*AppUser]bool, len(users))
	for _, su := range users {
		if fresh && d.in.Only != nil && !d.in.Only[su.ID] {
			continue
		}
		app := d.owned[name][su.ID]
		if app == nil {
			// The source may have re-created a user it already owns under a new id.
			if u := d.byName[FoldName(su.UserName)]; u != nil && u.Source == name && !d.asserted(name, u.SourceID, dir) {
				app = u
				p.Changes = append(p.Changes, Change{
					Kind: ChangeAdopt, User: u.UserName, UserID: u.ID, Source: name, SourceID: su.ID,
					Reason: "the source re-created the user under a new id",
					Before: map[string]any{"source": name, "sourceId": u.SourceID},
					After:  map[string]any{"source": name, "sourceId": su.ID},
				})
			}
		}
		if app == nil {
			if fresh {
				d.newUser(p, name, su, ev)
			}
			continue
		}
		seen[app] = true
		d.user(p, app, su, ev, old, "")
	}
	var gone []*AppUser
	for _, u := range d.owned[name] {
		if !seen[u] && u.Active && (d.in.Only == nil || d.in.Only[u.SourceID]) {
			gone = append(gone, u)
		}
	}
	for _, u := range sortedUsers(gone) {
		p.Changes = append(p.Changes, deactivation(u, fmt.Sprintf("no longer in source %q", name)))
	}
}

// asserted reports whether the directory has a user with the given id.
func (d *differ) asserted(source, id string, dir *Directory) bool {
	return d.sourceUser(source, id, dir) != nil
}

// sourceUser finds a user of a directory by id, indexing the directory once.
func (d *differ) sourceUser(source, id string, dir *Directory) *User {
	if dir == nil {
		return nil
	}
	idx := d.ids[source]
	if idx == nil {
		idx = make(map[string]*User, len(dir.Users))
		for i := range dir.Users {
			idx[dir.Users[i].ID] = &dir.Users[i]
		}
		d.ids[source] = idx
	}
	return idx[id]
}

// newUser plans a user the synced source asserts and does not own: a create,
// or an adoption, or a conflict (DESIGN.md rule 5).
func (d *differ) newUser(p *Plan, source string, su *User, ev *evaluator) {
	if !su.Active {
		return // never create or adopt a user only to deactivate it
	}
	other := d.byName[FoldName(su.UserName)]
	if other == nil {
		after := userAttrs(su)
		after["active"] = true
		grants := ev.grants(su.ID)
		after["roles"] = grantRoles(grants)
		p.Changes = append(p.Changes, Change{
			Kind: ChangeCreate, User: su.UserName, Source: source, SourceID: su.ID, After: after, Grants: grants,
		})
		return
	}
	owner := other.Source
	if owner != Manual && d.stillAsserts(owner, other.SourceID) {
		p.Changes = append(p.Changes, Change{
			Kind: ChangeConflict, User: su.UserName, UserID: other.ID, Source: source, SourceID: su.ID,
			Reason: fmt.Sprintf("userName %q is also asserted by source %q, which owns it; two sources cannot own one user", su.UserName, owner),
		})
		return
	}
	if d.in.Rules.OnConflict == Reject {
		p.Changes = append(p.Changes, Change{
			Kind: ChangeConflict, User: su.UserName, UserID: other.ID, Source: source, SourceID: su.ID,
			Reason: fmt.Sprintf("userName %q belongs to %s; on_conflict = \"reject\"", su.UserName, ownerName(owner)),
		})
		return
	}
	p.Changes = append(p.Changes, Change{
		Kind: ChangeAdopt, User: other.UserName, UserID: other.ID, Source: source, SourceID: su.ID,
		Reason: fmt.Sprintf("userName %q belonged to %s; on_conflict = \"adopt\"", su.UserName, ownerName(owner)),
		Before: map[string]any{"source": owner, "sourceId": other.SourceID},
		After:  map[string]any{"source": source, "sourceId": su.ID},
	})
	// From now on the source's groups decide the user's roles (a manual
	// user's hand-given roles included), and its attributes follow the source.
	adopted := *other
	adopted.Source, adopted.SourceID = source, su.ID
	d.user(p, &adopted, su, ev, func() *evaluator { return nil }, owner)
}

// stillAsserts reports whether a configured source's stored state still has the user.
func (d *differ) stillAsserts(source, id string) bool {
	if _, configured := d.in.States[source]; !configured || (d.in.Remove && source == d.in.Source) {
		return false
	}
	u := d.sourceUser(source, id, d.directory(source))
	return u != nil && u.Active
}

// user plans one app user against what its owning source asserts.
// adoptedFrom names the previous owner when the user is being adopted.
func (d *differ) user(p *Plan, app *AppUser, su *User, ev *evaluator, old func() *evaluator, adoptedFrom string) {
	if !su.Active {
		if app.Active {
			p.Changes = append(p.Changes, deactivation(app, "inactive in the source"))
		}
		return
	}
	ref := Change{User: app.UserName, UserID: app.ID, Source: app.Source, SourceID: app.SourceID}
	current := app.Roles
	if !app.Active {
		c := ref
		c.Kind, c.Reason = ChangeReactivate, "active again in the source"
		c.Before, c.After = map[string]any{"active": false}, map[string]any{"active": true}
		p.Changes = append(p.Changes, c)
		current = nil
	}
	if before, after := attrDiff(app, su); len(after) > 0 {
		if n, ok := after["userName"].(string); ok {
			if taken := d.byName[FoldName(n)]; taken != nil && taken.ID != app.ID {
				c := ref
				c.Kind = ChangeConflict
				c.Reason = fmt.Sprintf("cannot rename to %q: the userName belongs to %s", n, ownerName(taken.Source))
				p.Changes = append(p.Changes, c)
				delete(before, "userName")
				delete(after, "userName")
			}
		}
		if len(after) > 0 {
			c := ref
			c.Kind, c.Before, c.After = ChangeUpdate, before, after
			p.Changes = append(p.Changes, c)
		}
	}
	want := ev.grants(su.ID)
	for _, g := range want {
		if !slices.Contains(current, g.Role) {
			c := ref
			c.Kind, c.Role, c.Groups, c.Reason = ChangeGrant, g.Role, g.Groups, grantReason(g)
			p.Changes = append(p.Changes, c)
		}
	}
	var gone []string
	for _, r := range current {
		if !slices.ContainsFunc(want, func(g Grant) bool { return g.Role == r }) {
			gone = append(gone, r)
		}
	}
	for _, r := range d.rank.sort(gone) {
		c := ref
		c.Kind, c.Role = ChangeRevoke, r
		c.Reason, c.Groups = d.revokeReason(r, want, old, su.ID)
		if adoptedFrom != "" && c.Groups == nil && c.Reason != defaultOverridden {
			c.Reason = fmt.Sprintf("adopted from %s: the source's groups decide its roles now", ownerName(adoptedFrom))
		}
		p.Changes = append(p.Changes, c)
	}
}

func (d *differ) revokeReason(role string, want []Grant, oldEv func() *evaluator, userID string) (string, []string) {
	if role == d.in.Rules.DefaultRole && len(want) > 0 && want[0].Reason == ReasonGroup {
		return defaultOverridden, nil
	}
	if !d.in.Rules.HasRole(role) {
		return "the role is no longer in the catalogue", nil
	}
	if old := oldEv(); old != nil {
		for _, g := range old.grants(userID) {
			if g.Role == role && g.Reason == ReasonGroup {
				return "left " + strings.Join(g.Groups, ", "), g.Groups
			}
		}
	}
	if d.in.Rules.SingleRole {
		return "single_role: an earlier mapping gives another role", nil
	}
	return "no mapped group gives this role any more", nil
}

const defaultOverridden = "a mapped role takes precedence over the default role"

func grantReason(g Grant) string {
	if g.Reason == ReasonDefault {
		return "default role: no mapped group"
	}
	return "member of " + strings.Join(g.Groups, ", ")
}

func grantRoles(gs []Grant) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Role
	}
	return out
}

func ownerName(owner string) string {
	if owner == Manual {
		return "a manual user"
	}
	return fmt.Sprintf("source %q", owner)
}

func deactivation(u *AppUser, reason string) Change {
	before := map[string]any{"active": true}
	if len(u.Roles) > 0 {
		before["roles"] = slices.Clone(u.Roles)
	}
	return Change{
		Kind: ChangeDeactivate, User: u.UserName, UserID: u.ID, Source: u.Source, SourceID: u.SourceID,
		Reason: reason, Before: before, After: map[string]any{"active": false},
	}
}

// sortedUsers sorts app users by folded userName, in place.
func sortedUsers(us []*AppUser) []*AppUser {
	sort.Slice(us, func(i, j int) bool { return FoldName(us[i].UserName) < FoldName(us[j].UserName) })
	return us
}

// byFoldedName returns pointers to the users sorted by folded userName,
// folding each name once.
func byFoldedName(users []User) []*User {
	type keyed struct {
		key string
		u   *User
	}
	ks := make([]keyed, len(users))
	for i := range users {
		ks[i] = keyed{FoldName(users[i].UserName), &users[i]}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	out := make([]*User, len(ks))
	for i, k := range ks {
		out[i] = k.u
	}
	return out
}

// brake holds the plan when it deactivates more of its source's users than allowed.
func (d *differ) brake(p *Plan) {
	if d.in.Source == "" || p.Summary.Deactivate == 0 {
		return
	}
	total := 0
	for _, u := range d.owned[d.in.Source] {
		if u.Active {
			total++
		}
	}
	n := 0
	for _, c := range p.Changes {
		if c.Kind == ChangeDeactivate && c.Source == d.in.Source {
			n++
		}
	}
	if limit := d.in.Brake.Limit(total); n > limit {
		p.Status = StatusHeld
		p.Summary.Held = n
		p.HeldReason = fmt.Sprintf("would deactivate %d of %d active users of source %q (max_deactivations = %s allows %d)",
			n, total, d.in.Source, d.in.Brake, limit)
	}
}
