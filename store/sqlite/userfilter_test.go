package sqlite_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// Users and CountUsers write a big source or role (more than a thousand
// users) differently from a small one; both must select the same users.
func TestUsersBigAndSmallFilters(t *testing.T) {
	s := openTemp(t)
	type user struct {
		name, display, source string
		active                bool
		roles                 []string
	}
	var users []user
	p := &reconcile.Plan{Kind: reconcile.KindManual, Source: reconcile.Manual}
	for i := range 1500 {
		u := user{name: fmt.Sprintf("User%04d", (i*7919)%1500), display: []string{"Ann Lee", "Bo Ødegård", "Cy Kim"}[i%3],
			source: "big", active: i%10 != 0, roles: []string{"common"}}
		if i%15 == 0 {
			u.source = "small"
		}
		if i%40 == 0 {
			u.roles = append(u.roles, "rare")
		}
		if i%7 == 0 {
			u.roles = u.roles[1:]
		}
		users = append(users, u)
		after := map[string]any{"userName": u.name, "displayName": u.display, "email": strings.ToLower(u.name) + "@example.com",
			"active": u.active, "roles": u.roles}
		var grants []reconcile.Grant
		for _, r := range u.roles {
			grants = append(grants, reconcile.Grant{Role: r, Reason: reconcile.ReasonManual})
		}
		p.Changes = append(p.Changes, reconcile.Change{Kind: reconcile.ChangeCreate, User: u.name, Source: u.source,
			SourceID: u.name, After: after, Grants: grants})
	}
	if err := s.Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(users, func(a, b user) int { return strings.Compare(reconcile.FoldName(a.name), reconcile.FoldName(b.name)) })
	yes, no := true, false
	for _, source := range []string{"", "big", "small"} {
		for _, role := range []string{"", "common", "rare"} {
			for _, active := range []*bool{nil, &yes, &no} {
				for _, query := range []string{"", "ødegård", "user01"} {
					f := reconcile.UserFilter{Source: source, Role: role, Active: active, Query: query}
					var want []string
					for _, u := range users {
						if (source == "" || u.source == source) && (role == "" || slices.Contains(u.roles, role)) &&
							(active == nil || u.active == *active) &&
							(query == "" || strings.Contains(strings.ToLower(u.name+"\n"+u.display+"\n"+u.name+"@example.com"), query)) {
							want = append(want, u.name)
						}
					}
					checkUsers(t, s, f, want)
				}
			}
		}
	}
}

// checkUsers compares Users(f), a page of it and CountUsers(f) with want.
func checkUsers(t *testing.T, s *sqlite.Store, f reconcile.UserFilter, want []string) {
	t.Helper()
	names := func(us []reconcile.AppUser) []string {
		out := []string{}
		for _, u := range us {
			out = append(out, u.UserName)
		}
		return out
	}
	if want == nil {
		want = []string{}
	}
	all, err := s.Users(t.Context(), f)
	if err != nil {
		t.Fatalf("Users(%+v): %v", f, err)
	}
	if got := names(all); !slices.Equal(got, want) {
		t.Errorf("Users(%+v) = %d users %q…, want %d %q…", f, len(got), got[:min(3, len(got))], len(want), want[:min(3, len(want))])
	}
	f.Limit, f.Offset = 50, 20
	page, err := s.Users(t.Context(), f)
	if err != nil {
		t.Fatalf("Users(%+v): %v", f, err)
	}
	if got, w := names(page), want[min(20, len(want)):min(70, len(want))]; !slices.Equal(got, w) {
		t.Errorf("Users(%+v) = %q, want %q", f, got, w)
	}
	if n, err := s.CountUsers(t.Context(), f); err != nil || n != len(want) {
		t.Errorf("CountUsers(%+v) = %d, %v; want %d", f, n, err, len(want))
	}
}
