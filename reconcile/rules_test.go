package reconcile_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in      string
		total   int
		limit   int
		wantErr bool
	}{
		{in: "10%", total: 100, limit: 10},
		{in: "10%", total: 9, limit: 0},
		{in: "12.5%", total: 80, limit: 10},
		{in: "0", total: 100, limit: 0},
		{in: "25", total: 10, limit: 25},
		{in: " 5 ", total: 10, limit: 5},
		{in: "100%", total: 7, limit: 7},
		{in: "101%", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "ten", wantErr: true},
		{in: "%", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			th, err := reconcile.ParseThreshold(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseThreshold(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && th.Limit(tt.total) != tt.limit {
				t.Errorf("Limit(%d) = %d, want %d", tt.total, th.Limit(tt.total), tt.limit)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*reconcile.Rules)
		want []string // substrings of the error, all of them; none: valid
	}{
		{name: "valid", mod: func(*reconcile.Rules) {}},
		{name: "unknown role in a mapping", mod: func(r *reconcile.Rules) {
			r.Mappings = append(r.Mappings, reconcile.Mapping{Group: "ph-ops", Role: "Operator"})
		}, want: []string{`mapping[2]: group "ph-ops" maps to unknown role "Operator"`}},
		{name: "duplicate mapping", mod: func(r *reconcile.Rules) {
			r.Mappings = append(r.Mappings, reconcile.Mapping{Group: "ph-admin", Role: "Admin"})
		}, want: []string{`mapping[2]: duplicate mapping of group "ph-admin" to role "Admin"`}},
		{name: "default role not in the catalogue", mod: func(r *reconcile.Rules) { r.DefaultRole = "Guest" },
			want: []string{`default_role: unknown role "Guest"`}},
		{name: "bad conflict policy", mod: func(r *reconcile.Rules) { r.OnConflict = "merge" },
			want: []string{`on_conflict: "merge"`}},
		{name: "every problem at once", mod: func(r *reconcile.Rules) {
			r.DefaultRole, r.OnConflict = "Guest", "merge"
			r.Roles = append(r.Roles, reconcile.Role{Name: "Admin"})
		}, want: []string{"default_role", "on_conflict", `duplicate role "Admin"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rules(tt.mod)
			err := r.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			if reconcile.ErrorKind(err) != reconcile.EINVALID {
				t.Errorf("kind = %s, want invalid", reconcile.ErrorKind(err))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestSortRolesAndHash(t *testing.T) {
	r := rules(func(r *reconcile.Rules) { r.Roles = append(r.Roles, reconcile.Role{Name: "Auditor"}) })
	got := r.SortRoles([]string{"Viewer", "Zeta", "Auditor", "CSM", "Admin"})
	want := []string{"Admin", "CSM", "Viewer", "Auditor", "Zeta"}
	if !slices.Equal(got, want) {
		t.Errorf("SortRoles = %v, want %v", got, want)
	}
	a, b := rules(), rules()
	if a.Hash() != b.Hash() {
		t.Error("equal rules hash differently")
	}
	b.OnConflict = reconcile.Reject // does not decide roles
	if a.Hash() != b.Hash() {
		t.Error("on_conflict changed the rules hash")
	}
	b.Mappings[0], b.Mappings[1] = b.Mappings[1], b.Mappings[0]
	if a.Hash() == b.Hash() {
		t.Error("mapping order does not change the hash (it decides single_role)")
	}
}

func TestDirectoryValidate(t *testing.T) {
	d := dir([]reconcile.User{user("ann", true), {ID: "ann", UserName: "x@example.com"}, {ID: "b", UserName: "ANN@example.com"}, {ID: "c"}},
		group("g1", "ph-admin", "ann", "nobody"), group("", ""))
	err := d.Validate()
	if err == nil {
		t.Fatal("Validate() = nil for a broken directory")
	}
	for _, w := range []string{`duplicate user id "ann"`, `userName "ANN@example.com" is also used by user id "ann"`,
		`users[3] (id "c"): missing userName`, `groups[1]: missing id`, `member "nobody" is neither a user nor a group`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() = %q, want it to contain %q", err, w)
		}
	}
	if err := dir([]reconcile.User{user("ann", true)}, group("g1", "x", "ann")).Validate(); err != nil {
		t.Errorf("valid directory: %v", err)
	}
}
