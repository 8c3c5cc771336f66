// Package entra is a pull source that reads users, groups and memberships from
// Microsoft Entra ID through Microsoft Graph.
//
// Scope is set by groups: each entry of Config.Groups is a group's object id,
// its display name, a display-name prefix ("ph-*") or "*" (every group). The
// in-scope groups and every group nested in them, at any depth, are read with
// their direct members; a nested group is reported as a member of its parent,
// so a member of a group nested in a mapped group counts as a member of the
// mapped group. The users are the members of those groups, or every user of
// the tenant when Config.Users is "all".
//
// A configured name or id that matches no group, or a name that matches more
// than one, fails the fetch: a typo or a deleted group must not read as its
// members leaving.
//
// Graph application permissions needed: User.Read.All and GroupMember.Read.All.
package entra

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Scopes of users.
const (
	UsersInGroups = "groups" // members (transitively) of the in-scope groups
	UsersAll      = "all"    // every user of the tenant
)

// Config configures an Entra ID source.
type Config struct {
	TenantID         string `toml:"tenant_id"`
	ClientID         string `toml:"client_id"`
	ClientSecretFile string `toml:"client_secret_file"`
	ClientSecretEnv  string `toml:"client_secret_env"`
	// CertificateFile is a PEM file holding the client certificate and its
	// private key.
	CertificateFile string `toml:"certificate_file"`
	// AuthorityHost is the login endpoint (national clouds differ).
	AuthorityHost string `toml:"authority_host"`
	// GraphURL is Graph's base URL, version included.
	GraphURL string `toml:"graph_url"`
	// CAFile is an extra PEM CA bundle trusted beside the system's, for
	// TLS-inspecting proxies; used for both login and Graph.
	CAFile string `toml:"ca_file"`
	// Groups are object ids, display names, "prefix*" patterns or "*".
	Groups []string `toml:"groups"`
	// Users is "groups" (default) or "all".
	Users    string `toml:"users"`
	PageSize int    `toml:"page_size"`
	// Timeout bounds each HTTP request (one attempt, body included).
	Timeout string `toml:"timeout"`
	// MaxRetries bounds the retries of one request (429, 5xx, network).
	MaxRetries int `toml:"max_retries"`
	// MaxRetryWait is the longest Retry-After the source waits; a longer one
	// fails the fetch instead.
	MaxRetryWait string `toml:"max_retry_wait"`
	// Concurrency is how many groups' members are read at once.
	Concurrency int `toml:"concurrency"`
	// FullEvery is how often a run reads everything instead of only what
	// changed since the last run (Graph delta queries).
	FullEvery string `toml:"full_every"`

	// Attribute mapping: the Graph user property each field is read from.
	UserName    string `toml:"user_name"`
	Email       string `toml:"email"`
	DisplayName string `toml:"display_name"`
	GivenName   string `toml:"given_name"`
	FamilyName  string `toml:"family_name"`
	ExternalID  string `toml:"external_id"`
}

// Defaults.
const (
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	DefaultGraphURL      = "https://graph.microsoft.com/v1.0"
	DefaultPageSize      = 999
	DefaultTimeout       = 30 * time.Second
	DefaultMaxRetries    = 5
	DefaultMaxRetryWait  = 2 * time.Minute
	DefaultConcurrency   = 4
	DefaultFullEvery     = 24 * time.Hour
)

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{
		AuthorityHost: DefaultAuthorityHost,
		GraphURL:      DefaultGraphURL,
		Users:         UsersInGroups,
		PageSize:      DefaultPageSize,
		Timeout:       DefaultTimeout.String(),
		MaxRetries:    DefaultMaxRetries,
		MaxRetryWait:  DefaultMaxRetryWait.String(),
		Concurrency:   DefaultConcurrency,
		FullEvery:     DefaultFullEvery.String(),
		UserName:      "userPrincipalName",
		Email:         "mail",
		DisplayName:   "displayName",
		GivenName:     "givenName",
		FamilyName:    "surname",
		ExternalID:    "id",
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
	set(&c.AuthorityHost, d.AuthorityHost)
	set(&c.GraphURL, d.GraphURL)
	set(&c.Users, d.Users)
	set(&c.Timeout, d.Timeout)
	set(&c.MaxRetryWait, d.MaxRetryWait)
	set(&c.FullEvery, d.FullEvery)
	set(&c.UserName, d.UserName)
	set(&c.Email, d.Email)
	set(&c.DisplayName, d.DisplayName)
	set(&c.GivenName, d.GivenName)
	set(&c.FamilyName, d.FamilyName)
	set(&c.ExternalID, d.ExternalID)
	if c.PageSize == 0 {
		c.PageSize = d.PageSize
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = d.MaxRetries
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	return c
}

// Validate reports every problem with the configuration, each naming its key.
// It reads no file: a missing secret or certificate fails Open.
func (c Config) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	c = c.withDefaults()
	if strings.TrimSpace(c.TenantID) == "" {
		add("tenant_id: required")
	}
	if strings.TrimSpace(c.ClientID) == "" {
		add("client_id: required")
	}
	n := 0
	for _, s := range []string{c.ClientSecretFile, c.ClientSecretEnv, c.CertificateFile} {
		if strings.TrimSpace(s) != "" {
			n++
		}
	}
	if n != 1 {
		add("client_secret_file, client_secret_env, certificate_file: set exactly one (%d set)", n)
	}
	// Graph may be plain http on loopback (a fake); azidentity refuses an
	// authority without https.
	if u, err := url.Parse(c.AuthorityHost); err != nil || u.Host == "" || u.Scheme != "https" {
		add("authority_host: %q is not an https URL", c.AuthorityHost)
	}
	if u, err := url.Parse(c.GraphURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		add("graph_url: %q is not an http(s) URL", c.GraphURL)
	}
	switch c.Users {
	case UsersInGroups:
		if len(c.Groups) == 0 {
			add(`groups: required when users = "groups"`)
		}
	case UsersAll:
	default:
		add("users: %q is not %q or %q", c.Users, UsersInGroups, UsersAll)
	}
	for i, g := range c.Groups {
		if strings.TrimSpace(g) == "" {
			add("groups[%d]: empty", i)
		}
	}
	if c.PageSize < 1 || c.PageSize > 999 {
		add("page_size: %d is not between 1 and 999", c.PageSize)
	}
	for key, v := range map[string]string{"timeout": c.Timeout, "max_retry_wait": c.MaxRetryWait, "full_every": c.FullEvery} {
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			add("%s: %q is not a positive duration", key, v)
		}
	}
	if c.MaxRetries < 0 {
		add("max_retries: %d is negative", c.MaxRetries)
	}
	if c.Concurrency < 1 || c.Concurrency > 16 {
		add("concurrency: %d is not between 1 and 16", c.Concurrency)
	}
	for _, m := range c.mapping() {
		if !knownProperty(m.prop) {
			add("%s: %q is not a Graph user property this source reads (a string property, or extension_…)", m.key, m.prop)
		}
	}
	return errs
}

// Option adjusts a connector beyond its configuration; for tests.
type Option func(*options)

type options struct {
	token        string
	allowedHosts []string
	backoff      time.Duration
}

// WithStaticToken makes the connector send token as its bearer token instead
// of signing in, and allows it to send it to allowedHosts besides the Graph
// URL's host (a fake Graph on "127.0.0.1", say).
func WithStaticToken(token string, allowedHosts ...string) Option {
	return func(o *options) { o.token, o.allowedHosts = token, allowedHosts }
}

// WithBackoff sets the first delay of the exponential backoff between retries
// (default 500ms).
func WithBackoff(d time.Duration) Option { return func(o *options) { o.backoff = d } }

// Open returns a source named name reading the configured tenant. It rejects
// a bad configuration (EINVALID) and reads the secret or certificate, but
// makes no request. A nil log discards.
func (c Config) Open(name string, log *slog.Logger) (*Connector, error) {
	return c.OpenWith(name, log)
}

// OpenWith is Open with options.
func (c Config) OpenWith(name string, log *slog.Logger, opts ...Option) (*Connector, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	errs := c.Validate()
	if o.token != "" {
		// A static token replaces the credential: no secret is needed.
		errs = dropCredentialErrors(errs)
	}
	if strings.TrimSpace(name) == "" {
		errs = append([]error{errors.New("name: required")}, errs...)
	}
	if len(errs) > 0 {
		return nil, invalid(name, errs)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c = c.withDefaults()
	timeout, _ := time.ParseDuration(c.Timeout)
	maxWait, _ := time.ParseDuration(c.MaxRetryWait)
	base, err := baseTransport(c.CAFile)
	if err != nil {
		return nil, invalid(name, []error{fmt.Errorf("ca_file: %w", err)})
	}
	if o.backoff <= 0 {
		o.backoff = 500 * time.Millisecond
	}
	rt := &retryTransport{next: base, retries: c.MaxRetries, timeout: timeout, maxWait: maxWait, backoff: o.backoff}
	graph, err := newGraph(c, o, base, rt)
	if err != nil {
		return nil, invalid(name, []error{err})
	}
	fullEvery, _ := time.ParseDuration(c.FullEvery)
	return &Connector{
		name:      name,
		cfg:       c,
		graph:     graph,
		log:       log.With("source", name, "connector", "entra"),
		fullEvery: fullEvery,
		now:       time.Now,
	}, nil
}

func invalid(name string, errs []error) error {
	msgs := make([]string, len(errs))
	for i, err := range errs {
		msgs[i] = err.Error()
	}
	return reconcile.Errorf(reconcile.EINVALID, "entra source %q: %s", name, strings.Join(msgs, "; "))
}

func dropCredentialErrors(errs []error) []error {
	var out []error
	for _, err := range errs {
		s := err.Error()
		if !strings.HasPrefix(s, "client_secret_file,") && !strings.HasPrefix(s, "tenant_id:") && !strings.HasPrefix(s, "client_id:") {
			out = append(out, err)
		}
	}
	return out
}

// baseTransport is the HTTP transport under both the credential and Graph:
// the default one, trusting caFile's certificates too when it is set.
func baseTransport(caFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if strings.TrimSpace(caFile) == "" {
		return t, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// guid matches an Entra object id.
var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
