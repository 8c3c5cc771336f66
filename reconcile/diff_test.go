package reconcile_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// rules is the demo catalogue: ph-admin → Admin, ph-csm → CSM, default Viewer.
func rules(mod ...func(*reconcile.Rules)) *reconcile.Rules {
	r := &reconcile.Rules{
		Roles:       []reconcile.Role{{Name: "Admin"}, {Name: "CSM"}, {Name: "Viewer"}},
		DefaultRole: "Viewer",
		OnConflict:  reconcile.Adopt,
		Mappings: []reconcile.Mapping{
			{Group: "ph-admin", Role: "Admin"},
			{Group: "ph-csm", Role: "CSM"},
		},
		MaxDeactivations: reconcile.DefaultThreshold,
	}
	for _, m := range mod {
		m(r)
	}
	return r
}

func user(id string, active bool) reconcile.User {
	return reconcile.User{ID: id, UserName: id + "@example.com", DisplayName: strings.ToUpper(id), Email: id + "@example.com", Active: active}
}

func group(id, name string, members ...string) reconcile.Group {
	return reconcile.Group{ID: id, DisplayName: name, Members: members}
}

// appUser is what the app holds for a source user that was applied with roles.
func appUser(source, id string, active bool, roles ...string) reconcile.AppUser {
	u := user(id, active)
	return reconcile.AppUser{
		ID: "app-" + id, UserName: u.UserName, DisplayName: u.DisplayName, Email: u.Email,
		Active: active, Source: source, SourceID: id, Roles: roles,
	}
}

func dir(users []reconcile.User, groups ...reconcile.Group) *reconcile.Directory {
	return &reconcile.Directory{Users: users, Groups: groups}
}

