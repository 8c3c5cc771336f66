package config_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idpsync/idpsync"
	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/reconcile"
)

// readValid returns testdata/valid.toml, the base the bad-input cases edit.
func readValid(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// edit replaces each old string of pairs (old, new, old, new…), which must
// occur exactly once in doc.
func edit(t *testing.T, doc string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if n := strings.Count(doc, pairs[i]); n != 1 {
			t.Fatalf("edit: %q occurs %d times in the document, want 1", pairs[i], n)
		}
		doc = strings.Replace(doc, pairs[i], pairs[i+1], 1)
	}
	return doc
}

func parse(t *testing.T, doc string) *config.Config {
	t.Helper()
	c, err := config.Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// checkProblem fails unless err reports a problem with key on line whose
// message contains msg, and prints it as "line N: key: message".
func checkProblem(t *testing.T, err error, key string, line int, msg string) {
	t.Helper()
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v (%T) does not wrap config.Errors", err, err)
	}
	if got := reconcile.ErrorKind(err); got != reconcile.EINVALID {
		t.Errorf("error kind = %q, want %q", got, reconcile.EINVALID)
	}
	for _, e := range errs {
		if e.Key != key {
			continue
		}
		if e.Line != line || !strings.Contains(e.Msg, msg) {
			t.Errorf("problem with %s = line %d %q, want line %d containing %q", key, e.Line, e.Msg, line, msg)
		}
		if want := e.Error(); !strings.Contains(err.Error(), want) || !strings.HasPrefix(want, position(e)+key) {
			t.Errorf("error text does not contain %q:\n%v", want, err)
		}
		return
	}
	t.Errorf("no problem with %s in:\n%v", key, err)
}

// position is how a problem from Parse shows where it is: "line 4: ",
// "line 4:5: " or nothing.
func position(e config.Error) string {
	switch {
	case e.Line == 0:
		return ""
	case e.Column == 0:
		return fmt.Sprintf("line %d: ", e.Line)
	}
	return fmt.Sprintf("line %d:%d: ", e.Line, e.Column)
}

func TestShippedConfig(t *testing.T) {
	c, err := config.Load("../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	r := c.Rules()
	if got, want := r.RoleNames(), []string{"Admin", "CSM", "Viewer"}; !reflect.DeepEqual(got, want) {
		t.Errorf("roles = %q, want %q", got, want)
	}
	wantMappings := []reconcile.Mapping{
		{Group: "ph-admin", Role: "Admin", Origin: reconcile.OriginConfig},
		{Group: "ph-csm", Role: "CSM", Origin: reconcile.OriginConfig},
	}
	if !reflect.DeepEqual(r.Mappings, wantMappings) {
		t.Errorf("mappings = %+v, want %+v", r.Mappings, wantMappings)
	}
	if r.DefaultRole != "Viewer" || r.OnConflict != reconcile.Adopt || r.MaxDeactivations != reconcile.DefaultThreshold {
		t.Errorf("rules = %+v, want default Viewer, adopt, 10%%", r)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("reconcile.Rules.Validate: %v", err)
	}
	s := c.Source("hr")
	if s == nil || len(c.Sources) != 2 {
		t.Fatalf("sources = %+v, want hr and scim", c.Sources)
	}
	if sc := c.Source("scim"); sc == nil || sc.Type != "scim" || sc.SCIM == nil || sc.SCIM.TokenEnv != "IDPSYNC_SCIM_TOKEN" {
		t.Errorf("source scim = %+v, want a scim source reading IDPSYNC_SCIM_TOKEN", sc)
	}
	if s.Type != "file" || s.Schedule != "@every 15m" || !s.IsEnabled() || s.File == nil ||
		s.File.Path != filepath.Join("..", "examples", "directory.json") {
		t.Errorf("source hr = %+v (file %+v), want file source reading ../examples/directory.json every 15m", s, s.File)
	}

	t.Run("embedded copy", func(t *testing.T) {
		c, err := config.Parse(bytes.NewReader(idpsync.DefaultConfig))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate:\n%v", err)
		}
		if got := c.Sources[0].File.Path; got != "examples/directory.json" {
			t.Errorf("Parse resolved the path: %q", got)
		}
	})
}

