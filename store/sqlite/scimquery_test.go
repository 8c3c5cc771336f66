package sqlite_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// stepClock is a clock that moves one hour each time it is read.
func stepClock(start time.Time) func() time.Time {
	t := start.Add(-time.Hour)
	return func() time.Time {
		t = t.Add(time.Hour)
		return t
	}
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// noPlan is a plan callback that changes no app user.
func noPlan(*reconcile.PushState) (*reconcile.Plan, error) { return nil, nil }

func mustPush(t testing.TB, s *sqlite.Store, w *reconcile.SourceWrites) {
	t.Helper()
	if err := s.ApplyPush(t.Context(), w, noPlan); err != nil {
		t.Fatalf("ApplyPush: %v", err)
	}
}

func scimUser(id, userName, ext string, active bool, resource string) reconcile.SourceUser {
	return reconcile.SourceUser{Create: true, Resource: []byte(resource),
		User: reconcile.User{ID: id, UserName: userName, ExternalID: ext, Active: active}}
}

// scimFixture pushes four users (created an hour apart from t0; u1 replaced
// at t0+4h) and three groups into source "scim".
func scimFixture(t *testing.T) *sqlite.Store {
	t.Helper()
	s := openTemp(t, sqlite.WithClock(stepClock(t0)))
	const ent = `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	u1 := scimUser("u1", "Alice@Example.com", "EXT-1", true, `{"userName":"Alice@Example.com","externalId":"EXT-1",
		"displayName":"Alice Liddell","Name":{"FamilyName":"Liddell","givenName":"Alice"},
		"emails":[{"type":"work","value":"alice@work.example","primary":true},{"type":"home","value":"alice@home.example"}],
		"title":"Engineer","active":true,`+ent+`:{"employeeNumber":"701984","manager":{"value":"u2"}}}`)
	for _, u := range []reconcile.SourceUser{
		u1,
		scimUser("u2", "bob@example.com", "ext-1", false, `{"userName":"bob@example.com","externalId":"ext-1",
			"displayName":"Bob","name":{"familyName":"Builder"},"emails":[{"type":"home","value":"bob@work.example"}],
			"active":"False",`+ent+`:{"employeeNumber":701985,"manager":"u3"}}`),
		scimUser("u3", "a_b%c@example.com", "", true, `{"userName":"a_b%c@example.com","displayName":"ÉLODIE","title":""}`),
		scimUser("u4", "dave@other.org", "", true, `{"userName":"dave@other.org","Emails":[{"Type":"Work","Value":"DAVE@WORK.EXAMPLE"}]}`),
	} {
		mustPush(t, s, &reconcile.SourceWrites{Source: "scim", Users: []reconcile.SourceUser{u}})
	}
	u1.Create = false
	mustPush(t, s, &reconcile.SourceWrites{Source: "scim", Users: []reconcile.SourceUser{u1}})
	mustPush(t, s, &reconcile.SourceWrites{Source: "scim", Groups: []reconcile.SourceGroup{
		{ID: "g1", DisplayName: "Admins", ExternalID: "G-EXT", Create: true, Resource: []byte(`{"displayName":"Admins"}`),
			SetMembers: true, Members: []string{"u2", "u1"}, MemberDisplay: map[string]string{"u1": "Alice"}},
		{ID: "g2", DisplayName: "Ünïcode Team", Create: true, Resource: []byte(`{}`), SetMembers: true, Members: []string{"u3"}},
		{ID: "g3", DisplayName: "Empty", Create: true, Resource: []byte(`{}`)},
	}})
	return s
}

func parse(t *testing.T, src string) filter.Expression {
	t.Helper()
	f, err := filter.ParseFilterNumber([]byte(src))
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return f
}

func ids(rs []reconcile.Resource) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"

func TestFilterUsers(t *testing.T) {
	s := scimFixture(t)
	for _, tc := range []struct{ filter, want string }{
		{`userName eq "alice@example.com"`, "u1"},
		{`userName eq "ALICE@EXAMPLE.COM"`, "u1"},
		{`UserName eq "Bob@Example.com"`, "u2"},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com"`, "u1"},
		{`userName eq "nobody@example.com"`, ""},
		{`userName eq "bob@example.com"`, "u2"}, // inactive users are found too
		{`userName co "EXAMPLE"`, "u1 u2 u3"},
		{`userName sw "A"`, "u1 u3"},
		{`userName ew ".ORG"`, "u4"},
		{`userName co "_b%"`, "u3"},
		{`userName co "%"`, "u3"},
		{`userName sw "a_"`, "u3"},
		{`userName ne "alice@example.com"`, "u2 u3 u4"},
		{`userName gt "b"`, "u2 u4"},
		{`userName pr`, "u1 u2 u3 u4"},
		{`externalId eq "EXT-1"`, "u1"},
		{`externalId eq "ext-1"`, "u2"},
		{`externalId sw "EXT"`, "u1"},
		{`externalId ew "T-1"`, "u1"},
		{`externalId co "xt"`, "u2"},
		{`externalId co "XT"`, "u1"},
		{`userName Eq "bob@example.com" AND active EQ false`, "u2"},
		{`externalId pr`, "u1 u2"},
		{`externalId eq null`, "u3 u4"},
		{`id eq "u2"`, "u2"},
		{`id eq "U2"`, ""},
		{`displayName eq "alice liddell"`, "u1"},
		{`displayName eq "élodie"`, "u3"},
		{`displayName co "ÉLO"`, "u3"},
		{`active eq true`, "u1 u3 u4"},
		{`active eq false`, "u2"},
		{`active eq "False"`, "u2"},
		{`active ne true`, "u2"},
		{`active pr`, "u1 u2 u3 u4"},
		{`meta.created gt "2024-05-01T11:00:00Z"`, "u3 u4"},
		{`meta.Created ge "2024-05-01T11:00:00Z"`, "u2 u3 u4"},
		{`meta.created eq "2024-05-01T11:00:00Z"`, "u2"},
		{`meta.created eq "2024-05-01T13:00:00+02:00"`, "u2"},
		{`meta.created lt "2024-05-01T11:00:00.000Z"`, "u1"},
		{`meta.created le "2024-05-01T11:00:00Z"`, "u1 u2"},
		{`meta.created eq "2024-05-01"`, "u1 u2 u3 u4"},
		{`meta.lastModified gt "2024-05-01T13:30:00Z"`, "u1"},
		{`meta.resourceType eq "User"`, "u1 u2 u3 u4"},
		{`name.familyName eq "liddell"`, "u1"},
		{`urn:ietf:params:scim:schemas:core:2.0:User:name.familyName sw "B"`, "u2"},
		{`name pr`, "u1 u2"},
		{`emails.value co "WORK.example"`, "u1 u2 u4"},
		{`emails eq "alice@home.example"`, "u1"},
		{`emails[type eq "work"]`, "u1 u4"},
		{`emails[type eq "work" and value eq "alice@work.example"]`, "u1"},
		{`emails[type eq "work" and value eq "dave@work.example"]`, "u4"},
		{`emails[type eq "work" and value eq "bob@work.example"]`, ""},
		{`emails[not (type eq "work")]`, "u1 u2"},
		{`emails[primary eq true]`, "u1"},
		{`emails.primary eq true`, "u1"},
		{`emails pr`, "u1 u2 u4"},
		{`title pr`, "u1"},
		{`not (title pr)`, "u2 u3 u4"},
		{`title eq null`, "u2 u4"},
		{`title ne "engineer"`, "u2 u3 u4"},
		{enterprise + `employeeNumber eq "701984"`, "u1"},
		{enterprise + `employeeNumber eq 701985`, "u2"},
		{enterprise + `employeeNumber gt "701984"`, "u2"},
		{enterprise + `manager eq "u2"`, "u1"},
		{enterprise + `manager.value eq "u2"`, "u1"},
		{enterprise + `manager eq "u3"`, "u2"},
		{enterprise + `manager pr`, "u1 u2"},
		{`groups.value eq "g1"`, "u1 u2"},
		{`groups[display eq "admins"]`, "u1 u2"},
		{`groups eq "g2"`, "u3"},
		{`userName sw "a" and not (active eq false)`, "u1 u3"},
		{`(userName sw "a" or userName sw "b") and active eq true`, "u1 u3"},
		{`userName sw "a" or userName sw "b" and active eq true`, "u1 u3"},
		{`id eq "u1" or id eq "u4" or externalId eq "ext-1"`, "u1 u2 u4"},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			total, res, err := s.Resources(t.Context(), "scim", "User", parse(t, tc.filter), 1, 100, false)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(ids(res), " "), tc.want; got != want || total != len(res) {
				t.Errorf("got %q (total %d), want %q", got, total, want)
			}
		})
	}
}