// brief renders a plan's user changes one line each, for got/want comparison.
func brief(p *reconcile.Plan) []string {
	var out []string
	for _, c := range p.Changes {
		name := strings.ToLower(strings.TrimSuffix(c.User, "@example.com"))
		switch c.Kind {
		case reconcile.ChangeCreate:
			var roles []string
			for _, g := range c.Grants {
				roles = append(roles, g.Role)
			}
			out = append(out, fmt.Sprintf("create %s %v", name, roles))
		case reconcile.ChangeGrant, reconcile.ChangeRevoke:
			out = append(out, fmt.Sprintf("%s %s %s", c.Kind, name, c.Role))
		case reconcile.ChangeUpdate:
			var keys []string
			for k := range c.After {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			out = append(out, fmt.Sprintf("update %s %v", name, keys))
		case reconcile.ChangeAdopt:
			out = append(out, fmt.Sprintf("adopt %s %v→%v", name, c.Before["source"], c.After["source"]))
		case reconcile.ChangeGroupCreate, reconcile.ChangeGroupUpdate, reconcile.ChangeGroupDelete:
			// group bookkeeping is tested on its own
		default:
			out = append(out, c.Kind+" "+name)
		}
	}
	return out
}

func TestDiffRules(t *testing.T) {
	tests := []struct {
		name    string
		rules   *reconcile.Rules
		current []reconcile.AppUser
		stored  *reconcile.Directory // the source's state before the fetch
		fetched *reconcile.Directory
		want    []string
		held    bool
	}{
		{
			name:    "default role for a user in no mapped group",
			fetched: dir([]reconcile.User{user("ann", true)}, group("g1", "Sales", "ann")),
			want:    []string{"create ann [Viewer]"},
		},
		{
			name:    "mapped role overrides the default",
			fetched: dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann")),
			want:    []string{"create ann [Admin]"},
		},
		{
			name:    "several mapped groups give roles in mapping order",
			fetched: dir([]reconcile.User{user("ann", true)}, group("g2", "ph-csm", "ann"), group("g1", "ph-admin", "ann")),
			want:    []string{"create ann [Admin CSM]"},
		},
		{
			name:    "single_role keeps the first matching role in mapping order",
			rules:   rules(func(r *reconcile.Rules) { r.SingleRole = true }),
			fetched: dir([]reconcile.User{user("ann", true)}, group("g2", "ph-csm", "ann"), group("g1", "ph-admin", "ann")),
			want:    []string{"create ann [Admin]"},
		},
		{
			name:    "group names match exactly: case and whole string",
			fetched: dir([]reconcile.User{user("ann", true), user("bob", true)}, group("g1", "PH-Admin", "ann"), group("g2", "ph-admin-old", "bob")),
			want:    []string{"create ann [Viewer]", "create bob [Viewer]"},
		},
		{
			name:    "a mapped role granted to an existing user revokes the default",
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Viewer")},
			stored:  dir([]reconcile.User{user("ann", true)}),
			fetched: dir([]reconcile.User{user("ann", true)}, group("g1", "ph-csm", "ann")),
			want:    []string{"grant ann CSM", "revoke ann Viewer"},
		},
		{
			name:    "leaving a group removes its role at once",
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Admin", "CSM")},
			stored:  dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann"), group("g2", "ph-csm", "ann")),
			fetched: dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin"), group("g2", "ph-csm", "ann")),
			want:    []string{"revoke ann Admin"},
		},
		{
			name:    "leaving every mapped group falls back to the default role",
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Admin")},
			stored:  dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann")),
			fetched: dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin")),
			want:    []string{"grant ann Viewer", "revoke ann Admin"},
		},
		{
			name: "a member of a group nested in a mapped group gets its role",
			fetched: dir([]reconcile.User{user("ann", true), user("bob", true)},
				group("g1", "ph-csm", "g2"), group("g2", "Engineering", "g3"), group("g3", "Platform", "ann")),
			want: []string{"create ann [CSM]", "create bob [Viewer]"},
		},
		{
			name: "nesting cycles do not loop",
			fetched: dir([]reconcile.User{user("ann", true)},
				group("g1", "ph-csm", "g2"), group("g2", "Engineering", "g1", "ann")),
			want: []string{"create ann [CSM]"},
		},
		{
			name:    "a user leaving the source's scope is deactivated",
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Admin"), appUser("hr", "bob", true, "Viewer")},
			rules:   rules(func(r *reconcile.Rules) { r.MaxDeactivations = reconcile.Threshold{Count: 5} }),
			stored:  dir([]reconcile.User{user("ann", true), user("bob", true)}, group("g1", "ph-admin", "ann")),
			fetched: dir([]reconcile.User{user("bob", true)}, group("g1", "ph-admin")),
			want:    []string{"deactivate ann"},
		},
		{
			name:    "a user the source reports inactive is deactivated",
			rules:   rules(func(r *reconcile.Rules) { r.MaxDeactivations = reconcile.Threshold{Count: 5} }),
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Admin")},
			stored:  dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann")),
			fetched: dir([]reconcile.User{user("ann", false)}, group("g1", "ph-admin", "ann")),
			want:    []string{"deactivate ann"},
		},
		{
			name:    "reactivation restores the user and re-derives its roles",
			current: []reconcile.AppUser{appUser("hr", "ann", false)},
			stored:  dir([]reconcile.User{user("ann", false)}, group("g1", "ph-admin", "ann")),
			fetched: dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann")),
			want:    []string{"reactivate ann", "grant ann Admin"},
		},
		{
			name:    "an inactive user unknown to the app is not created",
			fetched: dir([]reconcile.User{user("ann", false)}),
			want:    nil,
		},
		{
			name:    "attribute changes are updates",
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Viewer")},
			stored:  dir([]reconcile.User{user("ann", true)}),
			fetched: dir([]reconcile.User{{ID: "ann", UserName: "ann@example.com", DisplayName: "Ann Lee", Email: "ann@example.com", Active: true}}),
			want:    []string{"update ann [displayName]"},
		},
		{
			name:    "manual users are never touched",
			current: []reconcile.AppUser{{ID: "m1", UserName: "ops@example.com", Active: true, Source: reconcile.Manual, Roles: []string{"Admin"}}},
			fetched: dir([]reconcile.User{user("ann", true)}),
			want:    []string{"create ann [Viewer]"},
		},
		{
			name:    "users of another source are not the synced source's to deactivate",
			current: []reconcile.AppUser{appUser("okta", "zed", true, "Viewer")},
			fetched: dir([]reconcile.User{user("ann", true)}),
			want:    []string{"create ann [Viewer]"},
		},
		{
			name:    "adopt: a manual user with the same userName (any case) is taken over",
			current: []reconcile.AppUser{{ID: "m1", UserName: "ANN@example.com", DisplayName: "ANN", Email: "ann@example.com", Active: true, Source: reconcile.Manual, Roles: []string{"CSM"}}},
			fetched: dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann")),
			want:    []string{"adopt ann manual→hr", "update ann [userName]", "grant ann Admin", "revoke ann CSM"},
		},
		{
			name:    "reject: a manual user with the same userName is a conflict",
			rules:   rules(func(r *reconcile.Rules) { r.OnConflict = reconcile.Reject }),
			current: []reconcile.AppUser{{ID: "m1", UserName: "ann@example.com", Active: true, Source: reconcile.Manual, Roles: []string{"CSM"}}},
			fetched: dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann")),
			want:    []string{"conflict ann"},
		},
		{
			name:    "a rename onto another user's userName is a conflict, the rest applies",
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Viewer"), {ID: "m1", UserName: "boss@example.com", Active: true, Source: reconcile.Manual}},
			stored:  dir([]reconcile.User{user("ann", true)}),
			fetched: dir([]reconcile.User{{ID: "ann", UserName: "boss@example.com", DisplayName: "Ann Lee", Email: "ann@example.com", Active: true}}),
			want:    []string{"conflict ann", "update ann [displayName]"},
		},
		{
			name:    "the safety brake holds a plan deactivating more than allowed",
			rules:   rules(func(r *reconcile.Rules) { r.MaxDeactivations = reconcile.Threshold{Count: 1} }),
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Viewer"), appUser("hr", "bob", true, "Viewer"), appUser("hr", "cat", true, "Viewer")},
			stored:  dir([]reconcile.User{user("ann", true), user("bob", true), user("cat", true)}),
			fetched: dir([]reconcile.User{user("cat", true)}),
			want:    []string{"deactivate ann", "deactivate bob"},
			held:    true,
		},
		{
			name:    "the brake counts a percentage of the source's active users",
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Viewer"), appUser("hr", "bob", true, "Viewer")},
			stored:  dir([]reconcile.User{user("ann", true), user("bob", true)}),
			fetched: dir([]reconcile.User{user("bob", true)}),
			want:    []string{"deactivate ann"},
			held:    true, // 10% of 2 allows 0
		},
		{
			name:    "nothing to do",
			current: []reconcile.AppUser{appUser("hr", "ann", true, "Admin")},
			stored:  dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann")),
			fetched: dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann")),
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.rules
			if r == nil {
				r = rules()
			}
			p := reconcile.Diff(reconcile.Input{
				Rules: r, Users: tt.current, States: map[string]*reconcile.Directory{"hr": tt.stored},
				Source: "hr", Fetched: tt.fetched, Brake: r.MaxDeactivations,
			})
			if got := brief(p); !slices.Equal(got, tt.want) {
				t.Errorf("changes:\n got %q\nwant %q", got, tt.want)
			}
			if got := p.Status == reconcile.StatusHeld; got != tt.held {
				t.Errorf("held = %v, want %v (reason %q)", got, tt.held, p.HeldReason)
			}
		})
	}
}

