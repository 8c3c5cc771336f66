package sqlite_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

func newUser(id, userName string) reconcile.SourceUser {
	return reconcile.SourceUser{Create: true, Resource: []byte(`{"userName":"` + userName + `"}`),
		User: reconcile.User{ID: id, UserName: userName, Active: true}}
}

func newGroup(id, name string, members ...string) reconcile.SourceGroup {
	return reconcile.SourceGroup{ID: id, DisplayName: name, Create: true, Resource: []byte(`{}`),
		SetMembers: members != nil, Members: members}
}

// checkHashes fails when a group's members_hash is not the digest of its
// stored members.
func checkHashes(t *testing.T, s *sqlite.Store) {
	t.Helper()
	rows, err := sqlite.DB(s).QueryContext(t.Context(), `SELECT g.id, g.members_hash,
		(SELECT group_concat(member, ' ') FROM (SELECT member FROM source_members WHERE group_pk = g.pk ORDER BY member))
		FROM source_groups g`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var hash []byte
		var members *string
		if err := rows.Scan(&id, &hash, &members); err != nil {
			t.Fatal(err)
		}
		var ms []string
		if members != nil {
			ms = strings.Fields(*members)
		}
		if want := sqlite.MembersHash(ms); !reflect.DeepEqual(hash, want) {
			t.Errorf("group %s: members_hash is not the digest of its members %v", id, ms)
		}
	}
}

func resource(t *testing.T, s *sqlite.Store, typ, id string) *reconcile.Resource {
	t.Helper()
	r, err := s.Resource(t.Context(), "scim", typ, id, true)
	if err != nil {
		t.Fatalf("Resource(%s %s): %v", typ, id, err)
	}
	return r
}

// step is one push and the error kind it must fail with ("" for none).
type step struct {
	name string
	w    reconcile.SourceWrites
	kind string
	msg  string // a substring of the error
}

func runSteps(t *testing.T, s *sqlite.Store, steps []step, after func(t *testing.T, i int)) {
	t.Helper()
	for i, st := range steps {
		st.w.Source = "scim"
		err := s.ApplyPush(t.Context(), &st.w, noPlan)
		switch {
		case st.kind == "" && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.kind != "" && (reconcile.ErrorKind(err) != st.kind || !strings.Contains(err.Error(), st.msg)):
			t.Fatalf("%s: err = %v, want %s containing %q", st.name, err, st.kind, st.msg)
		}
		if after != nil {
			after(t, i)
		}
	}
}

func TestPushUsers(t *testing.T) {
	s := openTemp(t, sqlite.WithClock(stepClock(t0)))
	replace := func(id, userName string, ifVersion int64) reconcile.SourceUser {
		u := newUser(id, userName)
		u.Create, u.IfVersion = false, ifVersion
		return u
	}
	bad := newUser("u9", "x@x")
	bad.Resource = []byte(`{"userName":`)
	runSteps(t, s, []step{
		{name: "create u1", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{newUser("u1", "Alice@x")}}},
		{name: "create u1 again", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{newUser("u1", "other@x")}},
			kind: reconcile.ECONFLICT, msg: `id "u1" exists`},
		{name: "create a case variant of a userName", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{newUser("u2", " ALICE@X")}},
			kind: reconcile.ECONFLICT, msg: "already exists"},
		{name: "create u2", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{newUser("u2", "bob@x")}}},
		{name: "create a group", w: reconcile.SourceWrites{Groups: []reconcile.SourceGroup{newGroup("g1", "G")}}},
		{name: "create a user with a group's id", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{newUser("g1", "g@x")}},
			kind: reconcile.ECONFLICT, msg: "exists"},
		{name: "replace u1 at version 1", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{replace("u1", "alice2@x", 1)}}},
		{name: "replace u1 at a stale version", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{replace("u1", "alice3@x", 1)}},
			kind: reconcile.EPRECONDITION, msg: "version 2, not 1"},
		{name: "rename u1 to u2's userName", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{replace("u1", "Bob@X", 0)}},
			kind: reconcile.ECONFLICT, msg: "already exists"},
		{name: "replace a missing user", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{replace("u9", "x@x", 0)}},
			kind: reconcile.ENOTFOUND, msg: `"u9" not found`},
		{name: "delete u2", w: reconcile.SourceWrites{DeletedUsers: []string{"u2"}}},
		{name: "delete u2 again", w: reconcile.SourceWrites{DeletedUsers: []string{"u2"}}, kind: reconcile.ENOTFOUND, msg: "u2"},
		{name: "re-create u2's userName", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{newUser("u3", "BOB@x")}}},
		{name: "no userName", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{newUser("u9", " ")}}, kind: reconcile.EINVALID, msg: "userName"},
		{name: "not JSON", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{bad}}, kind: reconcile.EINVALID, msg: "JSON"},
		{name: "replace u1 twice in one push", w: reconcile.SourceWrites{Users: []reconcile.SourceUser{
			replace("u1", "alice4@x", 2), replace("u1", "alice5@x", 3)}}},
	}, nil)

	u1 := resource(t, s, "User", "u1")
	if u1.Version != 4 || string(u1.Raw) != `{"userName":"alice5@x"}` || !u1.Modified.After(u1.Created) {
		t.Errorf("u1: version %d, raw %s, created %v, modified %v", u1.Version, u1.Raw, u1.Created, u1.Modified)
	}
	if _, err := s.Resource(t.Context(), "scim", "User", "u2", false); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Errorf("deleted u2: %v, want ENOTFOUND", err)
	}
	d, err := s.Directory(t.Context(), "scim")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range d.Users {
		names = append(names, u.ID+"="+u.UserName)
	}
	if want := []string{"u1=alice5@x", "u3=BOB@x"}; !reflect.DeepEqual(names, want) {
		t.Errorf("source users %v, want %v", names, want)
	}
}

