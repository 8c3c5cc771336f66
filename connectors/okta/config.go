// Package okta is a pull source that reads users, groups and memberships from
// an Okta org through the Okta Management API (github.com/okta/okta-sdk-golang/v2).
//
// Scope is set by groups and by an app. Each entry of Config.Groups is a
// group's exact name or a name prefix ("ph-*"; "*" is every group), compared
// case-insensitively; an exact name that matches no group fails the fetch, so
// a typo or a deleted group never reads as its members leaving. When
// Config.AppID names an app, the groups assigned to it are in scope too, and
// so are the users assigned to it (directly or through a group). The users
// are the members of the in-scope groups and the app's assigned users.
//
// Okta groups do not nest: every member of a group is a user.
//
// A fetch reads the groups once, each in-scope group's members once, and the
// app's assignments once, following every Link rel="next" to the end. Any
// failed or cut-short page fails the whole fetch: never a partial directory.
//
// Requests are paced from Okta's X-Rate-Limit-Limit/-Remaining/-Reset headers
// so that idpsync uses at most Config.RateLimitShare of the org's budget, and
// 429s, 5xx and network errors are retried with backoff and jitter up to
// Config.MaxRetries times (see transport.go). The SDK's own cache and retries
// are off.
//
// Okta permissions needed (read-only): okta.users.read, okta.groups.read and,
// with an app, okta.apps.read; an API token of a read-only admin works too.
package okta

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Config configures an Okta source.
type Config struct {
	// OrgURL is the org's base URL, e.g. https://example.okta.com (a
	// trailing slash is dropped). Plain http is allowed only on loopback.
	OrgURL string `toml:"org_url"`
	// TokenFile or TokenEnv hold an API token (sent as "SSWS <token>").
	TokenFile string `toml:"token_file"`
	TokenEnv  string `toml:"token_env"`
	// ClientID and PrivateKeyFile select OAuth 2.0 client credentials with a
	// private key (a PEM RSA key, PKCS#1 or PKCS#8) instead of an API token.
	ClientID       string `toml:"client_id"`
	PrivateKeyFile string `toml:"private_key_file"`
	// PrivateKeyID is the key's kid, when the app has several keys.
	PrivateKeyID string `toml:"private_key_id"`
	// Groups are exact group names or "prefix*" patterns ("*": every group).
	Groups []string `toml:"groups"`
	// AppID, when set, adds the app's assigned groups and users to the scope.
	AppID string `toml:"app_id"`
	// StagedActive and ProvisionedActive say whether users in Okta's STAGED
	// and PROVISIONED states (not yet activated) count as active.
	StagedActive      bool `toml:"staged_active"`
	ProvisionedActive bool `toml:"provisioned_active"`
	// RateLimitShare is the fraction (0 < share ≤ 1) of the org's rate
	// budget idpsync may use; the rest is left to other integrations.
	RateLimitShare float64 `toml:"rate_limit_share"`
	PageSize       int     `toml:"page_size"`
	// Timeout bounds each HTTP request (one attempt, body included).
	Timeout string `toml:"timeout"`
	// MaxRetries bounds the retries of one request (429, 5xx, network).
	MaxRetries int `toml:"max_retries"`
	// MaxRetryWait is the longest wait for a rate-limit window to reset; a
	// longer one fails the fetch instead.
	MaxRetryWait string `toml:"max_retry_wait"`
	// Concurrency is how many groups' members are read at once.
	Concurrency int `toml:"concurrency"`

	// Attribute mapping: the Okta profile field each attribute is read from.
	// ExternalID "" or "id" is the Okta user id. DisplayName "displayName"
	// (the default) falls back to firstName + " " + lastName.
	UserName    string `toml:"user_name"`
	Email       string `toml:"email"`
	DisplayName string `toml:"display_name"`
	GivenName   string `toml:"given_name"`
	FamilyName  string `toml:"family_name"`
	ExternalID  string `toml:"external_id"`
}

// Defaults.
const (
	DefaultRateLimitShare = 0.5
	DefaultPageSize       = 200
	MaxPageSize           = 1000
	DefaultTimeout        = 30 * time.Second
	DefaultMaxRetries     = 5
	DefaultMaxRetryWait   = 2 * time.Minute
	DefaultConcurrency    = 4
)

// Scopes are the scopes requested with OAuth client credentials;
// okta.apps.read only when app_id is set.
var Scopes = []string{"okta.users.read", "okta.groups.read", "okta.apps.read"}

// scopes are the scopes this source requests (Scopes, less okta.apps.read
// without an app).
func (c Config) scopes() []string {
	if c.AppID == "" {
		return []string{"okta.users.read", "okta.groups.read"}
	}
	return slices.Clone(Scopes)
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		RateLimitShare: DefaultRateLimitShare,
		PageSize:       DefaultPageSize,
		Timeout:        DefaultTimeout.String(),
		MaxRetries:     DefaultMaxRetries,
		MaxRetryWait:   DefaultMaxRetryWait.String(),
		Concurrency:    DefaultConcurrency,
		UserName:       "login",
		Email:          "email",
		DisplayName:    "displayName",
		GivenName:      "firstName",
		FamilyName:     "lastName",
		ExternalID:     "id",
	}
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
	set(&c.MaxRetryWait, d.MaxRetryWait)
	set(&c.UserName, d.UserName)
	set(&c.Email, d.Email)
	set(&c.DisplayName, d.DisplayName)
	set(&c.GivenName, d.GivenName)
	set(&c.FamilyName, d.FamilyName)
	set(&c.ExternalID, d.ExternalID)
	if c.RateLimitShare == 0 {
		c.RateLimitShare = d.RateLimitShare
	}
	if c.PageSize == 0 {
		c.PageSize = d.PageSize
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = d.MaxRetries
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	c.OrgURL = strings.TrimRight(strings.TrimSpace(c.OrgURL), "/")
	return c
}