func TestDiffAcrossSources(t *testing.T) {
	hrState := dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann"))
	oktaState := dir([]reconcile.User{user("bob", true)}, group("o1", "ph-csm", "bob"))
	current := []reconcile.AppUser{appUser("hr", "ann", true, "Admin"), appUser("okta", "bob", true, "CSM")}
	tests := []struct {
		name string
		in   reconcile.Input
		want []string
		held bool
	}{
		{
			name: "a userName another live source asserts is a conflict even with adopt",
			in: reconcile.Input{Source: "okta", Fetched: dir([]reconcile.User{user("bob", true), {ID: "x9", UserName: "ANN@example.com", Active: true}}, group("o1", "ph-csm", "bob")),
				States: map[string]*reconcile.Directory{"hr": hrState, "okta": oktaState}},
			want: []string{"conflict ann"},
		},
		{
			name: "a userName left behind by a removed source is adopted",
			in: reconcile.Input{Source: "okta", Fetched: dir([]reconcile.User{user("bob", true), user("ann", true)}, group("o1", "ph-csm", "bob", "ann")),
				States: map[string]*reconcile.Directory{"okta": oktaState}},
			want: []string{"adopt ann hr→okta", "grant ann CSM", "revoke ann Admin"},
		},
		{
			name: "a rules change re-derives every source's users from stored state",
			in: reconcile.Input{Rules: rules(func(r *reconcile.Rules) { r.Mappings = r.Mappings[1:] }),
				States: map[string]*reconcile.Directory{"hr": hrState, "okta": oktaState}},
			want: []string{"grant ann Viewer", "revoke ann Admin"},
		},
		{
			name: "removing a source deactivates its users and only them",
			in:   reconcile.Input{Source: "okta", Remove: true, States: map[string]*reconcile.Directory{"hr": hrState}, Brake: reconcile.Threshold{Count: 10}},
			want: []string{"deactivate bob"},
		},
		{
			name: "removing a source is held by the brake like any run",
			in:   reconcile.Input{Source: "okta", Remove: true, States: map[string]*reconcile.Directory{"hr": hrState}, Brake: reconcile.DefaultThreshold},
			want: []string{"deactivate bob"},
			held: true,
		},
		{
			name: "a user re-created in the source under a new id keeps its app user",
			in: reconcile.Input{Source: "hr", Fetched: dir([]reconcile.User{{ID: "ann2", UserName: "ann@example.com", DisplayName: "ANN", Email: "ann@example.com", Active: true}}, group("g1", "ph-admin", "ann2")),
				States: map[string]*reconcile.Directory{"hr": hrState, "okta": oktaState}, Brake: reconcile.DefaultThreshold},
			want: []string{"adopt ann hr→hr"},
		},
		{
			name: "a push plans only the users it names",
			in: reconcile.Input{Source: "okta", Fetched: dir([]reconcile.User{user("cat", true)}, group("o1", "ph-admin", "cat")),
				States: map[string]*reconcile.Directory{"hr": hrState, "okta": oktaState}, Only: map[string]bool{"cat": true}},
			want: []string{"create cat [Admin]"},
		},
		{
			name: "a push naming a user missing from its directory deactivates it",
			in: reconcile.Input{Source: "okta", Fetched: dir(nil),
				States: map[string]*reconcile.Directory{"hr": hrState, "okta": oktaState}, Only: map[string]bool{"bob": true}},
			want: []string{"deactivate bob"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.Rules == nil {
				in.Rules = rules()
			}
			in.Users = current
			p := reconcile.Diff(in)
			if got := brief(p); !slices.Equal(got, tt.want) {
				t.Errorf("changes:\n got %q\nwant %q", got, tt.want)
			}
			if got := p.Status == reconcile.StatusHeld; got != tt.held {
				t.Errorf("held = %v, want %v (reason %q)", got, tt.held, p.HeldReason)
			}
		})
	}
}

