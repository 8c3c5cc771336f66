// Package config reads idpsync's config.toml: where to listen, the database,
// logging, the rules (role catalogue, policies, group → role mappings) and
// the sources.
//
// Parse decodes a file without touching the disk; Load reads one and resolves
// its relative paths against the file's folder; Validate reports every
// problem at once. Problems name the key path, arrays counted from 0, and the
// line: "config.toml:14: source[1].type: unknown source type ...".
//
// A source's own keys depend on its type and are decoded into that
// connector's Config (Source.File for "file"). Adding a type is adding it to
// sourceTypes and a case to Source.settings (and to resolvePaths when it has
// file paths).
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pelletier/go-toml/v2"

	"github.com/idpsync/idpsync/connectors/entra"
	"github.com/idpsync/idpsync/connectors/file"
	"github.com/idpsync/idpsync/connectors/okta"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/scimserver"
	"github.com/idpsync/idpsync/webhook"
)

// Config is config.toml decoded.
type Config struct {
	Listen      string      `toml:"listen"`   // host:port of the HTTP server
	Database    string      `toml:"database"` // the SQLite file
	Log         LogConfig   `toml:"log"`
	RulesConfig RulesConfig `toml:"rules"` // see Rules for the rules themselves
	Mappings    []Mapping   `toml:"mapping"`
	Sources     []Source    `toml:"source"`

	// The service: HTTPS on the listener (tls_cert and tls_key, PEM: both or
	// neither), webhooks and the admin UI. See service.go.
	TLSCert  string           `toml:"tls_cert"`
	TLSKey   string           `toml:"tls_key"`
	Webhooks []webhook.Config `toml:"webhook"`
	UI       UIConfig         `toml:"ui"`

	path  string         // the file Load read
	lines map[string]int // key path → line in the file
}

// LogConfig is the [log] table.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn or error
	Format string `toml:"format"` // text or json
}

// RulesConfig is the [rules] table (DESIGN.md rules 2-6).
type RulesConfig struct {
	Roles            []string `toml:"roles"`        // the role catalogue
	DefaultRole      string   `toml:"default_role"` // empty: no default role
	SingleRole       bool     `toml:"single_role"`
	OnConflict       string   `toml:"on_conflict"` // reconcile.Adopt or reconcile.Reject
	MaxDeactivations Limit    `toml:"max_deactivations"`
}

// Mapping is one [[mapping]]: the members of Group get Role.
type Mapping struct {
	Group string `toml:"group"`
	Role  string `toml:"role"`
}

// Source is one [[source]]. The keys every source has are decoded into its
// fields; the keys of its type into the one type-specific Config that
// matches Type.
type Source struct {
	Name             string `toml:"name"`
	Type             string `toml:"type"`
	Schedule         string `toml:"schedule"` // cron spec or @every …; empty: at start only
	Enabled          *bool  `toml:"enabled"`  // nil: enabled
	MaxDeactivations Limit  `toml:"max_deactivations"`

	File  *file.Config             `toml:"-"` // type "file"
	SCIM  *scimserver.SourceConfig `toml:"-"` // type "scim"
	Okta  *okta.Config             `toml:"-"` // type "okta"
	Entra *entra.Config            `toml:"-"` // type "entra"
}

// sourceTypes lists the source types, in the order error messages give them.
var sourceTypes = []string{"file", "scim", "okta", "entra"}

// settings returns the type-specific Config of the source, creating an
// empty one if there is none yet, or nil for an unknown type.
func (s *Source) settings() interface{ Validate() []error } {
	switch s.Type {
	case "file":
		if s.File == nil {
			s.File = new(file.Config)
		}
		return s.File
	case "scim":
		if s.SCIM == nil {
			s.SCIM = new(scimserver.SourceConfig)
		}
		return s.SCIM
	case "okta":
		if s.Okta == nil {
			s.Okta = new(okta.Config)
		}
		return s.Okta
	case "entra":
		if s.Entra == nil {
			s.Entra = new(entra.Config)
		}
		return s.Entra
	}
	return nil
}