// Validate reports every problem with the configuration, each naming its key.
// Zero values stand for the defaults. It does not read the token or key files.
func (c Config) Validate() []error {
	c = c.withDefaults()
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.OrgURL == "" {
		add("org_url: required")
	} else if u, err := url.Parse(c.OrgURL); err != nil || u.Host == "" {
		add("org_url: %q is not a URL", c.OrgURL)
	} else if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
		add("org_url: %q must use https (plain http only on loopback, for tests)", c.OrgURL)
	} else if u.Path != "" || u.RawQuery != "" {
		add("org_url: %q must be the org's base URL, with no path", c.OrgURL)
	}

	token := c.TokenFile != "" || c.TokenEnv != ""
	oauth := c.ClientID != "" || c.PrivateKeyFile != ""
	switch {
	case c.TokenFile != "" && c.TokenEnv != "":
		add("token_file, token_env: set one, not both")
	case token && oauth:
		add("token_file/token_env and client_id/private_key_file: set an API token or OAuth client credentials, not both")
	case oauth && c.ClientID == "":
		add("client_id: required with private_key_file")
	case oauth && c.PrivateKeyFile == "":
		add("private_key_file: required with client_id")
	case !token && !oauth:
		add("token_file or token_env (or client_id and private_key_file): required")
	}

	if len(c.Groups) == 0 && strings.TrimSpace(c.AppID) == "" {
		add("groups or app_id: required (nothing would be in scope)")
	}
	for i, g := range c.Groups {
		if strings.TrimSpace(g) == "" {
			add("groups[%d]: empty", i)
		} else if strings.Contains(strings.TrimSuffix(g, "*"), "*") {
			add("groups[%d]: %q: '*' is allowed only at the end", i, g)
		}
	}
	if c.RateLimitShare <= 0 || c.RateLimitShare > 1 {
		add("rate_limit_share: %v is not in (0, 1]", c.RateLimitShare)
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		add("page_size: %d is not in 1..%d", c.PageSize, MaxPageSize)
	}
	if d, err := time.ParseDuration(c.Timeout); err != nil || d <= 0 {
		add("timeout: %q is not a positive duration", c.Timeout)
	}
	if d, err := time.ParseDuration(c.MaxRetryWait); err != nil || d <= 0 {
		add("max_retry_wait: %q is not a positive duration", c.MaxRetryWait)
	}
	if c.MaxRetries < 0 {
		add("max_retries: %d is negative", c.MaxRetries)
	}
	if c.Concurrency < 1 || c.Concurrency > 32 {
		add("concurrency: %d is not in 1..32", c.Concurrency)
	}
	return errs
}

// loopback reports whether host is a loopback name or address.
func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// Open returns a source named name that reads the configured org. It checks
// the configuration and reads the token or the private key (EINVALID when
// they are bad) but makes no request. A nil log discards.
func (c Config) Open(name string, log *slog.Logger) (*Connector, error) {
	return c.open(name, log, nil)
}

// open is Open with an optional base transport (tests).
func (c Config) open(name string, log *slog.Logger, base http.RoundTripper) (*Connector, error) {
	errs := c.Validate()
	if strings.TrimSpace(name) == "" {
		errs = append([]error{errors.New("name: required")}, errs...)
	}
	c = c.withDefaults()
	var (
		secret string          // the API token
		key    *rsa.PrivateKey // or the OAuth client's key
	)
	if len(errs) == 0 {
		var err error
		if c.ClientID != "" {
			key, err = c.privateKey()
		} else {
			secret, err = c.secret()
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, err := range errs {
			msgs[i] = err.Error()
		}
		return nil, reconcile.Errorf(reconcile.EINVALID, "okta source %q: %s", name, strings.Join(msgs, "; "))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout, _ := time.ParseDuration(c.Timeout)
	maxWait, _ := time.ParseDuration(c.MaxRetryWait)
	if base == nil {
		base = http.DefaultTransport
	}
	p := newPacer(base, c.RateLimitShare, timeout, c.MaxRetries, maxWait)
	var rt http.RoundTripper = p
	if key != nil {
		rt = newOAuth(p, c, key)
	}
	client, err := newClient(c, secret, &http.Client{Transport: rt})
	if err != nil {
		return nil, reconcile.Errorf(reconcile.EINVALID, "okta source %q: %v", name, err)
	}
	return &Connector{
		name:   name,
		cfg:    c,
		client: client,
		pacer:  p,
		log:    log.With("source", name, "connector", "okta"),
	}, nil
}

// secret reads the API token.
func (c Config) secret() (string, error) {
	switch {
	case c.TokenEnv != "":
		t := strings.TrimSpace(os.Getenv(c.TokenEnv))
		if t == "" {
			return "", fmt.Errorf("token_env: environment variable %s is empty or unset", c.TokenEnv)
		}
		return t, nil
	case c.TokenFile != "":
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return "", fmt.Errorf("token_file: %v", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("token_file: %s is empty", c.TokenFile)
		}
		return t, nil
	}
	return "", errors.New("token_file or token_env: required")
}
