package api_test

import (
	"slices"
	"testing"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
)

func userNames(p api.UserPage) []string {
	var out []string
	for _, u := range p.Users {
		out = append(out, u.UserName)
	}
	return out
}

func TestUsersPaging(t *testing.T) {
	f := newFixture(t) // 23 users
	var all []string
	offset := 0
	for pages := 0; ; pages++ {
		var p api.UserPage
		f.call("GET", "/users?limit=10&offset="+itoa(offset), f.read, nil, 200, &p)
		if p.Total != 23 || p.Limit != 10 || p.Offset != offset {
			t.Fatalf("page at %d: total %d, limit %d, offset %d; want 23, 10, %d", offset, p.Total, p.Limit, p.Offset, offset)
		}
		all = append(all, userNames(p)...)
		if p.Next == nil {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		if *p.Next != offset+10 {
			t.Fatalf("next = %d, want %d", *p.Next, offset+10)
		}
		offset = *p.Next
	}
	if len(all) != 23 || !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != 23 {
		t.Errorf("pages gave %d users %v; want 23 distinct, sorted", len(all), all)
	}
	var p api.UserPage
	f.call("GET", "/users?offset=100", f.read, nil, 200, &p)
	if len(p.Users) != 0 || p.Users == nil || p.Total != 23 || p.Next != nil {
		t.Errorf("past the end: %+v; want users [], total 23, no next", p)
	}
}

func TestUsersFilters(t *testing.T) {
	f := newFixture(t)
	f.src.set(func(d *reconcile.Directory) { d.Users[1].Active = false }) // bob
	if _, err := f.engine.Sync(f.ctx, f.src, reconcile.SyncOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.AddManualUser(f.ctx, reconcile.User{UserName: "root@example.com", DisplayName: "Root"}, []string{"Admin"}, "test"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		total int
		want  []string // the first names, in order
	}{
		{"role=Admin", 2, []string{"ann@example.com", "root@example.com"}},
		{"source=manual", 1, []string{"root@example.com"}},
		{"source=hr&role=Admin", 1, []string{"ann@example.com"}},
		{"active=false", 1, []string{"bob@example.com"}},
		{"active=true&role=Viewer&limit=2", 21, []string{"cat@example.com", "u00@example.com"}},
		{"q=LEE", 1, []string{"ann@example.com"}},
		{"q=user%20u1", 10, []string{"u10@example.com"}},
		{"role=Nobody", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			f.t = t
			var p api.UserPage
			f.call("GET", "/users?"+tt.query, f.read, nil, 200, &p)
			got := userNames(p)
			if p.Total != tt.total || len(got) < len(tt.want) || !slices.Equal(got[:len(tt.want)], tt.want) {
				t.Errorf("total %d, users %v; want total %d, starting %v", p.Total, got, tt.total, tt.want)
			}
		})
	}
	for _, bad := range []string{"active=maybe", "limit=0", "limit=1001", "offset=-1", "limit=ten"} {
		t.Run(bad, func(t *testing.T) {
			f.t = t
			f.fails("GET", "/users?"+bad, f.read, nil, 400, reconcile.EINVALID)
		})
	}
}

func TestUserGetAndExplain(t *testing.T) {
	f := newFixture(t)
	var byName reconcile.AppUser
	f.call("GET", "/users/CAT@example.com", f.read, nil, 200, &byName)
	var byID reconcile.AppUser
	f.call("GET", "/users/"+byName.ID, f.read, nil, 200, &byID)
	if byID.UserName != "cat@example.com" || !slices.Equal(byID.Roles, []string{"Viewer"}) || byID.Source != "hr" {
		t.Errorf("GET /users/{id} = %+v; want cat, role Viewer, source hr", byID)
	}
	var x reconcile.Explanation
	f.call("GET", "/users/ann@example.com/explain", f.read, nil, 200, &x)
	if len(x.Grants) != 1 || x.Grants[0].Role != "Admin" || x.Grants[0].Reason != reconcile.ReasonGroup || !slices.Equal(x.Grants[0].Groups, []string{"ph-admin"}) {
		t.Errorf("explain ann: grants %+v; want Admin through ph-admin", x.Grants)
	}
	f.fails("GET", "/users/nobody@example.com", f.read, nil, 404, reconcile.ENOTFOUND)
	f.fails("GET", "/users/nobody@example.com/explain", f.read, nil, 404, reconcile.ENOTFOUND)
}