func TestPushGroups(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	mustPush(t, s, &reconcile.SourceWrites{Source: "scim", Users: []reconcile.SourceUser{
		newUser("a", "a@x"), newUser("b", "b@x"), newUser("c", "c@x")}})
	g := newGroup("g", "G", "a")
	g.MemberDisplay = map[string]string{"a": "A"}
	replace := func(name string, members ...string) reconcile.SourceGroup {
		r := newGroup("g", name, members...)
		r.Create = false
		return r
	}
	withDisplay := replace("G2", "b", "c", "b")
	withDisplay.MemberDisplay = map[string]string{"c": "C"}
	type want struct {
		version int64
		members []string
		display map[string]string
	}
	wants := []want{
		{1, []string{"a"}, map[string]string{"a": "A"}},
		{2, []string{"a", "b"}, map[string]string{"a": "A", "b": "Bee"}},
		{2, []string{"a", "b"}, map[string]string{"a": "A", "b": "Bee"}},
		{3, []string{"a"}, map[string]string{"a": "A"}},
		{3, []string{"a"}, map[string]string{"a": "A"}},
		{3, []string{"a"}, map[string]string{"a": "A"}},
		{4, []string{"a"}, map[string]string{"a": "A"}},
		{5, []string{"b", "c"}, map[string]string{"c": "C"}},
		{6, []string{}, nil},
		{6, []string{}, nil},
		{6, []string{}, nil},
		{6, []string{}, nil},
	}
	runSteps(t, s, []step{
		{name: "create g with a", w: reconcile.SourceWrites{Groups: []reconcile.SourceGroup{g}}},
		{name: "add b and a", w: reconcile.SourceWrites{Members: []reconcile.MemberWrite{
			{Group: "g", Add: []string{"b", "a"}, Display: map[string]string{"b": "Bee"}, IfVersion: 1}}}},
		{name: "add the group to itself", w: reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "g", Add: []string{"g"}}}},
			kind: reconcile.EINVALID, msg: `member of itself`},
		{name: "remove c and b", w: reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "g", Remove: []string{"c", "b"}}}}},
		{name: "stale version", w: reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "g", Add: []string{"b"}, IfVersion: 1}}},
			kind: reconcile.EPRECONDITION, msg: "version 3, not 1"},
		{name: "missing group", w: reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "nope", Add: []string{"b"}}}},
			kind: reconcile.ENOTFOUND, msg: "nope"},
		{name: "rename, members untouched", w: reconcile.SourceWrites{Groups: []reconcile.SourceGroup{replace("G2")}}},
		{name: "replace the members", w: reconcile.SourceWrites{Groups: []reconcile.SourceGroup{withDisplay}}},
		{name: "replace members with []", w: reconcile.SourceWrites{Groups: []reconcile.SourceGroup{replace("G2", []string{}...)}}},
		{name: "create g again", w: reconcile.SourceWrites{Groups: []reconcile.SourceGroup{newGroup("g", "X")}},
			kind: reconcile.ECONFLICT, msg: "exists"},
		{name: "a group in itself", w: reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "g", Add: []string{"g"}}}},
			kind: reconcile.EINVALID, msg: "itself"},
		{name: "no displayName", w: reconcile.SourceWrites{Groups: []reconcile.SourceGroup{newGroup("h", "")}},
			kind: reconcile.EINVALID, msg: "displayName"},
	}, func(t *testing.T, i int) {
		checkHashes(t, s)
		r := resource(t, s, "Group", "g")
		w := wants[i]
		if r.Version != w.version || !reflect.DeepEqual(r.Members, w.members) || !reflect.DeepEqual(r.MemberDisplay, w.display) {
			t.Errorf("after step %d: version %d, members %v %v; want %v", i, r.Version, r.Members, r.MemberDisplay, w)
		}
	})

	// Deleting a group or a user removes it from the groups it was in.
	mustPush(t, s, &reconcile.SourceWrites{Source: "scim", Groups: []reconcile.SourceGroup{newGroup("h", "H", "g", "a", "b")}})
	mustPush(t, s, &reconcile.SourceWrites{Source: "scim", DeletedGroups: []string{"g"}})
	h := resource(t, s, "Group", "h")
	if !reflect.DeepEqual(h.Members, []string{"a", "b"}) || h.Version != 2 {
		t.Errorf("h after deleting g: %v version %d; want [a b] version 2", h.Members, h.Version)
	}
	mustPush(t, s, &reconcile.SourceWrites{Source: "scim", DeletedUsers: []string{"a"}})
	if h = resource(t, s, "Group", "h"); !reflect.DeepEqual(h.Members, []string{"b"}) || h.Version != 3 {
		t.Errorf("h after deleting a: %v version %d; want [b] version 3", h.Members, h.Version)
	}
	checkHashes(t, s)
	if err := s.ApplyPush(ctx, &reconcile.SourceWrites{Source: "scim", DeletedGroups: []string{"g"}}, noPlan); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Errorf("deleting a missing group: %v, want ENOTFOUND", err)
	}
}

