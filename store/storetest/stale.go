package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// testStale applies plans whose first two changes fit and whose third does
// not: each must fail with ECONFLICT and change and log nothing at all.
func testStale(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name  string
		third func(ids map[string]string) reconcile.Change
	}{
		{"update of a changed attribute", func(ids map[string]string) reconcile.Change {
			return update("alice", ids["alice"], map[string]any{"displayName": "Someone Else"}, map[string]any{"displayName": "Alice"})
		}},
		{"update of a changed userName", func(ids map[string]string) reconcile.Change {
			return update("alice", ids["alice"], map[string]any{"userName": "alicia"}, map[string]any{"userName": "ali"})
		}},
		{"update of active", func(ids map[string]string) reconcile.Change {
			return update("alice", ids["alice"], map[string]any{"active": false}, map[string]any{"active": true})
		}},
		{"update of a missing user", func(map[string]string) reconcile.Change {
			return update("ghost", "no-such-user", map[string]any{"email": ""}, map[string]any{"email": "g@example.com"})
		}},
		{"update to a taken userName", func(ids map[string]string) reconcile.Change {
			return update("bob", ids["bob"], map[string]any{"userName": "bob"}, map[string]any{"userName": "ALICE"})
		}},
		{"deactivate of an inactive user", func(ids map[string]string) reconcile.Change {
			return deactivate("carol", ids["carol"])
		}},
		{"deactivate of a missing user", func(map[string]string) reconcile.Change {
			return deactivate("ghost", "no-such-user")
		}},
		{"reactivate of an active user", func(ids map[string]string) reconcile.Change {
			return reactivate("bob", ids["bob"])
		}},
		{"grant of a held role", func(ids map[string]string) reconcile.Change {
			return grant("alice", ids["alice"], "viewer")
		}},
		{"grant to a missing user", func(map[string]string) reconcile.Change {
			return grant("ghost", "no-such-user", "viewer")
		}},
		{"revoke of a role not held", func(ids map[string]string) reconcile.Change {
			return revoke("bob", ids["bob"], "viewer")
		}},
		{"adopt from another owner", func(ids map[string]string) reconcile.Change {
			return adopt("bob", ids["bob"], "entra", "e-2", "okta", "o-2")
		}},
		{"adopt from another id of the same owner", func(ids map[string]string) reconcile.Change {
			return adopt("alice", ids["alice"], "okta", "o-9", "entra", "e-1")
		}},
		{"adopt of a missing user", func(map[string]string) reconcile.Change {
			return adopt("ghost", "no-such-user", reconcile.Manual, "", "okta", "o-2")
		}},
		{"create of a taken userName", func(map[string]string) reconcile.Change {
			return create("ALICE", "entra", "e-1")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			ids := fixture(t, s)
			before := snapshot(t, s)
			p := plan(reconcile.KindSync,
				grant("alice", ids["alice"], "editor"),  // fits
				create("dave", "okta", "o-4", "viewer"), // fits
				tc.third(ids))
			err := s.Apply(t.Context(), p)
			wantKind(t, err, reconcile.ECONFLICT)
			if !strings.Contains(err.Error(), "stale") {
				t.Errorf("error %q does not say the plan is stale", err)
			}
			if p.ID != 0 {
				t.Errorf("a plan that failed got id %d", p.ID)
			}
			wantUnchanged(t, before, snapshot(t, s))
		})
	}
}

func testUniqueUserName(t *testing.T, open Opener) {
	t.Run("create in another case", func(t *testing.T) {
		s := open(t)
		seed(t, s, create("Émile", "okta", "o-1"))
		before := snapshot(t, s)
		wantKind(t, s.Apply(t.Context(), plan(reconcile.KindSync, create("éMILE", "entra", "e-1"))), reconcile.ECONFLICT)
		wantUnchanged(t, before, snapshot(t, s))
	})
	t.Run("two creates of one name in a plan", func(t *testing.T) {
		s := open(t)
		before := snapshot(t, s)
		err := s.Apply(t.Context(), plan(reconcile.KindSync, create("dave", "okta", "o-1"), create("DAVE", "okta", "o-2")))
		wantKind(t, err, reconcile.ECONFLICT)
		wantUnchanged(t, before, snapshot(t, s))
	})
	t.Run("a renamed user frees its name", func(t *testing.T) {
		s := open(t)
		ids := seed(t, s, create("alice", "okta", "o-1"))
		mustApply(t, s, plan(reconcile.KindSync,
			update("alice", ids["alice"], map[string]any{"userName": "alice"}, map[string]any{"userName": "alicia"}),
			create("Alice", "okta", "o-2")))
		if got := userNames(mustUsers(t, s, reconcile.UserFilter{})); !slices.Equal(got, []string{"Alice", "alicia"}) {
			t.Errorf("users = %q, want [Alice alicia]", got)
		}
	})
	t.Run("a change of case only", func(t *testing.T) {
		s := open(t)
		ids := seed(t, s, create("alice", "okta", "o-1"))
		mustApply(t, s, plan(reconcile.KindSync,
			update("alice", ids["alice"], map[string]any{"userName": "alice"}, map[string]any{"userName": "ALICE"})))
		if u := mustUser(t, s, "Alice"); u.UserName != "ALICE" || u.ID != ids["alice"] {
			t.Errorf("User(Alice) = %q (%s), want ALICE (%s)", u.UserName, u.ID, ids["alice"])
		}
	})
}