func TestFilterGroups(t *testing.T) {
	s := scimFixture(t)
	for _, tc := range []struct{ filter, want string }{
		{`displayName eq "ADMINS"`, "g1"},
		{`displayName eq "Admin"`, ""},
		{`displayName eq "ünïcode team"`, "g2"},
		{`urn:ietf:params:scim:schemas:core:2.0:Group:displayName co "MIN"`, "g1"},
		{`externalId eq "G-EXT"`, "g1"},
		{`externalId eq "g-ext"`, ""},
		{`id eq "g3"`, "g3"},
		{`members[value eq "u1"]`, "g1"},
		{`members.value eq "u3"`, "g2"},
		{`members.value eq "U3"`, ""},
		{`members eq "u2"`, "g1"},
		{`members[display eq "alice"]`, "g1"},
		{`members.display pr`, "g1"},
		{`members pr`, "g1 g2"},
		{`not (members pr)`, "g3"},
		{`members[value eq "u1" or value eq "u3"]`, "g1 g2"},
		{`meta.created gt "2024-05-01T00:00:00Z" and displayName sw "e"`, "g3"},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			total, res, err := s.Resources(t.Context(), "scim", "Group", parse(t, tc.filter), 1, 100, false)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := strings.Join(ids(res), " "), tc.want; got != want || total != len(res) {
				t.Errorf("got %q (total %d), want %q", got, total, want)
			}
		})
	}
}

