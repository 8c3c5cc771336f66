package webhook_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/webhook"
)

func TestValidate(t *testing.T) {
	good := webhook.Config{Name: "crm", URL: "https://crm.example.com/hooks/idpsync", SecretEnv: "CRM_SECRET"}
	for _, tc := range []struct {
		name string
		mod  func(c *webhook.Config)
		want []string
	}{
		{"defaults", func(*webhook.Config) {}, nil},
		{"everything set", func(c *webhook.Config) {
			c.SecretEnv, c.SecretFile, c.Timeout, c.MaxBackoff, c.Start = "", "/etc/idpsync/crm.secret", "3s", "1m", "beginning"
		}, nil},
		{"http on loopback", func(c *webhook.Config) { c.URL = "http://127.0.0.1:9000/hook" }, nil},
		{"nothing", func(c *webhook.Config) { *c = webhook.Config{} },
			[]string{"name: required", "url: required", "secret_env or secret_file: required"}},
		{"bad name", func(c *webhook.Config) { c.Name = "CRM hook" }, []string{`name: "CRM hook" must be lowercase`}},
		{"not a URL", func(c *webhook.Config) { c.URL = "crm.example.com" }, []string{`url: "crm.example.com" is not an http(s) URL`}},
		{"plain http", func(c *webhook.Config) { c.URL = "http://crm.example.com/" }, []string{"url: \"http://crm.example.com/\" must use https"}},
		{"credentials in the URL", func(c *webhook.Config) { c.URL = "https://u:pw@crm.example.com/" },
			[]string{`url: "https://u:xxxxx@crm.example.com/" must not carry credentials`}},
		{"two secrets", func(c *webhook.Config) { c.SecretFile = "/x" }, []string{"secret_env, secret_file: set one, not both"}},
		{"bad durations", func(c *webhook.Config) { c.Timeout, c.MaxBackoff = "10", "-1m" },
			[]string{`timeout: "10" is not a positive duration`, `max_backoff: "-1m" is not a positive duration`}},
		{"bad start", func(c *webhook.Config) { c.Start = "now" }, []string{`start: "now" is not "end" or "beginning"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			var got []string
			for _, err := range c.Validate() {
				got = append(got, err.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Validate() = %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("error %d = %q, want it to start %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestNew: New reads the secrets and reports every bad webhook at once,
// naming it and the key, without ever quoting a secret.
func TestNew(t *testing.T) {
	dir := t.TempDir()
	short, long := filepath.Join(dir, "short"), filepath.Join(dir, "long")
	for path, s := range map[string]string{short: "tooshort\n", long: secret + "\n"} {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("IDPSYNC_TEST_WEBHOOK_SECRET", secret)
	feed := webhook.Feed{Changes: func(context.Context, reconcile.ChangeFilter) ([]reconcile.ChangeRecord, error) { return nil, nil }}
	var pos webhook.Positions = positions{}
	cfg := func(name, env, file string) webhook.Config {
		return webhook.Config{Name: name, URL: "https://example.com/hook", SecretEnv: env, SecretFile: file}
	}

	if _, err := webhook.New([]webhook.Config{cfg("env", "IDPSYNC_TEST_WEBHOOK_SECRET", ""), cfg("file", "", long)}, pos, feed, nil); err != nil {
		t.Errorf("New with good webhooks: %v", err)
	}
	if d, err := webhook.New(nil, pos, feed, nil); err != nil || d == nil {
		t.Errorf("New without webhooks: %v, %v; want a dispatcher that does nothing", d, err)
	}

	_, err := webhook.New([]webhook.Config{
		cfg("a", "IDPSYNC_TEST_WEBHOOK_SECRET", ""),
		cfg("a", "IDPSYNC_TEST_WEBHOOK_SECRET", ""),
		cfg("b", "IDPSYNC_TEST_NO_SUCH_VARIABLE", ""),
		cfg("c", "", short),
		cfg("d", "", filepath.Join(dir, "missing")),
		{Name: "e"},
	}, pos, feed, nil)
	if reconcile.ErrorKind(err) != reconcile.EINVALID {
		t.Fatalf("New with bad webhooks: %v, want invalid", err)
	}
	for _, want := range []string{
		`webhook[1].name: duplicate webhook name "a" (also webhook[0])`,
		"webhook[2].secret_env: environment variable IDPSYNC_TEST_NO_SUCH_VARIABLE is not set",
		"webhook[3].secret_file: the secret is shorter than 16 bytes",
		"webhook[4].secret_file: open " + filepath.Join(dir, "missing"),
		"webhook[5].url: required",
		"webhook[5].secret_env or secret_file: required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("New's error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "tooshort") || strings.Contains(err.Error(), secret) {
		t.Errorf("New's error quotes a secret: %q", err)
	}

	for name, args := range map[string]struct {
		pos  webhook.Positions
		feed webhook.Feed
		opts []webhook.Option
	}{
		"no store":      {nil, feed, nil},
		"no feed":       {pos, webhook.Feed{}, nil},
		"batch size 0":  {pos, feed, []webhook.Option{webhook.WithBatchSize(0)}},
		"no backoff":    {pos, feed, []webhook.Option{webhook.WithMinBackoff(0)}},
		"poll interval": {pos, feed, []webhook.Option{webhook.WithPollInterval(-1)}},
	} {
		if _, err := webhook.New(nil, args.pos, args.feed, nil, args.opts...); reconcile.ErrorKind(err) != reconcile.EINVALID {
			t.Errorf("New with %s: %v, want invalid", name, err)
		}
	}
}
