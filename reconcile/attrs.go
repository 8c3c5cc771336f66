package reconcile

import (
	"slices"
	"sort"
	"strings"
)

// Attribute keys used in Change.Before and Change.After.
const (
	AttrUserName    = "userName"
	AttrDisplayName = "displayName"
	AttrEmail       = "email"
	AttrGivenName   = "givenName"
	AttrFamilyName  = "familyName"
	AttrExternalID  = "externalId"
	AttrActive      = "active"
)

// UserAttrs lists the string attributes a source decides, in report order.
var UserAttrs = []string{AttrUserName, AttrDisplayName, AttrEmail, AttrGivenName, AttrFamilyName, AttrExternalID}

// values returns a source user's attributes in UserAttrs order.
func (u *User) values() [6]string {
	return [6]string{u.UserName, u.DisplayName, u.Email, u.GivenName, u.FamilyName, u.ExternalID}
}

// values returns an app user's attributes in UserAttrs order.
func (u *AppUser) values() [6]string {
	return [6]string{u.UserName, u.DisplayName, u.Email, u.GivenName, u.FamilyName, u.ExternalID}
}

// userAttrs returns every attribute of a source user that is set.
func userAttrs(u *User) map[string]any {
	m := make(map[string]any, len(UserAttrs)+2)
	for i, v := range u.values() {
		if k := UserAttrs[i]; v != "" || k == AttrUserName {
			m[k] = v
		}
	}
	return m
}

// attrDiff returns the attributes that differ between an app user and what
// its source asserts: old values in before, new ones in after.
func attrDiff(app *AppUser, su *User) (before, after map[string]any) {
	old, cur := app.values(), su.values()
	for i, k := range UserAttrs {
		o, n := old[i], cur[i]
		if o == n {
			continue
		}
		if after == nil {
			before, after = map[string]any{}, map[string]any{}
		}
		before[k], after[k] = o, n
	}
	return before, after
}

// groupChanges lists the groups a sync adds, renames or changes, and removes.
func groupChanges(old, cur *Directory) []Change {
	prev := map[string]*Group{}
	if old != nil {
		for i := range old.Groups {
			prev[old.Groups[i].ID] = &old.Groups[i]
		}
	}
	var out []Change
	for i := range cur.Groups {
		g := &cur.Groups[i]
		o := prev[g.ID]
		delete(prev, g.ID)
		if o == nil {
			out = append(out, Change{Kind: ChangeGroupCreate, Group: g.DisplayName,
				After: map[string]any{"displayName": g.DisplayName, "members": len(g.Members)}})
			continue
		}
		added, removed := memberDiff(o.Members, g.Members)
		if o.DisplayName == g.DisplayName && added == 0 && removed == 0 {
			continue
		}
		c := Change{Kind: ChangeGroupUpdate, Group: g.DisplayName,
			Before: map[string]any{"members": len(o.Members)},
			After:  map[string]any{"members": len(g.Members), "membersAdded": added, "membersRemoved": removed}}
		if o.DisplayName != g.DisplayName {
			c.Before["displayName"], c.After["displayName"] = o.DisplayName, g.DisplayName
		}
		out = append(out, c)
	}
	for _, o := range prev {
		out = append(out, Change{Kind: ChangeGroupDelete, Group: o.DisplayName,
			Before: map[string]any{"displayName": o.DisplayName, "members": len(o.Members)}})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// memberDiff counts the members added and removed between two member lists
// (members are unique within a list). It merges sorted lists: no maps.
func memberDiff(old, cur []string) (added, removed int) {
	if slices.Equal(old, cur) {
		return 0, 0
	}
	if !slices.IsSorted(old) {
		old = slices.Sorted(slices.Values(old))
	}
	if !slices.IsSorted(cur) {
		cur = slices.Sorted(slices.Values(cur))
	}
	i, j := 0, 0
	for i < len(old) && j < len(cur) {
		switch strings.Compare(old[i], cur[j]) {
		case 0:
			i, j = i+1, j+1
		case -1:
			removed, i = removed+1, i+1
		default:
			added, j = added+1, j+1
		}
	}
	return added + len(cur) - j, removed + len(old) - i
}

// sameDirectory reports whether two directories assert the same users,
// groups and memberships, whatever their order.
func sameDirectory(a, b *Directory) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.Users) != len(b.Users) || len(a.Groups) != len(b.Groups) {
		return false
	}
	users := make(map[string]User, len(a.Users))
	for _, u := range a.Users {
		users[u.ID] = u
	}
	for _, u := range b.Users {
		if o, ok := users[u.ID]; !ok || o != u {
			return false
		}
	}
	groups := make(map[string]*Group, len(a.Groups))
	for i := range a.Groups {
		groups[a.Groups[i].ID] = &a.Groups[i]
	}
	for i := range b.Groups {
		g := &b.Groups[i]
		o := groups[g.ID]
		if o == nil || o.DisplayName != g.DisplayName || len(o.Members) != len(g.Members) {
			return false
		}
		if added, removed := memberDiff(o.Members, g.Members); added+removed > 0 {
			return false
		}
	}
	return true
}