// resolvePaths makes the source's relative file paths relative to dir.
func (s *Source) resolvePaths(dir string) {
	switch s.Type {
	case "file":
		if s.File != nil {
			s.File.Path = resolve(dir, s.File.Path)
		}
	case "scim":
		if s.SCIM != nil && s.SCIM.TokenFile != "" {
			s.SCIM.TokenFile = resolve(dir, s.SCIM.TokenFile)
		}
	case "okta":
		if c := s.Okta; c != nil {
			c.TokenFile, c.PrivateKeyFile = resolveSet(dir, c.TokenFile), resolveSet(dir, c.PrivateKeyFile)
		}
	case "entra":
		if c := s.Entra; c != nil {
			c.ClientSecretFile, c.CertificateFile, c.CAFile =
				resolveSet(dir, c.ClientSecretFile), resolveSet(dir, c.CertificateFile), resolveSet(dir, c.CAFile)
		}
	}
}

// resolveSet resolves a path against dir, leaving an unset one unset.
func resolveSet(dir, path string) string {
	if path == "" {
		return ""
	}
	return resolve(dir, path)
}

// Limit is a max_deactivations value as written: a count ("25", or the TOML
// integer 25) or a percentage ("10%"). Validate checks that it parses.
type Limit string

// UnmarshalText accepts any scalar, so that an integer decodes as a count.
func (l *Limit) UnmarshalText(b []byte) error {
	*l = Limit(b)
	return nil
}

// DefaultConfig returns the values of the keys a file leaves out. It has no
// roles, so it does not validate by itself: a file must declare them.
func DefaultConfig() *Config {
	return &Config{
		Listen:   "127.0.0.1:8080",
		Database: "idpsync.db",
		Log:      LogConfig{Level: "info", Format: "text"},
		UI:       UIConfig{SessionTTL: DefaultSessionTTL},
		RulesConfig: RulesConfig{
			OnConflict:       reconcile.Adopt,
			MaxDeactivations: Limit(reconcile.DefaultThreshold.String()),
		},
	}
}

// Parse decodes a configuration over DefaultConfig. It reports syntax errors,
// values of the wrong type and unknown keys, all with their lines; Validate
// checks the values. It touches nothing but r. Its errors are EINVALID and
// wrap Errors.
func Parse(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(data, "")
}

// Load reads and parses the configuration file at path, as Parse does, and
// makes the relative paths in it (database, the file sources' path, the TLS
// files, the webhooks' secret files) relative to the file's folder. Problems
// name the file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := parse(data, path)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	c.Database = resolve(dir, c.Database)
	c.TLSCert, c.TLSKey = resolveSet(dir, c.TLSCert), resolveSet(dir, c.TLSKey)
	for i := range c.Webhooks {
		c.Webhooks[i].SecretFile = resolveSet(dir, c.Webhooks[i].SecretFile)
	}
	for i := range c.Sources {
		c.Sources[i].resolvePaths(dir)
	}
	return c, nil
}

func parse(data []byte, path string) (*Config, error) {
	c := DefaultConfig()
	c.path = path
	if err := toml.Unmarshal(data, c); err != nil {
		e := decodeError(err)
		// go-toml's key has no array indexes: take the indexed one on the line.
		for _, k := range indexKeys(data) {
			if k.line == e.Line && arrayIndex.ReplaceAllString(k.path, "") == e.Key {
				e.Key = k.path
			}
		}
		return nil, c.fail(Errors{e})
	}
	keys := indexKeys(data)
	c.lines = make(map[string]int, len(keys))
	for _, k := range keys {
		c.lines[k.path] = k.line
	}
	errs := c.decodeSettings(data)
	errs = append(errs, c.unknownKeys(keys)...)
	if len(errs) > 0 {
		return nil, c.fail(errs)
	}
	return c, nil
}

