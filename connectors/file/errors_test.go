package file_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/connectors/file"
	"github.com/idpsync/idpsync/reconcile"
)

const (
	usersHeader  = "id,userName,displayName,email,givenName,familyName,externalId,active\n"
	groupsHeader = "id,displayName,member\n"
)

// Every bad export fails the fetch with an error that names the file, the
// place in it and the problem, and returns no directory.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name  string
		path  string            // under the test's folder
		files map[string]string // name → content
		kind  string            // reconcile.ErrorKind; "" for a missing file
		want  []string          // substrings of the error
	}{
		{name: "missing JSON file", path: "directory.json",
			want: []string{"directory.json", "no such file"}},
		{name: "missing CSV folder", path: "export",
			want: []string{"export", "no such file"}},
		{name: "missing users.csv", path: "export", files: map[string]string{"export/groups.csv": groupsHeader},
			want: []string{"users.csv", "no such file"}},
		{name: "missing groups.csv", path: "export", files: map[string]string{"export/users.csv": "id,userName\nu1,a@example.com\n"},
			want: []string{"groups.csv", "no such file"}},

		{name: "malformed JSON", path: "d.json", kind: reconcile.EINVALID,
			files: map[string]string{"d.json": "{\"users\": [\n  {\"id\": \"u1\",}\n]}"},
			want:  []string{"d.json:2:15: invalid JSON", "invalid character '}'"}},
		{name: "truncated JSON", path: "d.json", kind: reconcile.EINVALID,
			files: map[string]string{"d.json": "{\"users\": [\n  {\"id\": \"u1\"}"},
			want:  []string{"d.json:2:", "unexpected end of JSON input"}},
		{name: "wrong type", path: "d.json", kind: reconcile.EINVALID,
			files: map[string]string{"d.json": "{\"users\": [\n  {\"id\": \"u1\", \"userName\": \"a@example.com\",\n   \"active\": \"yes\"}]}"},
			want:  []string{"d.json:3:14: users.active: expected true or false, found a string"}},
		{name: "wrong type after unicode", path: "d.json", kind: reconcile.EINVALID,
			files: map[string]string{"d.json": "{\"users\": [{\"displayName\": \"Zoë \\\"Z\\\"\", \"id\": 42}]}"},
			want:  []string{"d.json:1:47: users.id: expected a string, found a number"}},
		{name: "wrong top level", path: "d.json", kind: reconcile.EINVALID,
			files: map[string]string{"d.json": "\n [ ]"},
			want:  []string{"d.json:2:2: top level: expected an object, found an array"}},
		{name: "no users key", path: "d.json", kind: reconcile.EINVALID,
			files: map[string]string{"d.json": `{"groups": []}`},
			want:  []string{`d.json: no "users" list`}},
		{name: "duplicate user id", path: "d.json", kind: reconcile.EINVALID,
			files: map[string]string{"d.json": `{"users": [{"id": "u1", "userName": "a@example.com"}, {"id": "u1", "userName": "b@example.com"}]}`},
			want:  []string{"d.json", `users[1]: duplicate user id "u1"`}},
		{name: "userName differing only in case", path: "d.json", kind: reconcile.EINVALID,
			files: map[string]string{"d.json": `{"users": [{"id": "u1", "userName": "ann@example.com"}, {"id": "u2", "userName": "ANN@Example.com"}]}`},
			want:  []string{"d.json", `users[1]: userName "ANN@Example.com" is also used by user id "u1"`}},
		{name: "unknown member", path: "d.json", kind: reconcile.EINVALID,
			files: map[string]string{"d.json": `{"users": [], "groups": [{"id": "g1", "displayName": "ph-admin", "members": ["u9"]}]}`},
			want:  []string{"d.json", `group "ph-admin": member "u9" is neither a user nor a group`}},

		{name: "bad active", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,userName,active\nu1,a@example.com,yes\nu2,b@example.com,maybe\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{"users.csv:3:18: active:", `"maybe" is not true, false, yes, no, 1 or 0`}},
		{name: "missing required column", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,email\nu1,a@example.com\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{`users.csv:1: header: missing required column "userName"`}},
		{name: "missing member column", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": usersHeader, "groups.csv": "group_id,displayName\ng1,ph-admin\n"},
			want:  []string{`groups.csv:1: header: missing required column "member"`}},
		{name: "column twice", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,userName,user_name\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{`users.csv:1: header: columns 2 ("userName") and 3 ("user_name") are both userName`}},
		{name: "BOM before a bad header", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "\uFEFFuserName\na@example.com\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{`users.csv:1: header: missing required column "id"`}},
		{name: "empty users.csv", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "", "groups.csv": "id,displayName,member\n"},
			want:  []string{"users.csv: empty file, expected a header row"}},
		{name: "inconsistent group name", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{
				"users.csv":  "id,userName\nu1,a@example.com\nu2,b@example.com\n",
				"groups.csv": "id,displayName,member\ng1,ph-admin,u1\ng1,PH-Admin,u2\n"},
			want: []string{`groups.csv:3:4: displayName: group "g1" is named "PH-Admin" here but "ph-admin" on line 2`}},
		{name: "duplicate user id in CSV", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,userName\nu1,a@example.com\nu1,b@example.com\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{`users.csv:3:1: id: duplicate user id "u1" (first on line 2)`}},
		{name: "userName case in CSV", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,userName\nu1,ann@example.com\nu2,Ann@Example.COM\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{`users.csv:3:4: userName: "Ann@Example.COM" is already used on line 2`}},
		{name: "unknown member in CSV", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": usersHeader, "groups.csv": "id,displayName,member\ng1,ph-admin,u9\n"},
			want:  []string{`groups.csv:2:13: member: "u9" (in group "g1") is neither a user id nor a group id`}},
		{name: "group id is a user id", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,userName\nu1,a@example.com\n", "groups.csv": "id,displayName,member\nu1,ph-admin,\n"},
			want:  []string{`groups.csv:2:1: id: group id "u1" is also the id of the user on line 2`}},
		{name: "group without a name", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": usersHeader, "groups.csv": "id,displayName,member\ng1,,\n"},
			want:  []string{`groups.csv:2: displayName: group "g1" has no displayName`}},
		{name: "empty id and userName", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,userName,displayName\n , ,Ann\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{"users.csv:2:1: id: empty", "users.csv:2:3: userName: empty"}},
		{name: "wrong number of fields", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,userName,displayName\nu1,a@example.com,Lee, Ann\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{"users.csv:2: this row has a different number of fields than the header (3)"}},
		{name: "bare quote", path: "users.csv", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,userName,displayName\nu1,a@example.com,Dwayne \"The Rock\"\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{"users.csv:2:25: bare \" in non-quoted-field"}},
		{name: "every problem at once", path: ".", kind: reconcile.EINVALID,
			files: map[string]string{"users.csv": "id,userName,active\nu1,a@example.com,x\nu1,b@example.com,y\n", "groups.csv": "id,displayName,member\n"},
			want:  []string{"users.csv:2:18: active", "users.csv:3:1: id: duplicate", "users.csv:3:18: active"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				writeFile(t, filepath.Join(dir, name), content)
			}
			d, err := open(t, filepath.Join(dir, tt.path)).Fetch(t.Context())
			if err == nil {
				t.Fatalf("Fetch returned %d users and no error, want an error", len(d.Users))
			}
			if d != nil {
				t.Errorf("Fetch returned a directory along with the error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error = %q\nwant it to mention %q", err, w)
				}
			}
			switch {
			case tt.kind == "" && !errors.Is(err, fs.ErrNotExist):
				t.Errorf("error %v: want one that is fs.ErrNotExist", err)
			case tt.kind != "" && reconcile.ErrorKind(err) != tt.kind:
				t.Errorf("error kind = %q, want %q", reconcile.ErrorKind(err), tt.kind)
			}
		})
	}
}

// A format named in the configuration wins over the path's extension.
func TestExplicitFormat(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "export.txt"), `{"users": [{"id": "u1", "userName": "a@example.com"}]}`)
	c, err := file.Config{Path: filepath.Join(dir, "export.txt"), Format: "json"}.Open("hr", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := fetch(t, c); len(d.Users) != 1 {
		t.Errorf("got %d users, want 1", len(d.Users))
	}
	c, err = file.Config{Path: filepath.Join(dir, "export.txt")}.Open("hr", nil)
	if err != nil {
		t.Fatal(err)
	}
	// Without a format, a path not ending .json is CSV.
	if _, err := c.Fetch(t.Context()); reconcile.ErrorKind(err) != reconcile.EINVALID || !strings.Contains(err.Error(), "export.txt:1:2: bare \"") {
		t.Errorf("a .txt path read as CSV: error %v, want a CSV error", err)
	}
}
