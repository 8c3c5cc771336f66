package sqlite_test

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"testing"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// memSource serves a fixed directory.
type memSource struct {
	name string
	dir  *reconcile.Directory
}

func (s memSource) Name() string { return s.name }

func (s memSource) Fetch(context.Context) (*reconcile.Directory, error) {
	return connectortest.Clone(s.dir), nil
}

// uiFixture syncs two sources into a new store: "hr" with a nested group
// and a user it deactivates, and "okta" reporting a group of the same name.
func uiFixture(t *testing.T) (*sqlite.Store, *reconcile.Engine) {
	t.Helper()
	s := openTemp(t)
	e := reconcile.NewEngine(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rules := reconcile.Rules{
		Roles:            []reconcile.Role{{Name: "Admin"}, {Name: "Viewer"}},
		DefaultRole:      "Viewer",
		OnConflict:       reconcile.Adopt,
		MaxDeactivations: reconcile.DefaultThreshold,
		Mappings:         []reconcile.Mapping{{Group: "admins", Role: "Admin"}},
	}
	brakes := map[string]reconcile.Threshold{"hr": reconcile.DefaultThreshold, "okta": reconcile.DefaultThreshold}
	if err := e.Configure(rules, brakes); err != nil {
		t.Fatal(err)
	}
	hr := &reconcile.Directory{
		Users: []reconcile.User{
			{ID: "u1", UserName: "ann@example.com", Active: true},
			{ID: "u2", UserName: "bob@example.com", Active: true},
			{ID: "u3", UserName: "cat@example.com", Active: true},
		},
		Groups: []reconcile.Group{
			{ID: "g1", DisplayName: "admins", Members: []string{"u1", "g2"}},
			{ID: "g2", DisplayName: "ops", Members: []string{"u2", "u3"}},
			{ID: "g3", DisplayName: "empty"},
		},
	}
	okta := &reconcile.Directory{
		Users:  []reconcile.User{{ID: "o1", UserName: "dan@example.com", Active: true}},
		Groups: []reconcile.Group{{ID: "og1", DisplayName: "admins", Members: []string{"o1"}}},
	}
	gone := connectortest.Clone(hr)
	gone.Users[2].Active = false // cat leaves: deactivated, past the brake
	for _, src := range []memSource{{"hr", hr}, {"okta", okta}, {"hr", gone}} {
		opt := reconcile.SyncOptions{Actor: "test-" + src.name, ApproveHeld: true}
		if _, err := e.Sync(t.Context(), src, opt); err != nil {
			t.Fatal(err)
		}
	}
	return s, e
}

func TestReportedGroups(t *testing.T) {
	s, _ := uiFixture(t)
	got, err := s.ReportedGroups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []sqlite.ReportedGroup{
		{Source: "hr", Name: "admins", Users: 1, Groups: 1},
		{Source: "okta", Name: "admins", Users: 1},
		{Source: "hr", Name: "empty"},
		{Source: "hr", Name: "ops", Users: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReportedGroups =\n%+v\nwant\n%+v", got, want)
	}
}

func TestUserCounts(t *testing.T) {
	s, _ := uiFixture(t)
	got, err := s.UserCounts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []sqlite.SourceUsers{{Source: "hr", Active: 2, Inactive: 1}, {Source: "okta", Active: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UserCounts = %+v, want %+v", got, want)
	}
}

func TestChangeLog(t *testing.T) {
	s, _ := uiFixture(t)
	ctx := t.Context()
	all, err := s.Changes(ctx, reconcile.ChangeFilter{})
	if err != nil || len(all) < 4 {
		t.Fatalf("Changes: %d records, %v", len(all), err)
	}
	ann, err := s.User(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// seqs returns the sequence numbers of the records matching keep, newest first.
	seqs := func(keep func(r reconcile.ChangeRecord) bool) []int64 {
		var out []int64
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				out = append(out, all[i].Seq)
			}
		}
		return out
	}
	last := all[len(all)-1].Seq
	tests := []struct {
		name string
		q    sqlite.ChangeQuery
		want []int64
	}{
		{"everything", sqlite.ChangeQuery{}, seqs(func(reconcile.ChangeRecord) bool { return true })},
		{"page", sqlite.ChangeQuery{Before: last, Limit: 2}, []int64{last - 1, last - 2}},
		{"kind", sqlite.ChangeQuery{Kind: reconcile.ChangeGrant}, seqs(func(r reconcile.ChangeRecord) bool { return r.Kind == reconcile.ChangeGrant })},
		{"source", sqlite.ChangeQuery{Source: "okta"}, seqs(func(r reconcile.ChangeRecord) bool { return r.Source == "okta" })},
		{"actor", sqlite.ChangeQuery{Actor: "test-hr"}, seqs(func(r reconcile.ChangeRecord) bool { return r.Actor == "test-hr" })},
		{"user", sqlite.ChangeQuery{UserID: ann.ID}, seqs(func(r reconcile.ChangeRecord) bool { return r.UserID == ann.ID })},
		{"plan", sqlite.ChangeQuery{PlanID: all[0].PlanID}, seqs(func(r reconcile.ChangeRecord) bool { return r.PlanID == all[0].PlanID })},
		{"nothing", sqlite.ChangeQuery{Actor: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ChangeLog(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var gotSeqs []int64
			for _, r := range got {
				gotSeqs = append(gotSeqs, r.Seq)
			}
			if !reflect.DeepEqual(gotSeqs, tt.want) {
				t.Errorf("ChangeLog(%+v) seqs = %v, want %v", tt.q, gotSeqs, tt.want)
			}
		})
	}
	// A record reads back as Changes reads it.
	got, err := s.ChangeLog(ctx, sqlite.ChangeQuery{Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("ChangeLog(limit 1) = %d records, %v", len(got), err)
	}
	if !reflect.DeepEqual(got[0], all[len(all)-1]) {
		t.Errorf("newest record = %+v, want %+v", got[0], all[len(all)-1])
	}
	if _, err := s.ChangeLog(ctx, sqlite.ChangeQuery{Limit: -1}); reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Errorf("negative limit: err = %v, want invalid", err)
	}
}
