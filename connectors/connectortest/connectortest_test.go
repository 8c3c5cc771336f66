package connectortest_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/reconcile"
)

// memSource serves a directory from memory, the way a correct connector
// should: a fresh copy on each fetch, an error when ctx is done.
type memSource struct {
	d   *reconcile.Directory
	err error
}

func (m *memSource) Name() string { return "memory" }

func (m *memSource) Fetch(ctx context.Context) (*reconcile.Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.err != nil {
		return nil, m.err
	}
	return connectortest.Clone(m.d), nil
}

// The suite passes against a source that does everything right.
func TestRunMemory(t *testing.T) {
	connectortest.Run(t, connectortest.Harness{
		Serve: func(t *testing.T, d *reconcile.Directory) reconcile.Source { return &memSource{d: d} },
		Broken: func(t *testing.T) reconcile.Source {
			return &memSource{err: errors.New("connection refused")}
		},
	})
}

func TestDiff(t *testing.T) {
	base := func() *reconcile.Directory {
		return &reconcile.Directory{
			Users: []reconcile.User{
				{ID: "u1", UserName: "a@example.com", Active: true},
				{ID: "u2", UserName: "b@example.com", DisplayName: "B", Active: true},
			},
			Groups: []reconcile.Group{
				{ID: "g1", DisplayName: "G", Members: []string{"u1", "u2"}},
				{ID: "g2", DisplayName: "Empty"},
			},
		}
	}
	tests := []struct {
		name   string
		change func(d *reconcile.Directory)
		want   []string // substrings of the diff; none: no diff
	}{
		{"same", func(d *reconcile.Directory) {}, nil},
		{"reordered", func(d *reconcile.Directory) {
			d.Users[0], d.Users[1] = d.Users[1], d.Users[0]
			d.Groups[0].Members = []string{"u2", "u1"}
		}, nil},
		{"empty vs nil members", func(d *reconcile.Directory) { d.Groups[1].Members = []string{} }, nil},
		{"group extra", func(d *reconcile.Directory) {
			d.Groups = append(d.Groups, reconcile.Group{ID: "g3", DisplayName: "New"})
		}, []string{`group "g3" (New) was not served`}},
		{"group missing", func(d *reconcile.Directory) { d.Groups = d.Groups[:1] }, []string{`group "g2" (Empty) is missing`}},
		{"group renamed", func(d *reconcile.Directory) { d.Groups[0].DisplayName = "g" }, []string{`group "g1": DisplayName = "g", want "G"`}},
		{"user missing", func(d *reconcile.Directory) { d.Users = d.Users[:1] }, []string{`user "u2" (b@example.com) is missing`}},
		{"attribute", func(d *reconcile.Directory) { d.Users[1].Active = false; d.Users[1].DisplayName = "b" },
			[]string{`user "u2": DisplayName = "b", want "B"`, `user "u2": Active = false, want true`}},
		{"member missing", func(d *reconcile.Directory) { d.Groups[0].Members = d.Groups[0].Members[:1] },
			[]string{`group "g1": member "u2" is missing`}},
		{"member extra", func(d *reconcile.Directory) { d.Groups[0].Members = append(d.Groups[0].Members, "u9") },
			[]string{`group "g1": member "u9" was not served`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := base()
			tt.change(got)
			diff := connectortest.Diff(got, base())
			if len(tt.want) == 0 && diff != "" {
				t.Errorf("Diff = %q, want none", diff)
			}
			if len(tt.want) > 0 && diff == "" {
				t.Errorf("Diff found nothing, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(diff, w) {
					t.Errorf("Diff = %q, want it to mention %q", diff, w)
				}
			}
		})
	}
}

func TestSyntheticIsDeterministic(t *testing.T) {
	o := connectortest.Options{Users: 300, Groups: 20, Memberships: 900, NestingDepth: 2, InactiveEvery: 5, Seed: 7}
	a, b := connectortest.Synthetic(o), connectortest.Synthetic(o)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two directories from the same options differ:\n%s", connectortest.Diff(a, b))
	}
	o.Seed++
	if c := connectortest.Synthetic(o); reflect.DeepEqual(a, c) {
		t.Error("directories from different seeds are equal")
	}
}