func TestFilterInvalid(t *testing.T) {
	s := scimFixture(t)
	for _, tc := range []struct{ typ, filter string }{
		{"User", `foo eq "x"`},
		{"User", `name.foo eq "x"`},
		{"User", `name eq "x"`},
		{"User", `active gt true`},
		{"User", `active eq "yes"`},
		{"User", `active co "t"`},
		{"User", `meta.created co "2024"`},
		{"User", `meta.created gt "yesterday"`},
		{"User", `meta.version eq "1"`},
		{"User", `password eq "x"`},
		{"User", `title eq true`},
		{"User", `userName gt null`},
		{"User", `emails[foo eq "x"]`},
		{"User", `title[value eq "x"]`},
		{"User", `members eq "u1"`},
		{"User", `urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "x"`},
		{"User", `urn:example:custom:2.0:User:x eq "x"`},
		{"Group", `title eq "x"`},
		{"Group", `members.type eq "User"`},
		{"Group", enterprise + `employeeNumber eq "1"`},
	} {
		t.Run(tc.typ+" "+tc.filter, func(t *testing.T) {
			_, res, err := s.Resources(t.Context(), "scim", tc.typ, parse(t, tc.filter), 1, 100, false)
			if reconcile.ErrorKind(err) != reconcile.EINVALID || !strings.HasPrefix(err.Error(), "invalidFilter:") {
				t.Fatalf("got %d resources, err %v; want EINVALID invalidFilter", len(res), err)
			}
		})
	}
}

func TestResourcesPaging(t *testing.T) {
	s := scimFixture(t)
	for _, tc := range []struct {
		start, count int
		want         string
	}{
		{1, 100, "u1 u2 u3 u4"},
		{2, 2, "u2 u3"},
		{0, 1, "u1"},
		{4, 10, "u4"},
		{5, 10, ""},
		{1, 0, ""},
		{1, -3, ""},
	} {
		total, res, err := s.Resources(t.Context(), "scim", "User", nil, tc.start, tc.count, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ids(res), " "); got != tc.want || total != 4 {
			t.Errorf("startIndex %d, count %d: got %q (total %d), want %q (total 4)", tc.start, tc.count, got, total, tc.want)
		}
	}
	total, res, err := s.Resources(t.Context(), "scim", "User", parse(t, `userName co "example.com"`), 2, 1, false)
	if err != nil || total != 3 || strings.Join(ids(res), " ") != "u2" {
		t.Errorf("filtered page: total %d, %v, %v; want 3, [u2]", total, ids(res), err)
	}
	total, res, err = s.Resources(t.Context(), "nosuch", "User", nil, 1, 10, false)
	if err != nil || total != 0 || len(res) != 0 || res == nil {
		t.Errorf("unknown source: %d, %v, %v; want 0 and an empty list", total, res, err)
	}
}

