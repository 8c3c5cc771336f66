package sqlite_test

import (
	"fmt"
	"testing"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

const bigGroup = 50_000

// seededPush returns a store where push source "scim" holds 100,000 users
// (each with a SCIM resource, and an app user with roles), 5,000 groups of
// the synthetic directory and group "big" of the first 50,000 users.
func seededPush(b *testing.B) *sqlite.Store {
	b.Helper()
	skipShort(b)
	s := openBench(b)
	p := synthetic("u", benchUsers, benchGroups, benchPerUser)
	p.Source = "scim"
	for i := range p.Changes {
		p.Changes[i].Source = "scim"
	}
	big := reconcile.Group{ID: "big", DisplayName: "Big", Members: make([]string, bigGroup)}
	for i := range bigGroup {
		big.Members[i] = p.Directory.Users[i].ID
	}
	p.Directory.Groups = append(p.Directory.Groups, big)
	if err := s.Apply(b.Context(), p); err != nil {
		b.Fatal(err)
	}
	_, err := sqlite.DB(s).ExecContext(b.Context(), `UPDATE source_users SET resource = json_object(
		'schemas', json_array('urn:ietf:params:scim:schemas:core:2.0:User'), 'userName', user_name,
		'name', json_object('givenName', given_name, 'familyName', family_name), 'displayName', display_name,
		'emails', json_array(json_object('primary', json('true'), 'type', 'work', 'value', email)), 'active', json('true'))`)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func openBench(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(b.Context(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

var benchRules = &reconcile.Rules{Roles: []reconcile.Role{{Name: "viewer"}, {Name: "editor"}, {Name: "admin"}, {Name: "billing"}},
	DefaultRole: "viewer", OnConflict: reconcile.Adopt,
	Mappings: []reconcile.Mapping{{Group: "Group u 1", Role: "editor"}, {Group: "Big", Role: "admin"}}}

// addMembers pushes, once per iteration, the addition of one user who is
// not yet a member of the 50,000-member group.
func addMembers(b *testing.B, plan func(*reconcile.PushState) (*reconcile.Plan, error)) {
	s := seededPush(b)
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("u-%07d", bigGroup+i%bigGroup)
		i++
		w := &reconcile.SourceWrites{Source: "scim", Members: []reconcile.MemberWrite{{Group: "big", Add: []string{id}}}}
		if err := s.ApplyPush(b.Context(), w, plan); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushAddMember50k: PATCH adding one member to a 50,000-member
// group of a 100,000-user source, with a plan callback that plans nothing.
func BenchmarkPushAddMember50k(b *testing.B) { addMembers(b, noPlan) }

// BenchmarkPushAddMember50kDiff is the same push planned by reconcile.Diff
// as the engine does: "Big" maps to a role, so each push grants it to the
// new member (a plan, its changes and change log applied).
func BenchmarkPushAddMember50kDiff(b *testing.B) {
	var st *reconcile.PushState
	addMembers(b, diffPlan(benchRules, &st))
}

// BenchmarkPushCreateUser100k: POST /Users into the 100,000-user source,
// planned by reconcile.Diff (an app user created with the default role).
func BenchmarkPushCreateUser100k(b *testing.B) {
	s := seededPush(b)
	var st *reconcile.PushState
	plan := diffPlan(benchRules, &st)
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("new-%07d", i)
		i++
		w := &reconcile.SourceWrites{Source: "scim", Users: []reconcile.SourceUser{newUser(id, id+"@example.com")}}
		if err := s.ApplyPush(b.Context(), w, plan); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFilterUserName100k: GET /Users?filter=userName eq "…" at 100,000 users.
func BenchmarkFilterUserName100k(b *testing.B) {
	s := seededPush(b)
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("U.User%d@Example.com", (i*7919)%benchUsers)
		i++
		f := &filter.AttributeExpression{AttributePath: filter.AttributePath{AttributeName: "userName"},
			Operator: filter.EQ, CompareValue: name}
		total, res, err := s.Resources(b.Context(), "scim", "User", f, 1, 100, false)
		if err != nil || total != 1 || len(res) != 1 {
			b.Fatalf("%s: %d, %v", name, total, err)
		}
	}
}

// BenchmarkListPage100k: the last page of an Okta import
// (GET /Users?startIndex=99901&count=100) at 100,000 users.
func BenchmarkListPage100k(b *testing.B) {
	s := seededPush(b)
	for b.Loop() {
		total, res, err := s.Resources(b.Context(), "scim", "User", nil, benchUsers-99, 100, false)
		if err != nil || total != benchUsers || len(res) != 100 {
			b.Fatalf("%d, %d, %v", total, len(res), err)
		}
	}
}

// BenchmarkFilterWorkEmail100k: Entra's optional matching filter
// emails[type eq "work"].value eq "…" (as scimserver rewrites it), which no
// index serves: a scan of 100,000 stored resources.
func BenchmarkFilterWorkEmail100k(b *testing.B) {
	s := seededPush(b)
	f, err := filter.ParseFilterNumber([]byte(`emails[type eq "work" and value eq "U.User77777@example.com"]`))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		total, _, err := s.Resources(b.Context(), "scim", "User", f, 1, 100, false)
		if err != nil || total != 1 {
			b.Fatalf("%d, %v", total, err)
		}
	}
}
