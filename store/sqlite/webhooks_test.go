package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/webhook"
)

// TestWebhookPositions: a new webhook starts at the end of the change log
// (or at 0 from the beginning), a position only moves forward, and it
// survives reopening the database.
func TestWebhookPositions(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "idpsync.db")
	s := openAt(t, path)
	// addManual applies one plan of two records.
	addManual := func(name string) {
		t.Helper()
		var changes []reconcile.Change
		for _, n := range []string{name + "1@x", name + "2@x"} {
			changes = append(changes, reconcile.Change{Kind: reconcile.ChangeCreate, User: n, Source: reconcile.Manual,
				After: map[string]any{"userName": n}})
		}
		if err := s.Apply(ctx, &reconcile.Plan{Kind: reconcile.KindManual, Actor: "admin", Changes: changes}); err != nil {
			t.Fatal(err)
		}
	}
	position := func(name string, fromBeginning bool) webhook.Position {
		t.Helper()
		p, err := s.WebhookPosition(ctx, name, fromBeginning)
		if err != nil {
			t.Fatalf("WebhookPosition(%s): %v", name, err)
		}
		return p
	}

	if got := position("early", false); got != (webhook.Position{}) {
		t.Errorf("new webhook on an empty log: %+v, want zero", got)
	}
	addManual("a")
	addManual("b")
	for _, tc := range []struct {
		name          string
		fromBeginning bool
		want          webhook.Position
	}{
		{"crm", false, webhook.Position{Seq: 4}},
		{"audit", true, webhook.Position{}},
		{"early", false, webhook.Position{}}, // seen before the changes: stays where it was
	} {
		if got := position(tc.name, tc.fromBeginning); got != tc.want {
			t.Errorf("WebhookPosition(%s, fromBeginning %v) = %+v, want %+v", tc.name, tc.fromBeginning, got, tc.want)
		}
	}
	addManual("c")
	if got := position("crm", true); got.Seq != 4 {
		t.Errorf("a stored position with fromBeginning: %+v, want it unchanged (seq 4)", got)
	}

	for _, tc := range []struct {
		name string
		set  webhook.Position
		want webhook.Position
	}{
		{"forward", webhook.Position{Seq: 5, PlanID: 3, Part: 1}, webhook.Position{Seq: 5, PlanID: 3, Part: 1}},
		{"backward is ignored", webhook.Position{Seq: 2, PlanID: 1, Part: 1}, webhook.Position{Seq: 5, PlanID: 3, Part: 1}},
		{"same seq is ignored", webhook.Position{Seq: 5, PlanID: 9, Part: 9}, webhook.Position{Seq: 5, PlanID: 3, Part: 1}},
		{"forward again", webhook.Position{Seq: 6, PlanID: 3, Part: 2}, webhook.Position{Seq: 6, PlanID: 3, Part: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.SetWebhookPosition(ctx, "crm", tc.set); err != nil {
				t.Fatal(err)
			}
			if got := position("crm", false); got != tc.want {
				t.Errorf("after SetWebhookPosition(%+v): %+v, want %+v", tc.set, got, tc.want)
			}
		})
	}
	if err := s.SetWebhookPosition(ctx, "unseen", webhook.Position{Seq: 3, PlanID: 2, Part: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWebhookPosition(ctx, "", webhook.Position{Seq: 3}); reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Errorf("SetWebhookPosition without a name: %v, want invalid", err)
	}
	if _, err := s.WebhookPosition(ctx, " ", false); reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Errorf("WebhookPosition without a name: %v, want invalid", err)
	}

	s.Close()
	s = openAt(t, path)
	for name, want := range map[string]webhook.Position{
		"crm":    {Seq: 6, PlanID: 3, Part: 2},
		"audit":  {},
		"unseen": {Seq: 3, PlanID: 2, Part: 1},
	} {
		if got := position(name, false); got != want {
			t.Errorf("after reopening, %s: %+v, want %+v", name, got, want)
		}
	}
}