func TestResource(t *testing.T) {
	s := scimFixture(t)
	ctx := t.Context()
	u, err := s.Resource(ctx, "scim", "User", "u1", false)
	if err != nil {
		t.Fatal(err)
	}
	if u.Version != 2 || !u.Created.Equal(t0) || !u.Modified.Equal(t0.Add(4*time.Hour)) || !strings.Contains(string(u.Raw), `"Liddell"`) {
		t.Errorf("u1: version %d, created %v, modified %v, raw %s", u.Version, u.Created, u.Modified, u.Raw)
	}
	g, err := s.Resource(ctx, "scim", "Group", "g1", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"u1", "u2"}; !reflect.DeepEqual(g.Members, want) || !reflect.DeepEqual(g.MemberDisplay, map[string]string{"u1": "Alice"}) {
		t.Errorf("g1 members %v %v, want %v with u1's display", g.Members, g.MemberDisplay, want)
	}
	g, err = s.Resource(ctx, "scim", "Group", "g1", false)
	if err != nil || g.Members != nil {
		t.Errorf("g1 without members: %v, %v", g.Members, err)
	}
	_, res, err := s.Resources(ctx, "scim", "Group", nil, 1, 10, true)
	if err != nil || len(res) != 3 || len(res[0].Members) != 2 || len(res[2].Members) != 0 || res[2].Members == nil {
		t.Errorf("groups with members: %+v, %v", res, err)
	}
	for _, tc := range []struct{ source, typ, id string }{
		{"scim", "User", "g1"}, {"scim", "Group", "u1"}, {"other", "User", "u1"}, {"scim", "User", "nope"},
	} {
		if _, err := s.Resource(ctx, tc.source, tc.typ, tc.id, false); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
			t.Errorf("Resource(%s, %s, %s): %v, want ENOTFOUND", tc.source, tc.typ, tc.id, err)
		}
	}
}

// TestFilterIndexes checks that the lookups IdPs make run on an index.
func TestFilterIndexes(t *testing.T) {
	s := openTemp(t)
	plan := func(t *testing.T, query string, args ...any) string {
		t.Helper()
		rows, err := sqlite.DB(s).QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		return strings.Join(plan, "; ")
	}
	// An unfiltered page walks the source's users in creation order: no sort.
	for _, table := range []string{"source_users", "source_groups"} {
		got := plan(t, "SELECT r.id FROM "+table+" r WHERE r.source_pk = 1 AND 1 ORDER BY r.pk LIMIT 10 OFFSET 100")
		if want := "INDEX " + table + "_source "; !strings.Contains(got, want) || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("unfiltered page of %s: plan %q, want %s and no sort", table, got, want)
		}
	}
	for _, tc := range []struct{ typ, filter, index string }{
		{"User", `userName eq "x"`, "source_users_user_key"},
		{"User", `externalId eq "x"`, "source_users_external_id"},
		{"User", `id eq "x"`, "source_users_id"},
		{"Group", `displayName eq "x"`, "source_groups_display_key"},
		{"Group", `externalId eq "x"`, "source_groups_external_id"},
		{"Group", `id eq "x"`, "sqlite_autoindex_source_groups_1"},
	} {
		where, args, err := sqlite.FilterSQL(tc.typ, parse(t, tc.filter))
		if err != nil {
			t.Fatal(err)
		}
		table := map[string]string{"User": "source_users", "Group": "source_groups"}[tc.typ]
		got := plan(t, "SELECT r.id FROM "+table+" r WHERE r.source_pk = ? AND "+where+" ORDER BY r.pk LIMIT 10",
			append([]any{1}, args...)...)
		if !strings.Contains(got, "INDEX "+tc.index+" ") {
			t.Errorf("%s: plan %q does not use %s", tc.filter, got, tc.index)
		}
	}
}

// TestFilterEscapedJSON: strings stored with JSON escapes still match (the
// LIKE prefilter is not used for them).
func TestFilterEscapedJSON(t *testing.T) {
	s := openTemp(t)
	mustPush(t, s, &reconcile.SourceWrites{Source: "scim", Users: []reconcile.SourceUser{
		scimUser("u1", "tom@x", "", true, `{"displayName":"Tom \u0026 Jerry","title":"A\/B","nickName":"Caf\u00e9"}`),
		scimUser("u2", "jerry@x", "", true, `{"displayName":"Tom and Jerry","title":"AB"}`),
	}})
	for _, tc := range []struct{ filter, want string }{
		{`displayName eq "tom & jerry"`, "u1"},
		{`title eq "a/b"`, "u1"},
		{`nickName eq "CAFÉ"`, "u1"},
		{`displayName co "JERRY" and title sw "a"`, "u1 u2"},
	} {
		_, res, err := s.Resources(t.Context(), "scim", "User", parse(t, tc.filter), 1, 10, false)
		if got := strings.Join(ids(res), " "); err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.filter, got, err, tc.want)
		}
	}
}
