package file_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/file"
	"github.com/idpsync/idpsync/reconcile"
)

func TestConformance(t *testing.T) {
	formats := []struct {
		name  string
		path  string // under the test's folder
		write func(t *testing.T, dir string, d *reconcile.Directory)
	}{
		{"JSON", "directory.json", writeJSON},
		{"CSV", ".", writeCSV},
		{"CSVUsersFile", "users.csv", writeCSV},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			connectortest.Run(t, connectortest.Harness{
				Serve: func(t *testing.T, d *reconcile.Directory) reconcile.Source {
					dir := t.TempDir()
					return &exported{Connector: open(t, filepath.Join(dir, f.path)), write: func() { f.write(t, dir, d) }}
				},
				Broken: func(t *testing.T) reconcile.Source {
					return open(t, filepath.Join(t.TempDir(), "gone", f.path))
				},
			})
		})
	}
}

// exported is the file connector with an export job in front: each fetch
// first writes the directory the suite serves, as it is now, to disk.
type exported struct {
	*file.Connector
	write func()
}

func (e *exported) Fetch(ctx context.Context) (*reconcile.Directory, error) {
	e.write()
	return e.Connector.Fetch(ctx)
}

// The example data is the same directory in both formats.
func TestExamples(t *testing.T) {
	fromJSON := fetch(t, open(t, "../../examples/directory.json"))
	fromCSV := fetch(t, open(t, "../../examples/csv"))
	if diff := connectortest.Diff(fromCSV, fromJSON); diff != "" {
		t.Errorf("examples/csv differs from examples/directory.json:\n%s", diff)
	}
	inactive, nested := 0, 0
	for _, u := range fromJSON.Users {
		if !u.Active {
			inactive++
		}
	}
	groups := map[string]bool{}
	for _, g := range fromJSON.Groups {
		groups[g.ID] = true
	}
	for _, g := range fromJSON.Groups {
		for _, m := range g.Members {
			if groups[m] {
				nested++
			}
		}
	}
	if len(fromJSON.Users) < 6 || inactive == 0 || nested == 0 {
		t.Errorf("examples: %d users, %d inactive, %d nested groups; the demo wants several users, an inactive one and a nested group",
			len(fromJSON.Users), inactive, nested)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		c    file.Config
		want []string // one substring per expected error
	}{
		{"json", file.Config{Path: "x.json"}, nil},
		{"csv folder", file.Config{Path: "export"}, nil},
		{"explicit format", file.Config{Path: "export.txt", Format: "CSV"}, nil},
		{"empty", file.Config{}, []string{"path: required"}},
		{"bad format", file.Config{Path: "x", Format: "xml"}, []string{`format: "xml" is not "json" or "csv"`}},
		{"both", file.Config{Path: " ", Format: "yaml"}, []string{"path: required", `format: "yaml"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.c.Validate()
			if len(errs) != len(tt.want) {
				t.Fatalf("Validate() = %v, want %d errors", errs, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("error %d = %q, want it to mention %q", i, errs[i], w)
				}
			}
			_, err := tt.c.Open("hr", nil)
			switch {
			case len(tt.want) == 0 && err != nil:
				t.Errorf("Open: %v", err)
			case len(tt.want) > 0 && reconcile.ErrorKind(err) != reconcile.EINVALID:
				t.Errorf("Open: error %v, want an EINVALID error", err)
			}
		})
	}
	if _, err := (file.Config{Path: "x.json"}).Open("", nil); err == nil || !strings.Contains(err.Error(), "name: required") {
		t.Errorf("Open without a name: error %v, want name: required", err)
	}
}

// A file that is not there yet fails the fetch, not the start-up; once it
// is there, the next fetch reads it.
func TestFileAppearsLater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "directory.json")
	src := open(t, path)
	if d, err := src.Fetch(t.Context()); err == nil || d != nil {
		t.Fatalf("Fetch before the file exists = %v, %v; want an error", d, err)
	}
	writeFile(t, path, `{"users": [{"id": "u1", "userName": "ann@example.com"}]}`)
	if d := fetch(t, src); len(d.Users) != 1 {
		t.Errorf("got %d users, want 1", len(d.Users))
	}
}

func open(t *testing.T, path string) *file.Connector {
	t.Helper()
	c, err := file.Config{Path: path}.Open("hr-export", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fetch(t *testing.T, src reconcile.Source) *reconcile.Directory {
	t.Helper()
	d, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeJSON writes d as dir/directory.json.
func writeJSON(t *testing.T, dir string, d *reconcile.Directory) {
	t.Helper()
	out := *d
	if out.Users == nil {
		out.Users = []reconcile.User{} // "users": [], not null
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "directory.json"), string(b))
}

// writeCSV writes d as dir/users.csv and dir/groups.csv.
func writeCSV(t *testing.T, dir string, d *reconcile.Directory) {
	t.Helper()
	users := [][]string{{"id", "userName", "displayName", "email", "givenName", "familyName", "externalId", "active"}}
	for _, u := range d.Users {
		users = append(users, []string{u.ID, u.UserName, u.DisplayName, u.Email, u.GivenName, u.FamilyName, u.ExternalID,
			strconv.FormatBool(u.Active)})
	}
	groups := [][]string{{"id", "displayName", "member"}}
	for _, g := range d.Groups {
		if len(g.Members) == 0 {
			groups = append(groups, []string{g.ID, g.DisplayName, ""})
		}
		for _, m := range g.Members {
			groups = append(groups, []string{g.ID, g.DisplayName, m})
		}
	}
	for name, rows := range map[string][][]string{"users.csv": users, "groups.csv": groups} {
		var b strings.Builder
		w := csv.NewWriter(&b)
		if err := w.WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), b.String())
	}
}
