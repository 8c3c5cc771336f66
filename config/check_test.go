package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/reconcile"
)

// checkDoc has every kind of secret CheckStart reads: line numbers matter.
const checkDoc = `tls_cert = "cert.pem"
tls_key  = "key.pem"
[rules]
roles = ["Admin"]
[[source]]
name      = "scim"
type      = "scim"
token_env = "IDPSYNC_TEST_SCIM_TOKEN"
[[source]]
name      = "okta"
type      = "okta"
org_url   = "https://example.okta.com"
groups    = ["ph-*"]
token_env = "IDPSYNC_TEST_OKTA_TOKEN"
[[source]]
name               = "entra"
type               = "entra"
tenant_id          = "tenant"
client_id          = "client"
client_secret_file = "entra.secret"
users              = "all"
[[source]]
name       = "okta2"
type       = "okta"
org_url    = "https://example.okta.com"
groups     = ["ph-*"]
token_file = "okta.token"
[[source]]
name              = "off"
type              = "entra"
tenant_id         = "tenant"
client_id         = "client"
client_secret_env = "IDPSYNC_TEST_NEVER_SET"
users             = "all"
enabled           = false
[[webhook]]
name        = "crm"
url         = "https://crm.example.com/hook"
secret_file = "crm.secret"
`

// CheckStart reports, with key and line, what would make serve fail at
// start: a certificate that does not load, a secret file that does not
// read (or is empty, or too short for a webhook), an environment variable
// not set; a SCIM source's unset token_env is only a warning, and a
// disabled source is not checked.
func TestCheckStart(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "config.toml")
	write("config.toml", checkDoc)
	load := func() *config.Config {
		t.Helper()
		c, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		return c
	}

	// Nothing there: every problem at once.
	t.Setenv("IDPSYNC_TEST_SCIM_TOKEN", "")
	t.Setenv("IDPSYNC_TEST_OKTA_TOKEN", "")
	write("okta.token", " \n")
	warnings, err := load().CheckStart()
	for _, tc := range []struct {
		key  string
		line int
		msg  string
	}{
		{"tls_cert", 1, "loading the certificate and tls_key"},
		{"source[1].token_env", 14, "environment variable IDPSYNC_TEST_OKTA_TOKEN is not set or empty"},
		{"source[2].client_secret_file", 20, "entra.secret"},
		{"source[3].token_file", 27, "okta.token is empty"},
		{"webhook[0].secret_file", 39, "crm.secret"},
	} {
		checkFileProblem(t, err, path, tc.key, tc.line, tc.msg)
	}
	if err != nil && strings.Contains(err.Error(), "source[4]") {
		t.Errorf("a disabled source is checked:\n%v", err)
	}
	if len(warnings) != 1 || warnings[0].Key != "source[0].token_env" || warnings[0].Line != 8 ||
		!strings.HasPrefix(warnings[0].Error(), path+":8: source[0].token_env: environment variable IDPSYNC_TEST_SCIM_TOKEN is not set") {
		t.Errorf("warnings = %v, want one about source[0].token_env on line 8", warnings)
	}

	// Everything there: no problem, no warning.
	writeCert(t, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	t.Setenv("IDPSYNC_TEST_SCIM_TOKEN", "scim-token")
	t.Setenv("IDPSYNC_TEST_OKTA_TOKEN", "okta-token")
	write("entra.secret", "entra-secret\n")
	write("okta.token", "okta-token\n")
	write("crm.secret", "0123456789abcdef0123456789abcdef\n")
	if warnings, err := load().CheckStart(); err != nil || len(warnings) != 0 {
		t.Errorf("CheckStart with everything in place: %v, warnings %v", err, warnings)
	}

	// A webhook secret too short to sign with is refused as serve refuses it.
	write("crm.secret", "short\n")
	_, err = load().CheckStart()
	checkFileProblem(t, err, path, "webhook[0].secret_file", 39, "shorter than 16 bytes")
}

// checkFileProblem fails unless err is EINVALID and reports, as
// "path:line: key: message", a problem with key on line whose message
// contains msg.
func checkFileProblem(t *testing.T, err error, path, key string, line int, msg string) {
	t.Helper()
	var errs config.Errors
	if !errors.As(err, &errs) || reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Fatalf("error %v (%T) is not an invalid config.Errors", err, err)
	}
	i := slices.IndexFunc(errs, func(e config.Error) bool { return e.Key == key })
	if i < 0 {
		t.Errorf("no problem with %s in:\n%v", key, err)
		return
	}
	if e := errs[i]; e.Line != line || !strings.Contains(e.Msg, msg) || !strings.Contains(err.Error(), fmt.Sprintf("%s:%d: %s: ", path, line, key)) {
		t.Errorf("problem with %s = line %d %q, want line %d containing %q, in:\n%v", key, e.Line, e.Msg, line, msg, err)
	}
}

// deploy/config.toml, the service's configuration, validates as shipped and
// with every commented example switched on, and keeps its database in the
// unit's StateDirectory (the only place the service may write).
func TestDeployConfig(t *testing.T) {
	const path = "../deploy/config.toml"
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	if c.Database != "/var/lib/idpsync/idpsync.db" {
		t.Errorf("database = %q, want /var/lib/idpsync/idpsync.db", c.Database)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	commented := regexp.MustCompile(`(?m)^# (\[\[?[a-z]+\]\]?|[a-z_]+ *=)`)
	all := commented.ReplaceAllString(string(b), "$1")
	c, err = config.Parse(strings.NewReader(all))
	if err != nil {
		t.Fatalf("with the examples switched on: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate with the examples switched on:\n%v", err)
	}
	if len(c.Sources) != 3 || len(c.Webhooks) != 1 || !c.TLS() || c.UI.PasswordHash == "" {
		t.Errorf("with the examples switched on: %d sources, %d webhooks, TLS %v, password hash %v; want okta, entra, scim, a webhook, TLS and the UI's password",
			len(c.Sources), len(c.Webhooks), c.TLS(), c.UI.PasswordHash != "")
	}
}
