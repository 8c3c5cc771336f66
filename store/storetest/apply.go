package storetest

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// userChange returns a change of kind to an existing user.
func userChange(kind, name, id string) reconcile.Change {
	return reconcile.Change{Kind: kind, User: name, UserID: id}
}

func grant(name, id, role string) reconcile.Change {
	c := userChange(reconcile.ChangeGrant, name, id)
	c.Role, c.Groups, c.Reason = role, []string{"g-" + role}, "member of g-"+role
	return c
}

func revoke(name, id, role string) reconcile.Change {
	c := userChange(reconcile.ChangeRevoke, name, id)
	c.Role = role
	return c
}

func update(name, id string, before, after map[string]any) reconcile.Change {
	c := userChange(reconcile.ChangeUpdate, name, id)
	c.Before, c.After = before, after
	return c
}

func deactivate(name, id string) reconcile.Change {
	c := userChange(reconcile.ChangeDeactivate, name, id)
	c.Before, c.After = map[string]any{"active": true}, map[string]any{"active": false}
	return c
}

func reactivate(name, id string) reconcile.Change {
	c := userChange(reconcile.ChangeReactivate, name, id)
	c.Before, c.After = map[string]any{"active": false}, map[string]any{"active": true}
	return c
}

func adopt(name, id, fromSource, fromID, toSource, toID string) reconcile.Change {
	c := userChange(reconcile.ChangeAdopt, name, id)
	c.Source, c.SourceID = toSource, toID
	c.Before = map[string]any{"source": fromSource, "sourceId": fromID}
	c.After = map[string]any{"source": toSource, "sourceId": toID}
	return c
}

// testApply applies each kind of change to the fixture and checks the user
// it changed and what it logged.
func testApply(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name    string
		changes func(ids map[string]string) []reconcile.Change
		check   func(t *testing.T, s reconcile.Store, ids map[string]string)
		wantLog []string
	}{{
		name: "create",
		changes: func(map[string]string) []reconcile.Change {
			c := create("dave", "entra", "e-4", "viewer", "editor")
			c.After["givenName"], c.After["familyName"], c.After["externalId"] = "Dave", "Jones", "x-4"
			delete(c.After, "active") // active by default
			return []reconcile.Change{c}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			u := mustUser(t, s, "dave")
			got := *u
			got.ID, got.Roles, got.CreatedAt, got.UpdatedAt = "", nil, time.Time{}, time.Time{}
			want := reconcile.AppUser{UserName: "dave", DisplayName: "The dave", Email: "dave@example.com",
				GivenName: "Dave", FamilyName: "Jones", ExternalID: "x-4", Active: true, Source: "entra", SourceID: "e-4"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("created user = %+v, want %+v", got, want)
			}
			wantRoles(t, "dave", u.Roles, "editor", "viewer") // sorted by name
			if u.ID == "" || u.CreatedAt.IsZero() || !u.UpdatedAt.Equal(u.CreatedAt) {
				t.Errorf("created user: id %q, createdAt %v, updatedAt %v; want an id and createdAt = updatedAt", u.ID, u.CreatedAt, u.UpdatedAt)
			}
		},
		wantLog: []string{"create"},
	}, {
		name: "create inactive",
		changes: func(map[string]string) []reconcile.Change {
			c := create("erin", reconcile.Manual, "")
			c.After["active"] = false
			return []reconcile.Change{c}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			if u := mustUser(t, s, "erin"); u.Active || u.Source != reconcile.Manual || u.SourceID != "" {
				t.Errorf("erin: active %t, source %q/%q; want inactive, manual", u.Active, u.Source, u.SourceID)
			}
		},
		wantLog: []string{"create"},
	}, {
		name: "update",
		changes: func(ids map[string]string) []reconcile.Change {
			return []reconcile.Change{update("alice", ids["alice"],
				map[string]any{"userName": "alice", "displayName": "The alice", "givenName": ""},
				map[string]any{"userName": "Alice.Smith", "displayName": "Alice Smith", "givenName": "Alice"})}
		},
		check: func(t *testing.T, s reconcile.Store, ids map[string]string) {
			u := mustUser(t, s, "alice.smith")
			if u.ID != ids["alice"] || u.UserName != "Alice.Smith" || u.DisplayName != "Alice Smith" ||
				u.GivenName != "Alice" || u.Email != "alice@example.com" || !u.Active {
				t.Errorf("updated alice = %+v", u)
			}
			wantRoles(t, "alice", u.Roles, "viewer")
			if !u.UpdatedAt.After(u.CreatedAt) && !u.UpdatedAt.Equal(u.CreatedAt) {
				t.Errorf("updatedAt %v before createdAt %v", u.UpdatedAt, u.CreatedAt)
			}
			if _, err := s.User(t.Context(), "alice"); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
				t.Errorf(`User("alice") after the rename: err = %v, want not found`, err)
			}
		},
		wantLog: []string{"update"},
	}, {
		name: "update active",
		changes: func(ids map[string]string) []reconcile.Change {
			return []reconcile.Change{update("carol", ids["carol"], map[string]any{"active": false}, map[string]any{"active": true})}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			if u := mustUser(t, s, "carol"); !u.Active {
				t.Errorf("carol is inactive, want active")
			}
		},
		wantLog: []string{"update"},
	}, {
		name: "deactivate",
		changes: func(ids map[string]string) []reconcile.Change {
			return []reconcile.Change{deactivate("alice", ids["alice"])}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			u := mustUser(t, s, "alice")
			if u.Active {
				t.Errorf("alice is active, want inactive")
			}
			wantRoles(t, "alice", u.Roles) // a deactivated user loses every role
		},
		wantLog: []string{"deactivate"},
	}, {
		name: "reactivate",
		changes: func(ids map[string]string) []reconcile.Change {
			return []reconcile.Change{reactivate("carol", ids["carol"]), grant("carol", ids["carol"], "viewer")}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			u := mustUser(t, s, "carol")
			if !u.Active {
				t.Errorf("carol is inactive, want active")
			}
			wantRoles(t, "carol", u.Roles, "viewer")
		},
		wantLog: []string{"reactivate", "grant"},
	}, {
		name: "grant",
		changes: func(ids map[string]string) []reconcile.Change {
			return []reconcile.Change{grant("alice", ids["alice"], "editor"), grant("alice", ids["alice"], "admin")}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			wantRoles(t, "alice", mustUser(t, s, "alice").Roles, "admin", "editor", "viewer")
		},
		wantLog: []string{"grant", "grant"},
	}, {
		name: "revoke",
		changes: func(ids map[string]string) []reconcile.Change {
			return []reconcile.Change{revoke("alice", ids["alice"], "viewer"), revoke("bob", ids["bob"], "admin")}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			wantRoles(t, "alice", mustUser(t, s, "alice").Roles)
			wantRoles(t, "bob", mustUser(t, s, "bob").Roles)
		},
		wantLog: []string{"revoke", "revoke"},
	}, {
		name: "adopt",
		changes: func(ids map[string]string) []reconcile.Change {
			return []reconcile.Change{adopt("bob", ids["bob"], reconcile.Manual, "", "okta", "o-2")}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			if u := mustUser(t, s, "bob"); u.Source != "okta" || u.SourceID != "o-2" {
				t.Errorf("bob is owned by %q/%q, want okta/o-2", u.Source, u.SourceID)
			}
		},
		wantLog: []string{"adopt"},
	}, {
		name: "conflict is neither applied nor logged",
		changes: func(ids map[string]string) []reconcile.Change {
			return []reconcile.Change{{Kind: reconcile.ChangeConflict, User: "bob", UserID: ids["bob"], Source: "okta",
				SourceID: "o-9", Reason: "userName belongs to a manual user"}}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			if u := mustUser(t, s, "bob"); u.Source != reconcile.Manual {
				t.Errorf("bob is owned by %q, want manual", u.Source)
			}
		},
		wantLog: []string{},
	}, {
		name: "group changes are logged only",
		changes: func(map[string]string) []reconcile.Change {
			return []reconcile.Change{
				{Kind: reconcile.ChangeGroupCreate, Group: "Eng", After: map[string]any{"displayName": "Eng", "members": 2}},
				{Kind: reconcile.ChangeGroupUpdate, Group: "Ops", Before: map[string]any{"members": 1}, After: map[string]any{"members": 3}},
				{Kind: reconcile.ChangeGroupDelete, Group: "Old", Before: map[string]any{"displayName": "Old", "members": 0}},
			}
		},
		check: func(t *testing.T, s reconcile.Store, _ map[string]string) {
			if n := len(mustUsers(t, s, reconcile.UserFilter{})); n != 3 {
				t.Errorf("%d users, want the fixture's 3", n)
			}
		},
		wantLog: []string{"group-create", "group-update", "group-delete"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			ids := fixture(t, s)
			seq := lastSeq(t, s)
			p := plan(reconcile.KindManual, tc.changes(ids)...)
			p.Actor = "admin:jo"
			mustApply(t, s, p)
			tc.check(t, s, ids)

			logged := mustChanges(t, s, reconcile.ChangeFilter{After: seq})
			if got := kinds(logged); !slices.Equal(got, tc.wantLog) {
				t.Fatalf("logged %q, want %q", got, tc.wantLog)
			}
			for _, r := range logged {
				if r.PlanID != p.ID || r.Actor != "admin:jo" || r.Time.IsZero() {
					t.Errorf("log record %d: plan %d, actor %q, time %v; want plan %d, actor admin:jo, a time",
						r.Seq, r.PlanID, r.Actor, r.Time, p.ID)
				}
				if !strings.HasPrefix(r.Kind, "group-") && r.UserID == "" {
					t.Errorf("log record %d (%s): no user id", r.Seq, r.Kind)
				}
			}
		})
	}
}

// testApplySetsIDs checks what Apply tells the caller: the plan's id and
// status, and the new users' ids.
func testApplySetsIDs(t *testing.T, open Opener) {
	s := open(t)
	p := mustApply(t, s, plan(reconcile.KindSync, create("alice", "okta", "o-1", "viewer"), create("bob", "okta", "o-2")))
	if p.ID == 0 || p.Status != reconcile.StatusApplied {
		t.Fatalf("after Apply: plan id %d, status %q; want an id and status applied", p.ID, p.Status)
	}
	for _, c := range p.Changes {
		if u := mustUser(t, s, c.User); c.UserID != u.ID {
			t.Errorf("plan's create of %q has UserID %q, the user's id is %q", c.User, c.UserID, u.ID)
		}
	}
	if p.Changes[0].UserID == p.Changes[1].UserID {
		t.Errorf("two users got the same id %q", p.Changes[0].UserID)
	}
	logged := mustChanges(t, s, reconcile.ChangeFilter{})
	if len(logged) != 2 || logged[0].UserID != p.Changes[0].UserID || logged[1].UserID != p.Changes[1].UserID {
		t.Errorf("the change log does not carry the new ids: %+v", logged)
	}
	q := mustApply(t, s, plan(reconcile.KindSync, grant("bob", p.Changes[1].UserID, "viewer")))
	if q.ID <= p.ID {
		t.Errorf("second plan id %d, want > %d", q.ID, p.ID)
	}
}