func TestDefaults(t *testing.T) {
	want := &config.Config{
		Listen:   "127.0.0.1:8080",
		Database: "idpsync.db",
		Log:      config.LogConfig{Level: "info", Format: "text"},
		UI:       config.UIConfig{SessionTTL: "12h"},
		RulesConfig: config.RulesConfig{
			OnConflict:       reconcile.Adopt,
			MaxDeactivations: "10%",
		},
	}
	if got := config.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultConfig() = %+v, want %+v", got, want)
	}

	t.Run("keys left out", func(t *testing.T) {
		c := parse(t, "[rules]\nroles = [\"User\"]\n")
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate:\n%v", err)
		}
		if c.Listen != want.Listen || c.Database != want.Database || c.Log != want.Log {
			t.Errorf("got %+v, want the defaults", c)
		}
		r := c.Rules()
		if r.OnConflict != reconcile.Adopt || r.MaxDeactivations != reconcile.DefaultThreshold || r.DefaultRole != "" || r.SingleRole {
			t.Errorf("Rules() = %+v, want adopt, 10%%, no default role, not single_role", r)
		}
	})
	t.Run("no roles", func(t *testing.T) {
		checkProblem(t, config.DefaultConfig().Validate(), "rules.roles", 0, "at least one role")
	})
}

