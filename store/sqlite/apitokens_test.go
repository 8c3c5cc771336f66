package sqlite_test

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

func TestAPITokens(t *testing.T) {
	clock := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	s := openTemp(t, sqlite.WithClock(func() time.Time { return clock }))
	ctx := t.Context()
	hash := func(tok string) []byte { h := sha256.Sum256([]byte(tok)); return h[:] }

	app, err := s.CreateAPIToken(ctx, "app", "read", hash("t1"))
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Second) // listed oldest first
	ops, err := s.CreateAPIToken(ctx, " ops ", "admin", hash("t2"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ name, scope string }{{"", "read"}, {"x", "write"}, {"x", ""}} {
		if _, err := s.CreateAPIToken(ctx, bad.name, bad.scope, hash("t3")); reconcile.ErrorKind(err) != reconcile.EINVALID {
			t.Errorf("CreateAPIToken(%q, %q): %v, want EINVALID", bad.name, bad.scope, err)
		}
	}
	if _, err := s.CreateAPIToken(ctx, "x", "read", []byte("short")); reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Errorf("CreateAPIToken with a 5-byte hash: %v, want EINVALID", err)
	}

	id, name, scope, err := s.APITokenByHash(ctx, hash("t2"))
	if err != nil || id != ops.ID || name != "ops" || scope != "admin" {
		t.Errorf("APITokenByHash(t2) = %q, %q, %q, %v; want %s, ops, admin", id, name, scope, err, ops.ID)
	}
	if _, _, _, err := s.APITokenByHash(ctx, hash("nope")); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Errorf("APITokenByHash(unknown): %v, want ENOTFOUND", err)
	}
	// SCIM tokens and API tokens are apart.
	if _, err := s.CreateToken(ctx, "scim", hash("scim")); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.APITokenByHash(ctx, hash("scim")); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Errorf("a SCIM token authenticates as an API token: %v", err)
	}

	used := clock.Add(time.Hour)
	if err := s.TouchAPIToken(ctx, app.ID, used); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Hour)
	if err := s.RevokeAPIToken(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIToken(ctx, app.ID); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Errorf("revoking twice: %v, want ENOTFOUND", err)
	}
	if _, _, _, err := s.APITokenByHash(ctx, hash("t1")); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Errorf("a revoked token still authenticates: %v", err)
	}
	list, err := s.APITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(list))
	for i, tok := range list {
		got[i] = fmt.Sprintf("%s %s %s used=%v revoked=%v", tok.ID, tok.Name, tok.Scope, tok.LastUsed.Equal(used), !tok.Revoked.IsZero())
	}
	want := []string{app.ID + " app read used=true revoked=true", ops.ID + " ops admin used=false revoked=false"}
	if !slices.Equal(got, want) {
		t.Errorf("APITokens = %q, want %q", got, want)
	}
}

// CountUsers repeats the conditions of Users: the totals must agree.
func TestCountUsersMatchesUsers(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	p := &reconcile.Plan{Kind: reconcile.KindManual, Source: reconcile.Manual}
	for i := range 12 {
		after := map[string]any{"userName": fmt.Sprintf("user%02d@example.com", i), "displayName": fmt.Sprintf("User Ünïcode %d", i), "active": i%3 != 0}
		var grants []reconcile.Grant
		if i%2 == 0 {
			grants = []reconcile.Grant{{Role: "Admin", Reason: reconcile.ReasonManual}}
			after["roles"] = []string{"Admin"}
		}
		p.Changes = append(p.Changes, reconcile.Change{Kind: reconcile.ChangeCreate, User: after["userName"].(string), Source: reconcile.Manual, After: after, Grants: grants})
	}
	if err := s.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	for _, f := range []reconcile.UserFilter{
		{}, {Role: "Admin"}, {Active: &yes}, {Active: &no}, {Source: reconcile.Manual}, {Source: "hr"},
		{Query: "ÜNÏ"}, {Query: "user1"}, {Role: "Admin", Active: &no, Query: "0"},
	} {
		all, err := s.Users(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		f.Limit, f.Offset = 2, 1 // ignored by CountUsers
		n, err := s.CountUsers(ctx, f)
		if err != nil || n != len(all) {
			t.Errorf("CountUsers(%+v) = %d, %v; Users lists %d", f, n, err, len(all))
		}
	}
}

func TestAdminRuleSettings(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	apply := func(a *reconcile.AdminRules) {
		t.Helper()
		if err := s.Apply(ctx, &reconcile.Plan{Kind: reconcile.KindRules, Admin: a, RulesHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(defaultRole string, singleRole bool) {
		t.Helper()
		got, err := s.AdminRules(ctx)
		if err != nil || got.DefaultRole != defaultRole || got.SingleRole != singleRole {
			t.Errorf("AdminRules = %+v, %v; want default role %q, single role %v", got, err, defaultRole, singleRole)
		}
	}
	check("", false)
	apply(&reconcile.AdminRules{DefaultRole: "Viewer", SingleRole: true})
	check("Viewer", true)
	if err := s.Apply(ctx, &reconcile.Plan{Kind: reconcile.KindSync, Source: "hr", Directory: &reconcile.Directory{}}); err != nil {
		t.Fatal(err)
	}
	check("Viewer", true) // kept by plans without admin rules
	apply(&reconcile.AdminRules{DefaultRole: "CSM"})
	check("CSM", false)
	apply(&reconcile.AdminRules{})
	check("", false)
}
