// Package webhook delivers every applied change batch to configured URLs,
// signed with HMAC-SHA256, in order and at least once.
//
// A batch is the change-log records of one applied plan, in seq order; a plan
// of more than the batch size (500 records) is split into numbered parts.
// Each webhook has its own goroutine and its own delivery position in the
// store: the seq of the last record a receiver acknowledged (any 2xx). A
// batch that fails (another status, a network error, a timeout) is retried,
// the same batch with the same body and delivery id, with exponential
// backoff and jitter up to max_backoff, for as long as it takes: batches are
// never skipped and never reordered. A batch delivered but not yet recorded
// when the process stops is delivered again after the restart, so receivers
// dedupe on X-Idpsync-Delivery. See sign.go for the signature scheme.
package webhook

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// Config is one [[webhook]] of config.toml.
type Config struct {
	Name       string `toml:"name"`        // identifies its delivery position in the store
	URL        string `toml:"url"`         // http(s) URL the batches are POSTed to
	SecretEnv  string `toml:"secret_env"`  // the HMAC key, from this environment variable,
	SecretFile string `toml:"secret_file"` // or from this file (set exactly one)
	Timeout    string `toml:"timeout"`     // per attempt; default 10s
	MaxBackoff string `toml:"max_backoff"` // longest wait between retries; default 5m
	// Start is where a webhook the store has never seen begins: "end" (the
	// default) delivers only changes applied from now on, "beginning" the
	// whole change log first. A webhook seen before resumes from its stored
	// position whatever Start says.
	Start string `toml:"start"`
}

// Defaults and limits.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// MinSecretLen is the shortest secret accepted, in bytes.
	MinSecretLen = 16
)

// Start values.
const (
	StartEnd       = "end"
	StartBeginning = "beginning"
)

// names are those of sources: they appear in delivery ids ("crm:101-140").
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{Timeout: DefaultTimeout.String(), MaxBackoff: DefaultMaxBackoff.String(), Start: StartEnd}
}

// withDefaults fills in the zero values.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	set := func(v *string, def string) {
		if strings.TrimSpace(*v) == "" {
			*v = def
		}
	}
	set(&c.Timeout, d.Timeout)
	set(&c.MaxBackoff, d.MaxBackoff)
	set(&c.Start, d.Start)
	return c
}

// Validate reports every problem with the configuration, each naming its key.
// Zero values stand for the defaults. It does not read the secret: New does.
// Names unique across webhooks are checked by New (and by config).
func (c Config) Validate() []error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch {
	case c.Name == "":
		add("name: required")
	case !validName.MatchString(c.Name):
		add("name: %q must be lowercase letters, digits, '-' and '_', starting with a letter or digit", c.Name)
	}
	if strings.TrimSpace(c.URL) == "" {
		add("url: required")
	} else if u, err := url.Parse(c.URL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		add("url: %q is not an http(s) URL", redact(c.URL))
	} else if u.Scheme == "http" && !loopback(u.Hostname()) {
		add("url: %q must use https (plain http only on loopback): the batches carry user data", redact(c.URL))
	} else if u.User != nil {
		u.RawQuery, u.Fragment = "", ""
		add("url: %q must not carry credentials: receivers check the signature", u.Redacted())
	}
	switch {
	case c.SecretEnv != "" && c.SecretFile != "":
		add("secret_env, secret_file: set one, not both")
	case c.SecretEnv == "" && c.SecretFile == "":
		add("secret_env or secret_file: required")
	}
	if d, err := time.ParseDuration(c.Timeout); err != nil || d <= 0 {
		add("timeout: %q is not a positive duration", c.Timeout)
	}
	if d, err := time.ParseDuration(c.MaxBackoff); err != nil || d <= 0 {
		add("max_backoff: %q is not a positive duration", c.MaxBackoff)
	}
	if c.Start != StartEnd && c.Start != StartBeginning {
		add("start: %q is not %q or %q", c.Start, StartEnd, StartBeginning)
	}
	return errs
}

// redact returns a webhook URL fit for logs and errors: scheme://host/path,
// without credentials, query string or fragment (a receiver may take a key
// in its query string).
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		s, _, _ := strings.Cut(raw, "?")
		s, _, _ = strings.Cut(s, "#")
		return s
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// loopback reports whether host is a loopback name or address.
func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// CheckSecret reads the secret as New does, and forgets it: nil when New
// would read it, else the problem, starting with its key (secret_env or
// secret_file). Validate the configuration first. check-config calls it.
func (c Config) CheckSecret() error {
	_, err := c.secret()
	return err
}

// secret reads the HMAC key, trimmed of surrounding white space. Errors
// name the key and never hold the secret.
func (c Config) secret() ([]byte, error) {
	var s string
	if c.SecretEnv != "" {
		v, ok := os.LookupEnv(c.SecretEnv)
		if !ok {
			return nil, fmt.Errorf("secret_env: environment variable %s is not set", c.SecretEnv)
		}
		s = strings.TrimSpace(v)
	} else {
		b, err := os.ReadFile(c.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("secret_file: %v", err)
		}
		s = strings.TrimSpace(string(b))
	}
	key := "secret_env"
	if c.SecretEnv == "" {
		key = "secret_file"
	}
	if len(s) < MinSecretLen {
		return nil, fmt.Errorf("%s: the secret is shorter than %d bytes (make one with: openssl rand -hex 32)", key, MinSecretLen)
	}
	return []byte(s), nil
}