func TestDiffGroupChanges(t *testing.T) {
	stored := dir([]reconcile.User{user("ann", true), user("bob", true)},
		group("g1", "ph-admin", "ann"), group("g2", "Eng", "bob"), group("g3", "Old"))
	fetched := dir([]reconcile.User{user("ann", true), user("bob", true)},
		group("g1", "ph-admin", "ann", "bob"), group("g2", "Engineering", "bob"), group("g4", "New", "ann"))
	p := reconcile.Diff(reconcile.Input{Rules: rules(), Source: "hr", Fetched: fetched,
		States: map[string]*reconcile.Directory{"hr": stored},
		Users:  []reconcile.AppUser{appUser("hr", "ann", true, "Admin"), appUser("hr", "bob", true, "Viewer")}})
	var got []string
	for _, c := range p.Changes {
		if strings.HasPrefix(c.Kind, "group-") {
			got = append(got, fmt.Sprintf("%s %s %v %v", c.Kind, c.Group, c.Before, c.After))
		}
	}
	want := []string{
		"group-update Engineering map[displayName:Eng members:1] map[displayName:Engineering members:1 membersAdded:0 membersRemoved:0]",
		"group-create New map[] map[displayName:New members:1]",
		"group-delete Old map[displayName:Old members:0] map[]",
		"group-update ph-admin map[members:1] map[members:2 membersAdded:1 membersRemoved:0]",
	}
	if !slices.Equal(got, want) {
		t.Errorf("group changes:\n got %q\nwant %q", got, want)
	}
	if p.Summary.GroupCreate != 1 || p.Summary.GroupUpdate != 2 || p.Summary.GroupDelete != 1 || p.Summary.Grant != 1 || p.Summary.Revoke != 1 {
		t.Errorf("summary = %+v", p.Summary)
	}
	if p.Directory != fetched {
		t.Error("a sync plan must carry the fetched directory to store")
	}
}

func TestDiffUnchangedStoresNothing(t *testing.T) {
	stored := dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann"))
	fetched := dir([]reconcile.User{user("ann", true)}, group("g1", "ph-admin", "ann"))
	p := reconcile.Diff(reconcile.Input{Rules: rules(), Source: "hr", Fetched: fetched,
		States: map[string]*reconcile.Directory{"hr": stored}, Users: []reconcile.AppUser{appUser("hr", "ann", true, "Admin")}})
	if !p.Empty() || p.Directory != nil {
		t.Errorf("unchanged sync: empty=%v directory=%v, want an empty plan storing nothing", p.Empty(), p.Directory != nil)
	}
}