func TestConversions(t *testing.T) {
	c := parse(t, readValid(t))
	global := reconcile.Threshold{Count: 7}
	tests := []struct {
		source    string
		enabled   bool
		threshold reconcile.Threshold
	}{
		{"hr", true, global},
		{"ops", false, reconcile.Threshold{Count: 5}}, // a TOML integer
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			s := c.Source(tt.source)
			if s == nil {
				t.Fatalf("Source(%q) = nil", tt.source)
			}
			if got := s.IsEnabled(); got != tt.enabled {
				t.Errorf("IsEnabled() = %v, want %v", got, tt.enabled)
			}
			if got := s.Threshold(global); got != tt.threshold {
				t.Errorf("Threshold() = %+v, want %+v", got, tt.threshold)
			}
		})
	}
	if s := c.Source("nope"); s != nil {
		t.Errorf("Source(nope) = %+v, want nil", s)
	}
	pct := parse(t, edit(t, readValid(t), `max_deactivations = "10%"`, `max_deactivations = "2.5%"`))
	if got, want := pct.Rules().MaxDeactivations, (reconcile.Threshold{Percent: 2.5, IsPct: true}); got != want {
		t.Errorf("Rules().MaxDeactivations = %+v, want %+v", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "elsewhere", "export")
	doc := edit(t, readValid(t),
		`database = "idpsync.db"`, `database = "state/idpsync.db"`,
		`path              = "/srv/export"`, fmt.Sprintf("path = %q", abs))
	path := filepath.Join(dir, "etc", "config.toml")
	writeFile(t, path, doc)

	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"database", c.Database, filepath.Join(dir, "etc", "state", "idpsync.db")},
		{"relative file path", c.Sources[0].File.Path, filepath.Join(dir, "etc", "examples", "directory.json")},
		{"absolute file path", c.Sources[1].File.Path, abs},
		{"Path", c.Path(), path},
		{"Describe", c.Describe(), path},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}

	t.Run("errors name the file", func(t *testing.T) {
		writeFile(t, path, edit(t, doc, `level  = "info"`, `level  = "loud"`))
		c, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
		if want := path + `:5: log.level: "loud" is not one of`; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Validate() = %v, want %s…", err, want)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := config.Load(filepath.Join(dir, "nope.toml")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load = %v, want a not-exist error", err)
		}
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "my.toml")
	writeFile(t, file, "")

	t.Run("explicit", func(t *testing.T) {
		if got, err := config.Find(file); got != file || err != nil {
			t.Errorf("Find(%q) = %q, %v", file, got, err)
		}
	})
	t.Run("explicit missing", func(t *testing.T) {
		if got, err := config.Find(filepath.Join(dir, "nope.toml")); err == nil {
			t.Errorf("Find(missing) = %q, nil; want an error", got)
		}
	})
	t.Run("explicit directory", func(t *testing.T) {
		if got, err := config.Find(dir); err == nil {
			t.Errorf("Find(dir) = %q, nil; want an error", got)
		}
	})
	t.Run("working directory", func(t *testing.T) {
		wd := filepath.Join(dir, "wd")
		writeFile(t, filepath.Join(wd, "config.toml"), "")
		t.Chdir(wd)
		if got, err := config.Find(""); got != "config.toml" || err != nil {
			t.Errorf("Find(\"\") = %q, %v; want config.toml", got, err)
		}
	})
	t.Run("none", func(t *testing.T) {
		if _, err := os.Stat("/etc/idpsync/config.toml"); err == nil {
			t.Skip("/etc/idpsync/config.toml exists on this machine")
		}
		t.Chdir(t.TempDir())
		if got, err := config.Find(""); got != "" || err != nil {
			t.Errorf("Find(\"\") = %q, %v; want \"\", nil", got, err)
		}
	})
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, "  s3cret\n")
	emptyFile := filepath.Join(dir, "empty")
	writeFile(t, emptyFile, "\n")
	t.Setenv("IDPSYNC_TEST_TOKEN", "from-env")
	t.Setenv("IDPSYNC_TEST_EMPTY", "")

	tests := []struct {
		name              string
		inline, file, env string
		want              string
		wantErr           string // "" for no error
	}{
		{name: "inline", inline: "abc", want: "abc"},
		{name: "file, trimmed", file: tokenFile, want: "s3cret"},
		{name: "env", env: "IDPSYNC_TEST_TOKEN", want: "from-env"},
		{name: "none", wantErr: "token: required"},
		{name: "file missing", file: filepath.Join(dir, "nope"), wantErr: "token: read secret file"},
		{name: "file empty", file: emptyFile, wantErr: "token: secret file " + emptyFile + " is empty"},
		{name: "env unset", env: "IDPSYNC_TEST_UNSET", wantErr: "token: environment variable IDPSYNC_TEST_UNSET is not set"},
		{name: "env empty", env: "IDPSYNC_TEST_EMPTY", wantErr: "token: environment variable IDPSYNC_TEST_EMPTY is empty"},
		{name: "two ways", inline: "abc", env: "IDPSYNC_TEST_TOKEN", wantErr: "token: give the secret one way only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := config.Secret("token", tt.inline, tt.file, tt.env)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Secret() error = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Fatalf("Secret() = %q, %v; want error %q…", got, err, tt.wantErr)
			case got != tt.want:
				t.Errorf("Secret() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIdPSources(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	body := `
[rules]
roles = ["Admin", "Viewer"]
default_role = "Viewer"
[[source]]
name       = "okta"
type       = "okta"
org_url    = "https://example.okta.com"
token_file = "okta.token"
groups     = ["ph-*", "Sales"]
schedule   = "@every 30m"
[[source]]
name               = "entra"
type               = "entra"
tenant_id          = "11111111-2222-3333-4444-555555555555"
client_id          = "66666666-7777-8888-9999-000000000000"
client_secret_file = "entra.secret"
groups             = ["ph-admin"]
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	o, e := c.Source("okta"), c.Source("entra")
	if o.Okta == nil || o.Okta.TokenFile != filepath.Join(dir, "okta.token") || len(o.Okta.Groups) != 2 {
		t.Errorf("okta settings = %+v", o.Okta)
	}
	if e.Entra == nil || e.Entra.ClientSecretFile != filepath.Join(dir, "entra.secret") {
		t.Errorf("entra settings = %+v", e.Entra)
	}

	bad := strings.Replace(body, `org_url    = "https://example.okta.com"`, `org_ur = "https://example.okta.com"`, 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = config.Load(path)
	if err == nil {
		err = c.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "org_ur") || !strings.Contains(err.Error(), ":8:") {
		t.Errorf("a misspelt okta key: %v, want an error naming org_ur on line 8", err)
	}
}