func TestSyntheticShape(t *testing.T) {
	tests := []struct {
		name string
		o    connectortest.Options
	}{
		{"zero", connectortest.Options{}},
		{"users only", connectortest.Options{Users: 10}},
		{"groups only", connectortest.Options{Groups: 3, NestingDepth: 2}},
		{"one of each", connectortest.Options{Users: 1, Groups: 1, Memberships: 5, NestingDepth: 4}},
		{"more memberships than fit", connectortest.Options{Users: 5, Groups: 4, Memberships: 100, NestingDepth: 10, InactiveEvery: 1}},
		{"conformance size", connectortest.Options{Users: 2500, Groups: 120, Memberships: 6000, NestingDepth: 3, InactiveEvery: 9, Seed: 1}},
		{"many groups", connectortest.Options{Users: 1000, Groups: 400, Memberships: 20000, NestingDepth: 1, InactiveEvery: 50, Seed: -3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkShape(t, tt.o) })
	}
}

// The largest size the package documents builds correctly; time it with
//
//	go test -run XXX -bench Synthetic -benchmem ./connectors/connectortest
func TestSyntheticLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	checkShape(t, connectortest.Options{Users: 100_000, Groups: 5_000, Memberships: 500_000, NestingDepth: 4, InactiveEvery: 20})
}

func BenchmarkSynthetic(b *testing.B) {
	for b.Loop() {
		connectortest.Synthetic(connectortest.Options{Users: 100_000, Groups: 5_000, Memberships: 500_000, NestingDepth: 4, InactiveEvery: 20})
	}
}

// checkShape checks that Synthetic(o) is the directory o describes.
func checkShape(t *testing.T, o connectortest.Options) {
	t.Helper()
	d := connectortest.Synthetic(o)
	if err := d.Validate(); err != nil {
		t.Fatalf("Synthetic(%+v) does not pass Validate: %v", o, err)
	}
	if len(d.Users) != o.Users || len(d.Groups) != o.Groups {
		t.Fatalf("Synthetic(%+v): %d users and %d groups", o, len(d.Users), len(d.Groups))
	}
	inactive := 0
	isUser := make(map[string]bool, len(d.Users))
	for _, u := range d.Users {
		isUser[u.ID] = true
		if !u.Active {
			inactive++
		}
	}
	if want := inactiveWant(o); inactive != want {
		t.Errorf("Synthetic(%+v): %d inactive users, want %d", o, inactive, want)
	}

	memberships := 0
	parent := map[string]string{} // group id → the group it is nested in
	for _, g := range d.Groups {
		seen := map[string]bool{}
		for _, m := range g.Members {
			if seen[m] {
				t.Fatalf("group %q lists %q twice", g.ID, m)
			}
			seen[m] = true
			if isUser[m] {
				memberships++
			} else if p, nested := parent[m]; nested {
				t.Fatalf("group %q is nested in both %q and %q", m, p, g.ID)
			} else {
				parent[m] = g.ID
			}
		}
	}
	if want := min(o.Memberships, o.Users*o.Groups); memberships != want {
		t.Errorf("Synthetic(%+v): %d user memberships, want %d", o, memberships, want)
	}

	// Every chain of nesting ends (no cycles), none is deeper than asked,
	// and some is as deep as the groups allow.
	deepest := 0
	for id := range parent {
		depth := 0
		for p, ok := parent[id]; ok; p, ok = parent[p] {
			if depth++; depth > len(d.Groups) {
				t.Fatalf("group %q is nested in a cycle", id)
			}
		}
		deepest = max(deepest, depth)
	}
	want := 0
	if o.NestingDepth > 0 && o.Groups > 1 {
		want = min(o.NestingDepth, o.Groups-1)
	}
	if deepest != want {
		t.Errorf("Synthetic(%+v): groups nested %d deep, want %d", o, deepest, want)
	}
}

func inactiveWant(o connectortest.Options) int {
	if o.InactiveEvery <= 0 {
		return 0
	}
	return o.Users / o.InactiveEvery
}