// TestPushRollback: when the plan callback fails, or its plan does not
// apply, nothing of the push is written.
func TestPushRollback(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name string
		plan func(*reconcile.PushState) (*reconcile.Plan, error)
		kind string
	}{
		{"plan fails", func(*reconcile.PushState) (*reconcile.Plan, error) { return nil, errBoom }, ""},
		{"plan is stale", func(*reconcile.PushState) (*reconcile.Plan, error) {
			return &reconcile.Plan{Kind: reconcile.KindPush, Source: "scim", Changes: []reconcile.Change{
				{Kind: reconcile.ChangeCreate, User: "u1@x", Source: "scim", SourceID: "u1", After: map[string]any{"userName": "u1@x"}},
				{Kind: reconcile.ChangeDeactivate, User: "ghost", UserID: "no-such-id", Before: map[string]any{"active": true}},
			}}, nil
		}, reconcile.ECONFLICT},
		{"plan has a directory", func(st *reconcile.PushState) (*reconcile.Plan, error) {
			return &reconcile.Plan{Kind: reconcile.KindPush, Source: "scim", Directory: st.Slice}, nil
		}, reconcile.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.ApplyPush(ctx, &reconcile.SourceWrites{Source: "scim", Users: []reconcile.SourceUser{newUser("u1", "u1@x")},
				Groups: []reconcile.SourceGroup{newGroup("g1", "G", "u1")}}, tc.plan)
			if tc.kind == "" && !errors.Is(err, errBoom) || tc.kind != "" && reconcile.ErrorKind(err) != tc.kind {
				t.Fatalf("ApplyPush: %v", err)
			}
			for _, typ := range []string{"User", "Group"} {
				if total, _, err := s.Resources(ctx, "scim", typ, nil, 1, 0, false); err != nil || total != 0 {
					t.Errorf("%ss stored: %d, %v; want none", typ, total, err)
				}
			}
			var n int
			if err := sqlite.DB(s).QueryRowContext(ctx, `SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM plans)
				+ (SELECT count(*) FROM change_log) + (SELECT count(*) FROM source_members)`).Scan(&n); err != nil || n != 0 {
				t.Errorf("rows left behind: %d, %v", n, err)
			}
		})
	}
}

