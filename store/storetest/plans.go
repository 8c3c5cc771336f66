package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// pendingPlan returns a plan as the engine saves it: with changes, a
// directory, admin rules, a rules hash.
func pendingPlan(status, source string) *reconcile.Plan {
	d := sampleDirectory()
	p := &reconcile.Plan{
		Kind: reconcile.KindSync, Source: source, Actor: "schedule", Status: status,
		CreatedAt: time.Date(2025, 3, 4, 5, 6, 7, 891011000, time.UTC),
		Changes: []reconcile.Change{
			create("alice", source, "u1", "viewer"),
			create("bob", source, "u2"),
			{Kind: reconcile.ChangeGroupCreate, Group: "Ops", After: map[string]any{"displayName": "Ops", "members": 2}},
		},
		Directory: d,
		Admin: &reconcile.AdminRules{
			Roles:    []reconcile.Role{{Name: "auditor", Origin: reconcile.OriginAdmin}},
			Mappings: []reconcile.Mapping{{Group: "Ops", Role: "auditor", Origin: reconcile.OriginAdmin}},
		},
		RulesHash: "hash-1",
	}
	if status == reconcile.StatusHeld {
		p.HeldReason = "would deactivate 3 of 10 active users"
		p.Summary.Held = 3
	}
	p.Summarize()
	return p
}

func mustSave(t *testing.T, s reconcile.Store, p *reconcile.Plan) int64 {
	t.Helper()
	if err := s.SavePlan(t.Context(), p); err != nil {
		t.Fatalf("SavePlan(%s): %v", p.Status, err)
	}
	if p.ID == 0 {
		t.Fatalf("SavePlan(%s) set no id", p.Status)
	}
	return p.ID
}

func mustPlan(t *testing.T, s reconcile.Store, id int64) *reconcile.Plan {
	t.Helper()
	p, err := s.Plan(t.Context(), id)
	if err != nil {
		t.Fatalf("Plan(%d): %v", id, err)
	}
	return p
}

// wantPlan compares a loaded plan with the one saved.
func wantPlan(t *testing.T, got, want *reconcile.Plan) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.Source != want.Source || got.Actor != want.Actor ||
		got.Status != want.Status || got.HeldReason != want.HeldReason || got.Summary != want.Summary ||
		got.RulesHash != want.RulesHash || got.DropSource != want.DropSource || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("plan %d:\n got %+v\nwant %+v", want.ID, got, want)
	}
	jsonEqual(t, "changes", got.Changes, want.Changes)
	if !reflect.DeepEqual(got.Admin, want.Admin) {
		t.Errorf("plan %d admin rules = %+v, want %+v", want.ID, got.Admin, want.Admin)
	}
	switch {
	case want.Directory == nil && got.Directory != nil:
		t.Errorf("plan %d has a directory, want none", want.ID)
	case want.Directory != nil && (got.Directory == nil || !reflect.DeepEqual(emptyNil(got.Directory), emptyNil(want.Directory))):
		t.Errorf("plan %d directory = %+v, want %+v", want.ID, got.Directory, want.Directory)
	}
}

