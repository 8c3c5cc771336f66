package reconcile_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// What the configuration sets wins; the admin's default role and
// single_role fill in only where it leaves them unset.
func TestMergeAdminSettings(t *testing.T) {
	noDefault := func(r *reconcile.Rules) { r.DefaultRole = "" }
	single := func(r *reconcile.Rules) { r.SingleRole = true }
	tests := []struct {
		name              string
		config            *reconcile.Rules
		admin             reconcile.AdminRules
		defaultRole, from string
		singleRole        bool
		singleFrom        string
	}{
		{"nothing from the admin", rules(), reconcile.AdminRules{}, "Viewer", "", false, ""},
		{"config's default role wins", rules(), reconcile.AdminRules{DefaultRole: "CSM"}, "Viewer", "", false, ""},
		{"admin's default role where config has none", rules(noDefault), reconcile.AdminRules{DefaultRole: "CSM"}, "CSM", reconcile.OriginAdmin, false, ""},
		{"admin's single_role", rules(), reconcile.AdminRules{SingleRole: true}, "Viewer", "", true, reconcile.OriginAdmin},
		{"config's single_role = true wins", rules(single), reconcile.AdminRules{SingleRole: false}, "Viewer", "", true, ""},
		{"both set by config", rules(single), reconcile.AdminRules{DefaultRole: "CSM", SingleRole: true}, "Viewer", "", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.config.Merge(&tt.admin)
			if got.DefaultRole != tt.defaultRole || got.DefaultRoleOrigin != tt.from || got.SingleRole != tt.singleRole || got.SingleRoleOrigin != tt.singleFrom {
				t.Errorf("Merge = default %q (%q), single %v (%q); want %q (%q), %v (%q)", got.DefaultRole, got.DefaultRoleOrigin,
					got.SingleRole, got.SingleRoleOrigin, tt.defaultRole, tt.from, tt.singleRole, tt.singleFrom)
			}
			if changed := got.Hash() != tt.config.Hash(); changed != (tt.from != "" || tt.singleFrom != "") {
				t.Errorf("hash changed %v; want it to change exactly when an admin setting applies", changed)
			}
		})
	}
}

func TestValidateAdminDefaultRole(t *testing.T) {
	r := rules(func(r *reconcile.Rules) { r.DefaultRole = "" }).Merge(&reconcile.AdminRules{DefaultRole: "Pilot"})
	err := r.Validate()
	if reconcile.ErrorKind(err) != reconcile.EINVALID || !strings.Contains(err.Error(), `default role set with the API (stored in the database): unknown role "Pilot"`) {
		t.Errorf("Validate = %v; want the admin's unknown default role named as such", err)
	}
}

func TestEditRules(t *testing.T) {
	f := newFixture(t, rules(func(r *reconcile.Rules) { r.DefaultRole = "" }), "hr")
	f.sync(&source{name: "hr", dir: demo()}, reconcile.SyncOptions{})
	wantRoles(t, f, "ann@example.com: [Admin]", "bob@example.com: [CSM]", "cat@example.com: []", "dan@example.com: []")

	var seen reconcile.Rules
	p, err := f.engine.EditRules(f.ctx, "admin", func(cur *reconcile.Rules, a *reconcile.AdminRules) error {
		seen = *cur
		a.DefaultRole = "Viewer"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen.DefaultRole != "" || len(seen.Mappings) != 2 {
		t.Errorf("edit saw %+v; want the current rules", seen)
	}
	if got := brief(p); !slices.Equal(got, []string{"grant cat Viewer", "grant dan Viewer"}) || p.Kind != reconcile.KindRules || p.Actor != "admin" {
		t.Errorf("plan = %s %s %q", p.Kind, p.Actor, got)
	}
	if err := f.engine.Apply(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	wantRoles(t, f, "ann@example.com: [Admin]", "bob@example.com: [CSM]", "cat@example.com: [Viewer]", "dan@example.com: [Viewer]")
	if x, err := f.engine.Explain(f.ctx, "cat@example.com"); err != nil || len(x.Grants) != 1 || x.Grants[0].Reason != reconcile.ReasonDefault {
		t.Errorf("Explain(cat) = %+v, %v; want the default role", x, err)
	}

	// An edit planned before another edit was applied is refused.
	first, err := f.engine.EditRules(f.ctx, "a", func(_ *reconcile.Rules, a *reconcile.AdminRules) error { a.SingleRole = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.engine.EditRules(f.ctx, "b", func(_ *reconcile.Rules, a *reconcile.AdminRules) error { a.DefaultRole = ""; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := f.engine.Apply(f.ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := f.engine.Apply(f.ctx, second); reconcile.ErrorKind(err) != reconcile.ECONFLICT {
		t.Errorf("applying an edit planned on replaced rules: %v, want conflict", err)
	}

	// The edit's error comes back, and an invalid result is refused.
	if _, err := f.engine.EditRules(f.ctx, "a", func(*reconcile.Rules, *reconcile.AdminRules) error {
		return reconcile.Errorf(reconcile.ENOTFOUND, "no such thing")
	}); reconcile.ErrorKind(err) != reconcile.ENOTFOUND {
		t.Errorf("edit error: %v, want it back", err)
	}
	if _, err := f.engine.EditRules(f.ctx, "a", func(_ *reconcile.Rules, a *reconcile.AdminRules) error { a.DefaultRole = "Pilot"; return nil }); reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Errorf("unknown default role: %v, want invalid", err)
	}
	stored, err := f.store.AdminRules(f.ctx)
	if err != nil || stored.DefaultRole != "Viewer" || !stored.SingleRole {
		t.Errorf("stored admin rules = %+v, %v; want default role Viewer and single_role from the applied edits", stored, err)
	}
}