// diffPlan plans a push as the engine does.
func diffPlan(rules *reconcile.Rules, got **reconcile.PushState) func(*reconcile.PushState) (*reconcile.Plan, error) {
	return func(st *reconcile.PushState) (*reconcile.Plan, error) {
		*got = st
		only := map[string]bool{}
		for _, id := range st.Affected {
			only[id] = true
		}
		p := reconcile.Diff(reconcile.Input{Rules: rules, Users: st.Users, Source: "scim", Fetched: st.Slice, Only: only})
		if p.Empty() {
			return nil, nil
		}
		p.Actor = "scim:scim"
		return p, nil
	}
}

// TestPushAppliesPlan runs pushes through reconcile.Diff, as the engine
// does: the plan is applied in the push's transaction.
func TestPushAppliesPlan(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	rules := &reconcile.Rules{Roles: []reconcile.Role{{Name: "viewer"}, {Name: "admin"}}, DefaultRole: "viewer",
		OnConflict: reconcile.Adopt, Mappings: []reconcile.Mapping{{Group: "Admins", Role: "admin"}}}
	var st *reconcile.PushState
	push := func(w reconcile.SourceWrites) {
		t.Helper()
		w.Source = "scim"
		if err := s.ApplyPush(ctx, &w, diffPlan(rules, &st)); err != nil {
			t.Fatal(err)
		}
	}
	roles := func(userName string) string {
		t.Helper()
		u, err := s.User(ctx, userName)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Active {
			return "inactive"
		}
		return strings.Join(u.Roles, ",")
	}

	push(reconcile.SourceWrites{Users: []reconcile.SourceUser{newUser("u1", "alice@x")}})
	if got := roles("alice@x"); got != "viewer" {
		t.Errorf("a created user has roles %q, want viewer", got)
	}
	push(reconcile.SourceWrites{Groups: []reconcile.SourceGroup{newGroup("g1", "Staff", "u1")}})
	push(reconcile.SourceWrites{Groups: []reconcile.SourceGroup{{ID: "g1", DisplayName: "Admins"}}})
	if got := roles("alice@x"); got != "admin" {
		t.Errorf("after renaming her group to a mapped name: %q, want admin", got)
	}
	push(reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "g1", Remove: []string{"u1"}}}})
	if got := roles("alice@x"); got != "viewer" {
		t.Errorf("after leaving the group: %q, want viewer", got)
	}
	push(reconcile.SourceWrites{DeletedUsers: []string{"u1"}})
	if got := roles("alice@x"); got != "inactive" {
		t.Errorf("after DELETE: %q, want inactive", got)
	}
	if len(st.Users) != 1 || st.Users[0].SourceID != "u1" || len(st.Slice.Users) != 0 {
		t.Errorf("state of the delete: users %+v, slice %+v", st.Users, st.Slice)
	}

	// A manual user's userName: the push sees it (and adopts it).
	if err := s.Apply(ctx, &reconcile.Plan{Kind: reconcile.KindManual, Actor: "admin", Changes: []reconcile.Change{
		{Kind: reconcile.ChangeCreate, User: "Bob@x", Source: reconcile.Manual, After: map[string]any{"userName": "Bob@x"}}}}); err != nil {
		t.Fatal(err)
	}
	push(reconcile.SourceWrites{Users: []reconcile.SourceUser{newUser("u2", "bob@X")}})
	if len(st.Users) != 1 || st.Users[0].UserName != "Bob@x" {
		t.Errorf("state of a colliding create: users %+v, want the manual Bob@x", st.Users)
	}
	if u, err := s.User(ctx, "bob@x"); err != nil || u.Source != "scim" || u.SourceID != "u2" {
		t.Errorf("bob after the push: %+v, %v; want adopted by scim as u2", u, err)
	}

	plans, err := s.Plans(ctx, reconcile.PlanFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plans {
		if p.Status != reconcile.StatusApplied || (p.Kind != reconcile.KindPush && p.Kind != reconcile.KindManual) {
			t.Errorf("plan %d: %s %s", p.ID, p.Kind, p.Status)
		}
	}
	changes, err := s.Changes(ctx, reconcile.ChangeFilter{})
	if err != nil || len(changes) == 0 || changes[0].Kind != reconcile.ChangeCreate || changes[0].Actor != "scim:scim" {
		t.Errorf("change log: %+v, %v", changes, err)
	}
}

