package file_test

import (
	"path/filepath"
	"testing"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/reconcile"
)

// What the formats accept beyond what the conformance suite writes.
func TestFormats(t *testing.T) {
	ann := reconcile.User{ID: "u1", UserName: "ann@example.com", Active: true}
	bob := reconcile.User{ID: "u2", UserName: "bob@example.com", Active: true}
	tests := []struct {
		name  string
		path  string
		files map[string]string
		want  *reconcile.Directory
	}{
		{name: "JSON: no active means active; unknown fields ignored; no groups", path: "d.json",
			files: map[string]string{"d.json": `{"schema": 2, "users": [{"id": "u1", "userName": "ann@example.com", "department": "R&D"}]}`},
			want:  &reconcile.Directory{Users: []reconcile.User{ann}}},
		{name: "JSON: a member listed twice is a member once", path: "d.json",
			files: map[string]string{"d.json": `{"users": [{"id": "u1", "userName": "ann@example.com"}],
				"groups": [{"id": "g1", "displayName": "ph-admin", "members": ["u1", "u1"]}]}`},
			want: &reconcile.Directory{Users: []reconcile.User{ann},
				Groups: []reconcile.Group{{ID: "g1", DisplayName: "ph-admin", Members: []string{"u1"}}}}},
		{name: "JSON: empty directory", path: "d.json",
			files: map[string]string{"d.json": `{"users": [], "groups": []}`},
			want:  &reconcile.Directory{}},
		{name: "JSON: upper-case extension", path: "D.JSON",
			files: map[string]string{"D.JSON": `{"users": [{"id": "u1", "userName": "ann@example.com", "active": true}]}`},
			want:  &reconcile.Directory{Users: []reconcile.User{ann}}},

		{name: "CSV: BOM, header-only groups.csv", path: ".",
			files: map[string]string{"users.csv": "\uFEFFid,userName\nu1,ann@example.com\n", "groups.csv": "id,displayName,member\n"},
			want:  &reconcile.Directory{Users: []reconcile.User{ann}}},
		{name: "CSV: headers in any order and spelling, unknown columns ignored", path: ".",
			files: map[string]string{
				"users.csv":  "Department,User_Name,ID,Display Name,ACTIVE\nR&D,ann@example.com,u1,Ann Lee,Yes\n",
				"groups.csv": "Member_ID,Group_ID,DisplayName\nu1,g1,ph-admin\n",
			},
			want: &reconcile.Directory{
				Users:  []reconcile.User{{ID: "u1", UserName: "ann@example.com", DisplayName: "Ann Lee", Active: true}},
				Groups: []reconcile.Group{{ID: "g1", DisplayName: "ph-admin", Members: []string{"u1"}}},
			}},
		{name: "CSV: group column", path: ".",
			files: map[string]string{"users.csv": "id,userName\nu1,ann@example.com\n", "groups.csv": "group,displayName,member\ng1,ph-admin,u1\n"},
			want: &reconcile.Directory{Users: []reconcile.User{ann},
				Groups: []reconcile.Group{{ID: "g1", DisplayName: "ph-admin", Members: []string{"u1"}}}}},
		{name: "CSV: active spellings", path: ".",
			files: map[string]string{"users.csv": "id,userName,active\n" +
				"u1,a1@example.com,TRUE\nu2,a2@example.com,no\nu3,a3@example.com,1\nu4,a4@example.com,0\n" +
				"u5,a5@example.com,\nu6,a6@example.com,False\nu7,a7@example.com, yes \n", "groups.csv": "id,displayName,member\n"},
			want: &reconcile.Directory{Users: []reconcile.User{
				{ID: "u1", UserName: "a1@example.com", Active: true}, {ID: "u2", UserName: "a2@example.com"},
				{ID: "u3", UserName: "a3@example.com", Active: true}, {ID: "u4", UserName: "a4@example.com"},
				{ID: "u5", UserName: "a5@example.com", Active: true}, {ID: "u6", UserName: "a6@example.com"},
				{ID: "u7", UserName: "a7@example.com", Active: true},
			}}},
		{name: "CSV: blank rows skipped, values trimmed, CRLF", path: ".",
			files: map[string]string{"users.csv": "id,userName,displayName\r\n\r\n u1 , ann@example.com ,\" Ann \"\r\n,,\r\nu2,bob@example.com,\r\n", "groups.csv": "id,displayName,member\n"},
			want: &reconcile.Directory{Users: []reconcile.User{
				{ID: "u1", UserName: "ann@example.com", DisplayName: "Ann", Active: true}, bob}}},
		{name: "CSV: empty groups, names on one row, repeated rows, nesting", path: ".",
			files: map[string]string{
				"users.csv": "id,userName\nu1,ann@example.com\nu2,bob@example.com\n",
				"groups.csv": "id,displayName,member\n" +
					"g1,ph-admin,\n" + // declared, no members
					"g2,ph-csm,u1\ng2,,u2\ng2,ph-csm,u1\n" + // name once is enough; a repeated row counts once
					"g3,Everyone,g2\ng3,Everyone,u1\n",
			},
			want: &reconcile.Directory{Users: []reconcile.User{ann, bob}, Groups: []reconcile.Group{
				{ID: "g1", DisplayName: "ph-admin"},
				{ID: "g2", DisplayName: "ph-csm", Members: []string{"u1", "u2"}},
				{ID: "g3", DisplayName: "Everyone", Members: []string{"g2", "u1"}},
			}}},
		{name: "CSV: a users file named by path, groups.csv beside it", path: "people.csv",
			files: map[string]string{"people.csv": "id,userName\nu1,ann@example.com\n", "groups.csv": "id,displayName,member\ng1,ph-admin,u1\n"},
			want: &reconcile.Directory{Users: []reconcile.User{ann},
				Groups: []reconcile.Group{{ID: "g1", DisplayName: "ph-admin", Members: []string{"u1"}}}}},
		{name: "CSV: quoted commas, quotes and line breaks", path: ".",
			files: map[string]string{"users.csv": "id,userName,displayName\nu1,ann@example.com,\"Lee, \"\"Ann\"\"\nof R&D\"\nu2,bob@example.com,\n", "groups.csv": "id,displayName,member\n"},
			want: &reconcile.Directory{Users: []reconcile.User{
				{ID: "u1", UserName: "ann@example.com", DisplayName: "Lee, \"Ann\"\nof R&D", Active: true}, bob}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, filepath.Join(dir, name), content)
			}
			got := fetch(t, open(t, filepath.Join(dir, tt.path)))
			if diff := connectortest.Diff(got, tt.want); diff != "" {
				t.Errorf("fetched directory:\n%s", diff)
			}
		})
	}
}