func planIDs(ps []reconcile.Plan) []int64 {
	out := []int64{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func testPlans(t *testing.T, open Opener) {
	s := open(t)
	ctx := t.Context()
	dry := pendingPlan(reconcile.StatusDryRun, "okta")
	held := pendingPlan(reconcile.StatusHeld, "okta")
	other := pendingPlan(reconcile.StatusDryRun, "entra")
	other.Admin, other.Directory, other.DropSource, other.Kind = nil, nil, "entra", reconcile.KindRemove
	for _, p := range []*reconcile.Plan{dry, held, other} {
		mustSave(t, s, p)
	}

	t.Run("round trip", func(t *testing.T) {
		for _, p := range []*reconcile.Plan{dry, held, other} {
			wantPlan(t, mustPlan(t, s, p.ID), p)
		}
	})
	t.Run("not found", func(t *testing.T) {
		_, err := s.Plan(ctx, other.ID+100)
		wantKind(t, err, reconcile.ENOTFOUND)
	})
	t.Run("save refuses other statuses", func(t *testing.T) {
		for _, status := range []string{reconcile.StatusApplied, reconcile.StatusDiscarded, ""} {
			wantKind(t, s.SavePlan(ctx, pendingPlan(status, "okta")), reconcile.EINVALID)
		}
	})
	t.Run("list", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    reconcile.PlanFilter
			want []int64
		}{
			{"all, newest first", reconcile.PlanFilter{}, []int64{other.ID, held.ID, dry.ID}},
			{"status", reconcile.PlanFilter{Status: reconcile.StatusDryRun}, []int64{other.ID, dry.ID}},
			{"source", reconcile.PlanFilter{Source: "okta"}, []int64{held.ID, dry.ID}},
			{"status and source", reconcile.PlanFilter{Status: reconcile.StatusHeld, Source: "okta"}, []int64{held.ID}},
			{"limit", reconcile.PlanFilter{Limit: 2}, []int64{other.ID, held.ID}},
			{"none", reconcile.PlanFilter{Status: reconcile.StatusApplied}, []int64{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Plans(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(planIDs(got), tc.want) {
					t.Fatalf("Plans(%+v) = %v, want %v", tc.f, planIDs(got), tc.want)
				}
				for _, p := range got {
					if len(p.Changes) != 0 {
						t.Errorf("Plans lists plan %d with its %d changes", p.ID, len(p.Changes))
					}
					if p.ID == held.ID && (p.Status != reconcile.StatusHeld || p.HeldReason != held.HeldReason ||
						p.Summary != held.Summary || p.Kind != held.Kind || p.Actor != held.Actor || !p.CreatedAt.Equal(held.CreatedAt)) {
						t.Errorf("listed held plan = %+v", p)
					}
				}
			})
		}
	})
	t.Run("discard", func(t *testing.T) {
		if err := s.DiscardPlan(ctx, dry.ID, "admin:jo"); err != nil {
			t.Fatalf("DiscardPlan: %v", err)
		}
		if got := mustPlan(t, s, dry.ID); got.Status != reconcile.StatusDiscarded || len(got.Changes) != len(dry.Changes) {
			t.Errorf("discarded plan: status %q with %d changes, want discarded with %d", got.Status, len(got.Changes), len(dry.Changes))
		}
		wantKind(t, s.DiscardPlan(ctx, dry.ID, "admin:jo"), reconcile.EINVALID)
		wantKind(t, s.DiscardPlan(ctx, other.ID+100, "admin:jo"), reconcile.ENOTFOUND)
		// A discarded plan cannot be applied.
		before := snapshot(t, s)
		wantKind(t, s.Apply(ctx, mustPlan(t, s, dry.ID)), reconcile.EINVALID)
		wantUnchanged(t, before, snapshot(t, s))
	})
}

// testApplyStoredPlan applies a held plan by its id, as an admin's approval does.
func testApplyStoredPlan(t *testing.T, open Opener) {
	s := open(t)
	ctx := t.Context()
	held := pendingPlan(reconcile.StatusHeld, "okta")
	id := mustSave(t, s, held)

	p := mustPlan(t, s, id)
	p.Actor = "admin:jo"
	mustApply(t, s, p)
	if p.ID != id || p.Status != reconcile.StatusApplied {
		t.Fatalf("applied plan: id %d status %q, want id %d applied", p.ID, p.Status, id)
	}
	alice := mustUser(t, s, "alice")
	wantRoles(t, "alice", alice.Roles, "viewer")
	wantDirectory(t, s, "okta", held.Directory)
	if admin, err := s.AdminRules(ctx); err != nil || !reflect.DeepEqual(admin, held.Admin) {
		t.Errorf("AdminRules = %+v, %v; want %+v", admin, err, held.Admin)
	}
	if h, err := s.RulesHash(ctx); err != nil || h != "hash-1" {
		t.Errorf("RulesHash = %q, %v; want hash-1", h, err)
	}

	stored := mustPlan(t, s, id)
	if stored.Status != reconcile.StatusApplied || stored.Changes[0].UserID != alice.ID {
		t.Errorf("stored plan: status %q, first create's user id %q; want applied, %q", stored.Status, stored.Changes[0].UserID, alice.ID)
	}
	if stored.Directory != nil {
		t.Errorf("an applied plan keeps its directory")
	}
	logged := mustChanges(t, s, reconcile.ChangeFilter{})
	if len(logged) != 3 || logged[0].PlanID != id || logged[0].Actor != "admin:jo" {
		t.Errorf("logged %d changes (first: %+v), want 3 of plan %d by admin:jo", len(logged), logged[0], id)
	}

	t.Run("twice", func(t *testing.T) {
		before := snapshot(t, s)
		wantKind(t, s.Apply(ctx, mustPlan(t, s, id)), reconcile.EINVALID)
		wantUnchanged(t, before, snapshot(t, s))
		wantKind(t, s.DiscardPlan(ctx, id, "admin:jo"), reconcile.EINVALID)
	})
	t.Run("unknown id", func(t *testing.T) {
		p := pendingPlan(reconcile.StatusHeld, "okta")
		p.ID = id + 100
		wantKind(t, s.Apply(ctx, p), reconcile.ENOTFOUND)
	})
	t.Run("new plan is stored", func(t *testing.T) {
		p := plan(reconcile.KindRules, grant("alice", alice.ID, "editor"))
		p.RulesHash = "hash-2"
		mustApply(t, s, p)
		got := mustPlan(t, s, p.ID)
		want := *p
		want.Status = reconcile.StatusApplied
		want.CreatedAt = got.CreatedAt // stamped by the store when zero
		wantPlan(t, got, &want)
		if got.CreatedAt.IsZero() {
			t.Errorf("stored plan has no creation time")
		}
	})
}