// TestPushAffected: the users a push affects, through nesting, and the
// slice of the source it hands the plan.
//
//	G1 = {a, N}, N = {b, M}, M = {c}, G2 = {d}; e in no group
func TestPushAffected(t *testing.T) {
	setup := func(t *testing.T) *sqlite.Store {
		s := openTemp(t)
		mustPush(t, s, &reconcile.SourceWrites{Source: "scim", Users: []reconcile.SourceUser{
			newUser("a", "a@x"), newUser("b", "b@x"), newUser("c", "c@x"), newUser("d", "d@x"), newUser("e", "e@x")}})
		mustPush(t, s, &reconcile.SourceWrites{Source: "scim", Groups: []reconcile.SourceGroup{
			newGroup("M", "M", "c"), newGroup("N", "N", "b", "M"), newGroup("G1", "G1", "a", "N"), newGroup("G2", "G2", "d")}})
		return s
	}
	rename := func(id, name string) reconcile.SourceGroup { return reconcile.SourceGroup{ID: id, DisplayName: name} }
	setM := rename("M", "M")
	setM.SetMembers, setM.Members = true, []string{"c", "d"}
	for _, tc := range []struct {
		name     string
		w        reconcile.SourceWrites
		affected string
		slice    string // users; groups with their members
	}{
		{"add a user to a nested group", reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "M", Add: []string{"e"}}}},
			"e", "e; G1{N} M{e} N{M}"},
		{"rename a group", reconcile.SourceWrites{Groups: []reconcile.SourceGroup{rename("N", "N2")}},
			"b c", "b c; G1{N} M{c} N2{M b}"},
		{"rename without a change of name", reconcile.SourceWrites{Groups: []reconcile.SourceGroup{rename("N", "N")}}, "", ";"},
		{"add a group to a group", reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "G2", Add: []string{"N"}}}},
			"b c", "b c; G1{N} G2{N} M{c} N{M b}"},
		{"remove a nested group", reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "N", Remove: []string{"M"}}}},
			"c", "c; M{c}"},
		{"delete a group", reconcile.SourceWrites{DeletedGroups: []string{"N"}}, "b c", "b c; M{c}"},
		{"replace members", reconcile.SourceWrites{Groups: []reconcile.SourceGroup{setM}}, "d", "d; G1{N} G2{d} M{d} N{M}"},
		{"replace a user", reconcile.SourceWrites{Users: []reconcile.SourceUser{{User: reconcile.User{ID: "a", UserName: "a@x"}}}},
			"a", "a; G1{a}"},
		{"delete a user", reconcile.SourceWrites{DeletedUsers: []string{"d"}}, "d", ";"},
		{"remove an absent member", reconcile.SourceWrites{Members: []reconcile.MemberWrite{{Group: "G2", Remove: []string{"a"}}}}, "", ";"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			var st *reconcile.PushState
			tc.w.Source = "scim"
			if err := s.ApplyPush(t.Context(), &tc.w, func(p *reconcile.PushState) (*reconcile.Plan, error) {
				st = p
				return nil, nil
			}); err != nil {
				t.Fatal(err)
			}
			checkHashes(t, s)
			if got := strings.Join(st.Affected, " "); got != tc.affected {
				t.Errorf("affected %q, want %q", got, tc.affected)
			}
			var users, groups []string
			for _, u := range st.Slice.Users {
				users = append(users, u.ID)
			}
			for _, g := range st.Slice.Groups {
				if !slices.IsSorted(g.Members) {
					t.Errorf("group %s: members %v not sorted", g.ID, g.Members)
				}
				groups = append(groups, g.DisplayName+"{"+strings.Join(g.Members, " ")+"}")
			}
			if got := strings.Join(users, " ") + "; " + strings.Join(groups, " "); strings.TrimSpace(got) != tc.slice {
				t.Errorf("slice %q, want %q", got, tc.slice)
			}
		})
	}
}
