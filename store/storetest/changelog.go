package storetest

import (
	"reflect"
	"slices"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

func testChangeLog(t *testing.T, open Opener) {
	s := open(t)
	if last, err := s.LastSeq(t.Context()); err != nil || last != 0 {
		t.Errorf("LastSeq of an empty log = %d, %v; want 0", last, err)
	}
	p1 := plan(reconcile.KindSync, create("alice", "okta", "o-1", "viewer", "editor"), create("bob", "okta", "o-2"))
	p1.Source, p1.Actor = "okta", "schedule"
	mustApply(t, s, p1)
	alice, bob := p1.Changes[0].UserID, p1.Changes[1].UserID
	p2 := plan(reconcile.KindRules,
		grant("bob", bob, "viewer"),
		update("alice", alice, map[string]any{"email": "alice@example.com"}, map[string]any{"email": "a@example.org"}),
		reconcile.Change{Kind: reconcile.ChangeConflict, User: "carol", Source: "okta", SourceID: "o-3"},
		deactivate("alice", alice))
	p2.Actor = "cli"
	mustApply(t, s, p2)

	all := mustChanges(t, s, reconcile.ChangeFilter{})
	if got, want := kinds(all), []string{"create", "create", "grant", "update", "deactivate"}; !slices.Equal(got, want) {
		t.Fatalf("logged %q, want %q", got, want)
	}
	for i, r := range all {
		if i > 0 && r.Seq <= all[i-1].Seq {
			t.Errorf("seq %d follows seq %d: not strictly increasing", r.Seq, all[i-1].Seq)
		}
		wantPlan, wantActor := p1.ID, "schedule"
		if i >= 2 {
			wantPlan, wantActor = p2.ID, "cli"
		}
		if r.PlanID != wantPlan || r.Actor != wantActor || r.Time.IsZero() {
			t.Errorf("record %d: plan %d actor %q time %v, want plan %d actor %q and a time", i, r.PlanID, r.Actor, r.Time, wantPlan, wantActor)
		}
	}

	if last, err := s.LastSeq(t.Context()); err != nil || last != all[len(all)-1].Seq {
		t.Errorf("LastSeq = %d, %v; want %d", last, err, all[len(all)-1].Seq)
	}

	t.Run("content", func(t *testing.T) {
		c := all[0]
		if c.User != "alice" || c.UserID != alice || c.Source != "okta" || c.SourceID != "o-1" {
			t.Errorf("create record = %+v", c)
		}
		jsonEqual(t, "create after", c.After, p1.Changes[0].After)
		jsonEqual(t, "create grants", c.Grants, p1.Changes[0].Grants)
		if c.Before != nil {
			t.Errorf("create before = %v, want none", c.Before)
		}
		g := all[2]
		if g.Role != "viewer" || g.UserID != bob || !slices.Equal(g.Groups, []string{"g-viewer"}) || g.Reason != "member of g-viewer" {
			t.Errorf("grant record = %+v", g)
		}
		jsonEqual(t, "update before", all[3].Before, map[string]any{"email": "alice@example.com"})
		jsonEqual(t, "update after", all[3].After, map[string]any{"email": "a@example.org"})
	})

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    reconcile.ChangeFilter
			want []reconcile.ChangeRecord
		}{
			{"all", reconcile.ChangeFilter{}, all},
			{"after", reconcile.ChangeFilter{After: all[1].Seq}, all[2:]},
			{"after the last", reconcile.ChangeFilter{After: all[4].Seq}, nil},
			{"limit", reconcile.ChangeFilter{Limit: 2}, all[:2]},
			{"after and limit", reconcile.ChangeFilter{After: all[0].Seq, Limit: 3}, all[1:4]},
			{"user", reconcile.ChangeFilter{UserID: alice}, []reconcile.ChangeRecord{all[0], all[3], all[4]}},
			{"user after", reconcile.ChangeFilter{UserID: alice, After: all[0].Seq}, all[3:]},
			{"user and limit", reconcile.ChangeFilter{UserID: bob, Limit: 1}, all[1:2]},
			{"unknown user", reconcile.ChangeFilter{UserID: "no-such-user"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := mustChanges(t, s, tc.f)
				if len(got) == 0 && len(tc.want) == 0 {
					return
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("Changes(%+v) = seqs %v, want %v", tc.f, seqs(got), seqs(tc.want))
				}
			})
		}
	})

	t.Run("append-only", func(t *testing.T) {
		mustApply(t, s, plan(reconcile.KindRules, grant("bob", bob, "editor"), revoke("bob", bob, "viewer")))
		now := mustChanges(t, s, reconcile.ChangeFilter{})
		if len(now) != len(all)+2 {
			t.Fatalf("%d records after two more changes, want %d", len(now), len(all)+2)
		}
		if !reflect.DeepEqual(now[:len(all)], all) {
			t.Errorf("earlier records changed:\n got %+v\nwant %+v", now[:len(all)], all)
		}
		if now[len(all)].Seq <= all[len(all)-1].Seq {
			t.Errorf("new seq %d not after %d", now[len(all)].Seq, all[len(all)-1].Seq)
		}
	})
}

func seqs(cs []reconcile.ChangeRecord) []int64 {
	out := []int64{}
	for _, c := range cs {
		out = append(out, c.Seq)
	}
	return out
}
