package webui

import (
	"reflect"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

func TestImpactSummary(t *testing.T) {
	grant := func(user, role string, groups ...string) reconcile.Change {
		return reconcile.Change{Kind: reconcile.ChangeGrant, User: user, UserID: "id-" + user, Role: role, Groups: groups}
	}
	revoke := func(user, role string) reconcile.Change {
		return reconcile.Change{Kind: reconcile.ChangeRevoke, User: user, UserID: "id-" + user, Role: role}
	}
	roles := []string{"Admin", "CSM", "Viewer"}
	tests := []struct {
		name    string
		changes []reconcile.Change
		want    string
		users   int
	}{
		{"nothing", nil, "No user's roles change", 0},
		{"one gain", []reconcile.Change{grant("a", "CSM", "Sales")}, "1 user gains CSM", 1},
		{"the issue's example", []reconcile.Change{
			grant("a", "Admin", "ph-admin"), revoke("a", "Viewer"),
			grant("b", "Admin", "ph-admin"), revoke("b", "Viewer"),
			revoke("c", "CSM"), grant("c", "Viewer"),
			revoke("d", "CSM"), grant("d", "Viewer"),
			revoke("e", "CSM"),
		}, "2 users gain Admin, 3 lose CSM, 2 lose Viewer, 2 fall back to Viewer", 5},
		{"roles in catalogue order", []reconcile.Change{grant("a", "Viewer", "x"), grant("a", "Admin", "y"), grant("b", "Zed", "z")},
			"1 user gains Admin, 1 gains Viewer, 1 gains Zed", 2},
		{"one user falls back", []reconcile.Change{revoke("c", "CSM"), grant("c", "Viewer")}, "1 user loses CSM, 1 falls back to Viewer", 1},
		{"other changes only", []reconcile.Change{{Kind: reconcile.ChangeGroupUpdate, Group: "g"}}, "No user's roles change", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := impactOf(&reconcile.Plan{Changes: tt.changes}, roles)
			if im.Summary != tt.want {
				t.Errorf("summary %q, want %q", im.Summary, tt.want)
			}
			if im.Total != tt.users || len(im.Users) != tt.users {
				t.Errorf("%d users (%d listed), want %d", im.Total, len(im.Users), tt.users)
			}
		})
	}
}

func TestImpactUsers(t *testing.T) {
	p := &reconcile.Plan{Changes: []reconcile.Change{
		{Kind: reconcile.ChangeGrant, User: "farid", UserID: "u6", Role: "Admin", Groups: []string{"Sales"}, Reason: "member of Sales"},
		{Kind: reconcile.ChangeRevoke, User: "farid", UserID: "u6", Role: "Viewer", Reason: "a mapped role takes precedence over the default role"},
	}}
	got := impactOf(p, nil).Users
	want := []userImpact{{User: "farid", UserID: "u6",
		Gains: []roleChange{{Role: "Admin", Why: "member of Sales"}},
		Loses: []roleChange{{Role: "Viewer", Why: "a mapped role takes precedence over the default role"}}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("users %+v, want %+v", got, want)
	}

	var many reconcile.Plan
	for i := range maxImpactRows + 5 {
		many.Changes = append(many.Changes, reconcile.Change{Kind: reconcile.ChangeGrant, User: string(rune('a'+i%26)) + string(rune(i)), Role: "CSM", Groups: []string{"g"}})
	}
	im := impactOf(&many, nil)
	if len(im.Users) != maxImpactRows || im.More != 5 || im.Total != maxImpactRows+5 {
		t.Errorf("listed %d, more %d, total %d", len(im.Users), im.More, im.Total)
	}
}

func TestLocalNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/users": "/users", "//evil": "/", "http://evil": "/", "/\\evil": "/", "/a\r\nb": "/", "users": "/",
	} {
		if got := localNext(in); got != want {
			t.Errorf("localNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := mustTime("2026-11-27T10:00:00Z")
	for in, want := range map[string]string{
		"2026-11-27T09:59:30Z": "less than a minute ago",
		"2026-11-27T09:57:00Z": "3 minutes ago",
		"2026-11-27T09:00:00Z": "1 hour ago",
		"2026-11-24T10:00:00Z": "3 days ago",
		"2026-11-27T10:15:00Z": "in 15 minutes",
		"2026-11-27T10:00:20Z": "less than a minute ago",
	} {
		if got := ago(now, mustTime(in)); got != want {
			t.Errorf("ago(%s) = %q, want %q", in, got, want)
		}
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestSummaryText: an applied plan's counts in the past, any other's in
// the future (nothing of it happened).
func TestSummaryText(t *testing.T) {
	s := reconcile.Summary{Create: 1, Deactivate: 2, Grant: 3, GroupUpdate: 2, Conflict: 1}
	tests := []struct {
		status string
		s      reconcile.Summary
		want   string
	}{
		{reconcile.StatusApplied, s, "1 created, 2 deactivated, 3 granted, 2 group changes, 1 in conflict"},
		{reconcile.StatusHeld, s, "would create 1, deactivate 2, grant 3, change 2 groups, 1 in conflict"},
		{reconcile.StatusDryRun, reconcile.Summary{Deactivate: 2}, "would deactivate 2"},
		{reconcile.StatusDiscarded, reconcile.Summary{Revoke: 1, GroupDelete: 1}, "would revoke 1, change 1 group"},
		{reconcile.RunHeld, reconcile.Summary{Deactivate: 2}, "would deactivate 2"},
		{reconcile.StatusApplied, reconcile.Summary{}, "no changes"},
		{reconcile.StatusHeld, reconcile.Summary{Conflict: 2}, "no changes, 2 in conflict"},
	}
	for _, tt := range tests {
		t.Run(tt.status+"/"+tt.want, func(t *testing.T) {
			if got := summaryText(tt.s, tt.status); got != tt.want {
				t.Errorf("summaryText(%+v, %s) = %q, want %q", tt.s, tt.status, got, tt.want)
			}
		})
	}
	if got, want := effect(s), "create 1, deactivate 2, grant 3, change 2 groups"; got != want {
		t.Errorf("effect = %q, want %q", got, want)
	}
}
