package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// synthetic returns a sync plan for source "okta" that creates n users (one
// or two grants each) and stores a directory of those users in groups
// groups, each user a member of perUser of them.
func synthetic(prefix string, n, groups, perUser int) *reconcile.Plan {
	roles := []string{"viewer", "editor", "admin", "billing"}
	d := &reconcile.Directory{Users: make([]reconcile.User, n), Groups: make([]reconcile.Group, groups)}
	for g := range d.Groups {
		d.Groups[g] = reconcile.Group{ID: fmt.Sprintf("%s-g%05d", prefix, g), DisplayName: fmt.Sprintf("Group %s %d", prefix, g),
			Members: make([]string, 0, n*perUser/max(groups, 1)+1)}
	}
	p := &reconcile.Plan{Kind: reconcile.KindSync, Source: "okta", Actor: "bench", Directory: d, RulesHash: "bench",
		Changes: make([]reconcile.Change, 0, n)}
	for i := range n {
		u := reconcile.User{ID: fmt.Sprintf("%s-%07d", prefix, i), UserName: fmt.Sprintf("%s.user%d@example.com", prefix, i),
			DisplayName: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("%s.user%d@example.com", prefix, i),
			GivenName: "User", FamilyName: fmt.Sprint(i), Active: true}
		d.Users[i] = u
		for j := range perUser {
			g := &d.Groups[(i*7+j*(groups/perUser+1))%groups]
			g.Members = append(g.Members, u.ID)
		}
		grants := []reconcile.Grant{{Role: roles[i%4], Reason: reconcile.ReasonGroup, Groups: []string{"Group a"}}}
		if i%2 == 0 {
			grants = append(grants, reconcile.Grant{Role: roles[(i+1)%4], Reason: reconcile.ReasonGroup, Groups: []string{"Group b"}})
		}
		rs := make([]string, len(grants))
		for k, g := range grants {
			rs[k] = g.Role
		}
		p.Changes = append(p.Changes, reconcile.Change{Kind: reconcile.ChangeCreate, User: u.UserName, Source: "okta", SourceID: u.ID,
			Grants: grants, After: map[string]any{"userName": u.UserName, "displayName": u.DisplayName, "email": u.Email,
				"givenName": u.GivenName, "familyName": u.FamilyName, "active": true, "roles": rs}})
	}
	p.Summarize()
	return p
}

const (
	benchUsers   = 100_000
	benchGroups  = 5_000
	benchPerUser = 5 // 500,000 memberships
)

func skipShort(b *testing.B) {
	if testing.Short() {
		b.Skip("100k-user benchmark skipped with -short")
	}
}

// BenchmarkApply100k applies one plan of 100,000 creates (1-2 grants each)
// with a directory of 100,000 users, 5,000 groups and 500,000 memberships to
// an empty database.
func BenchmarkApply100k(b *testing.B) {
	skipShort(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		p := synthetic("u", benchUsers, benchGroups, benchPerUser)
		b.StartTimer()
		if err := s.Apply(b.Context(), p); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
	}
}

// seeded returns a store holding the 100k synthetic plan, and the plan.
func seeded(b *testing.B) (*sqlite.Store, *reconcile.Plan) {
	b.Helper()
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	p := synthetic("u", benchUsers, benchGroups, benchPerUser)
	if err := s.Apply(b.Context(), p); err != nil {
		b.Fatal(err)
	}
	return s, p
}

func BenchmarkUsers100k(b *testing.B) {
	skipShort(b)
	s, _ := seeded(b)
	b.ResetTimer()
	for b.Loop() {
		us, err := s.Users(b.Context(), reconcile.UserFilter{})
		if err != nil || len(us) != benchUsers {
			b.Fatalf("Users: %d, %v", len(us), err)
		}
	}
}

func BenchmarkDirectory100k(b *testing.B) {
	skipShort(b)
	s, _ := seeded(b)
	b.ResetTimer()
	for b.Loop() {
		d, err := s.Directory(b.Context(), "okta")
		if err != nil || len(d.Users) != benchUsers || len(d.Groups) != benchGroups {
			b.Fatalf("Directory: %v", err)
		}
	}
}

// BenchmarkReapplyUnchanged100k applies the same directory again (an
// unchanged sync): it compares and writes (almost) nothing.
func BenchmarkReapplyUnchanged100k(b *testing.B) {
	skipShort(b)
	s, p := seeded(b)
	written := -1
	sqlite.OnDirectory(s, func(n int) { written = n })
	b.ResetTimer()
	for b.Loop() {
		q := &reconcile.Plan{Kind: reconcile.KindSync, Source: "okta", Actor: "bench", Directory: p.Directory}
		if err := s.Apply(b.Context(), q); err != nil {
			b.Fatal(err)
		}
		if written != 0 {
			b.Fatalf("an unchanged directory wrote %d rows", written)
		}
	}
}