// decodeSettings decodes each source's type-specific keys into its type's
// Config: the second pass over [[source]], after the keys every source has.
func (c *Config) decodeSettings(data []byte) Errors {
	var raw struct {
		Sources []map[string]any `toml:"source"`
	}
	if err := toml.Unmarshal(data, &raw); err != nil {
		return Errors{decodeError(err)}
	}
	var errs Errors
	for i := range c.Sources {
		settings := c.Sources[i].settings()
		if settings == nil || i >= len(raw.Sources) {
			continue // an unknown type: Validate says so
		}
		b, err := toml.Marshal(raw.Sources[i])
		if err == nil {
			err = toml.Unmarshal(b, settings)
		}
		if err != nil {
			e := decodeError(err)
			// The position is in the re-encoded table: look the key up instead.
			e.Key, e.Line, e.Column = joinKey(indexKey("source", i), e.Key), 0, 0
			errs = append(errs, e)
		}
	}
	return errs
}

// resolve makes a relative path relative to dir. An empty path stays empty.
func resolve(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// Find returns the configuration file to load: explicit if given (an error if
// it is missing), else ./config.toml, else /etc/idpsync/config.toml. It
// returns "" and no error when none exists: use the built-in default then.
func Find(explicit string) (string, error) {
	if explicit != "" {
		fi, err := os.Stat(explicit)
		switch {
		case err != nil:
			return "", fmt.Errorf("config file: %w", err)
		case fi.IsDir():
			return "", fmt.Errorf("config file %s is a directory", explicit)
		}
		return explicit, nil
	}
	for _, path := range []string{"config.toml", "/etc/idpsync/config.toml"} {
		fi, err := os.Stat(path)
		switch {
		case err == nil && !fi.IsDir():
			return path, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("config file: %w", err) // there, but unreadable: do not fall back
		}
	}
	return "", nil
}

// Path returns the file Load read; "" for a configuration from Parse.
func (c *Config) Path() string { return c.path }

// Describe names where the configuration came from, for messages.
func (c *Config) Describe() string {
	if c.path == "" {
		return "the built-in configuration"
	}
	return c.path
}

// Source returns the source named name, or nil.
func (c *Config) Source(name string) *Source {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i]
		}
	}
	return nil
}

// Rules returns the rules the configuration defines, its roles and mappings
// marked reconcile.OriginConfig. Validate the configuration first: a
// max_deactivations that does not parse reads as the default.
func (c *Config) Rules() reconcile.Rules {
	rc := &c.RulesConfig
	r := reconcile.Rules{
		DefaultRole:      rc.DefaultRole,
		SingleRole:       rc.SingleRole,
		OnConflict:       rc.OnConflict,
		MaxDeactivations: reconcile.DefaultThreshold,
	}
	if t, err := reconcile.ParseThreshold(string(rc.MaxDeactivations)); err == nil {
		r.MaxDeactivations = t
	}
	for _, name := range rc.Roles {
		r.Roles = append(r.Roles, reconcile.Role{Name: name, Origin: reconcile.OriginConfig})
	}
	for _, m := range c.Mappings {
		r.Mappings = append(r.Mappings, reconcile.Mapping{Group: m.Group, Role: m.Role, Origin: reconcile.OriginConfig})
	}
	return r
}

// Threshold returns the source's brake: its own max_deactivations, or global
// when it has none (or, unvalidated, one that does not parse).
func (s *Source) Threshold(global reconcile.Threshold) reconcile.Threshold {
	if s.MaxDeactivations == "" {
		return global
	}
	t, err := reconcile.ParseThreshold(string(s.MaxDeactivations))
	if err != nil {
		return global
	}
	return t
}

// IsEnabled reports whether the source runs: enabled is true or left out.
func (s *Source) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }
