package config

import (
	"crypto/tls"
	"slices"
	"strings"
	"time"

	"github.com/idpsync/idpsync/webhook"
)

// The keys of the running service: TLS on the listener, webhooks and the
// admin UI.

// UIConfig is the [ui] table: the admin UI's login.
type UIConfig struct {
	// PasswordHash is the admin password as a bcrypt ("$2b$…") or argon2id
	// ("$argon2id$…") hash string; empty: the UI has no password login.
	PasswordHash string `toml:"password_hash"`
	SessionTTL   string `toml:"session_ttl"` // how long a login lasts; default 12h
	// SecureCookie marks the session cookie Secure even though idpsync
	// itself serves plain HTTP: TLS is terminated at a proxy in front.
	SecureCookie bool `toml:"secure_cookie"`
}

// DefaultSessionTTL is [ui] session_ttl when left out.
const DefaultSessionTTL = "12h"

// SessionDuration returns session_ttl as a duration. Validate the
// configuration first: one that does not parse reads as the default.
func (u UIConfig) SessionDuration() time.Duration {
	if d, err := time.ParseDuration(u.SessionTTL); err == nil && d > 0 {
		return d
	}
	d, _ := time.ParseDuration(DefaultSessionTTL)
	return d
}

// hashPrefixes are the password hash formats [ui] password_hash takes.
var hashPrefixes = []string{"$2a$", "$2b$", "$2y$", "$argon2id$"}

// TLS reports whether the listener serves HTTPS.
func (c *Config) TLS() bool { return c.TLSCert != "" || c.TLSKey != "" }

// LoadCertificate reads tls_cert and tls_key. Its error names the keys and
// their line, as Validate's do. The daemon calls it at start and on every
// reload, so a renewed certificate is picked up by SIGHUP.
func (c *Config) LoadCertificate() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, c.fail(Errors{{Key: "tls_cert", Msg: "loading the certificate and tls_key: " + err.Error()}})
	}
	return &cert, nil
}

func (c *Config) validateService(errs *Errors) {
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		errs.add("tls_key", "required when tls_cert is set (set both, or neither to serve plain HTTP)")
	case c.TLSKey != "" && c.TLSCert == "":
		errs.add("tls_cert", "required when tls_key is set (set both, or neither to serve plain HTTP)")
	}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		key := indexKey("webhook", i)
		if j := slices.IndexFunc(c.Webhooks, func(o webhook.Config) bool { return o.Name == w.Name }); j < i && w.Name != "" {
			errs.add(key+".name", "duplicate webhook name %q (also webhook[%d])", w.Name, j)
		}
		// The webhook package owns the rules of one webhook (url http(s),
		// exactly one of secret_env and secret_file, durations that parse);
		// its problems start with their keys, as the connectors' do.
		for _, err := range w.Validate() {
			sub, msg, ok := strings.Cut(err.Error(), ": ")
			if !ok {
				sub, msg = "", err.Error()
			}
			errs.add(joinKey(key, sub), "%s", msg)
		}
	}
	if h := c.UI.PasswordHash; h != "" && !slices.ContainsFunc(hashPrefixes, func(p string) bool { return strings.HasPrefix(h, p) }) {
		errs.add("ui.password_hash", "not a bcrypt ($2b$…) or argon2id ($argon2id$…) hash: store the hash, never the password")
	}
	checkDuration(errs, "ui.session_ttl", c.UI.SessionTTL)
}

// checkDuration checks an optional positive duration ("30s", "5m", "12h").
func checkDuration(errs *Errors, key, value string) {
	if value == "" {
		return
	}
	d, err := time.ParseDuration(value)
	switch {
	case err != nil:
		errs.add(key, "%q is not a duration (e.g. \"30s\", \"5m\", \"12h\")", value)
	case d <= 0:
		errs.add(key, "%q: must be positive", value)
	}
}
