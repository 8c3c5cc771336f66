package config

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/robfig/cron/v3"

	"github.com/idpsync/idpsync/reconcile"
)

// Error is one problem with the configuration.
type Error struct {
	File   string // the configuration file, when known
	Line   int    // 0: unknown
	Column int    // syntax errors only
	Key    string // key path, e.g. "source[1].type"; empty for a syntax error
	Msg    string
}

// Error formats the problem as "file:line: key: message".
func (e Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "":
		b.WriteString(e.File)
	case e.Line > 0:
		b.WriteString("line ")
	}
	if e.Line > 0 {
		if e.File != "" {
			b.WriteString(":")
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found, ordered by line: one error value that
// prints one problem per line.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es *Errors) add(key, format string, args ...any) {
	*es = append(*es, Error{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// fail completes errs with the file and the lines of their keys and returns
// them sorted by line as one EINVALID error; nil if there are none.
func (c *Config) fail(errs Errors) error {
	if len(errs) == 0 {
		return nil
	}
	return reconcile.Errorf(reconcile.EINVALID, "%w", c.locate(errs))
}

// line returns the line of key in the file or, for a key left out, of the
// nearest table holding it; 0 if neither is in the file.
func (c *Config) line(key string) int {
	for ; key != ""; key = parentKey(key) {
		if l, ok := c.lines[key]; ok {
			return l
		}
	}
	return 0
}

// decodeError turns a go-toml error into an Error, with its position.
func decodeError(err error) Error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		return Error{Line: line, Column: col, Key: strings.Join(de.Key(), "."), Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	}
	return Error{Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

// ScheduleParser reads a source's schedule: a cron spec of 5 or 6 fields
// (seconds first), optionally after CRON_TZ=, or a descriptor such as
// @hourly or @every 15m.
var ScheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	sourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// Validate reports every problem with the values at once. Its error is
// EINVALID and wraps Errors.
func (c *Config) Validate() error {
	var errs Errors
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		errs.add("listen", "%q is not host:port (e.g. \"127.0.0.1:8080\", or \":8080\" for every interface)", c.Listen)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		errs.add("listen", "%q: port %q is not a number from 0 to 65535", c.Listen, port)
	}
	if strings.TrimSpace(c.Database) == "" {
		errs.add("database", "required")
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		errs.add("log.level", "%q is not one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		errs.add("log.format", "%q is not one of %s", c.Log.Format, strings.Join(logFormats, ", "))
	}
	c.validateRules(&errs)
	c.validateSources(&errs)
	c.validateService(&errs)
	return c.fail(errs)
}

func (c *Config) validateRules(errs *Errors) {
	rc := &c.RulesConfig
	if len(rc.Roles) == 0 {
		errs.add("rules.roles", "at least one role is required")
	}
	for i, name := range rc.Roles {
		key := indexKey("rules.roles", i)
		switch j := slices.Index(rc.Roles, name); {
		case strings.TrimSpace(name) == "":
			errs.add(key, "empty role name")
		case j < i:
			errs.add(key, "duplicate role %q (also rules.roles[%d])", name, j)
		}
	}
	known := fmt.Sprintf("(roles are %s)", quoteList(rc.Roles))
	if rc.DefaultRole != "" && !slices.Contains(rc.Roles, rc.DefaultRole) {
		errs.add("rules.default_role", "unknown role %q %s", rc.DefaultRole, known)
	}
	if rc.OnConflict != reconcile.Adopt && rc.OnConflict != reconcile.Reject {
		errs.add("rules.on_conflict", "%q is not %q or %q", rc.OnConflict, reconcile.Adopt, reconcile.Reject)
	}
	if _, err := reconcile.ParseThreshold(string(rc.MaxDeactivations)); err != nil {
		errs.add("rules.max_deactivations", "%v", err)
	}
	for i, m := range c.Mappings {
		key := indexKey("mapping", i)
		if m.Group == "" {
			errs.add(key+".group", "required")
		}
		switch {
		case m.Role == "":
			errs.add(key+".role", "required")
		case !slices.Contains(rc.Roles, m.Role):
			errs.add(key+".role", "unknown role %q %s", m.Role, known)
		}
		if j := slices.Index(c.Mappings, m); j < i && m.Group != "" {
			errs.add(key, "duplicate mapping of group %q to role %q (also mapping[%d])", m.Group, m.Role, j)
		}
	}
}

func (c *Config) validateSources(errs *Errors) {
	for i := range c.Sources {
		s := &c.Sources[i]
		key := indexKey("source", i)
		switch j := slices.IndexFunc(c.Sources, func(o Source) bool { return o.Name == s.Name }); {
		case s.Name == "":
			errs.add(key+".name", "required")
		case !sourceName.MatchString(s.Name):
			errs.add(key+".name", "%q must be lowercase letters, digits, '-' and '_', starting with a letter or digit", s.Name)
		case s.Name == reconcile.Manual:
			errs.add(key+".name", "%q is reserved for the users added by hand", s.Name)
		case j < i:
			errs.add(key+".name", "duplicate source name %q (also source[%d])", s.Name, j)
		}
		settings := s.settings()
		switch {
		case s.Type == "":
			errs.add(key+".type", "required (want %s)", strings.Join(sourceTypes, ", "))
		case settings == nil:
			errs.add(key+".type", "unknown source type %q (want %s)", s.Type, strings.Join(sourceTypes, ", "))
		default:
			for _, err := range settings.Validate() {
				sub, msg, ok := strings.Cut(err.Error(), ": ")
				if !ok {
					sub, msg = "", err.Error()
				}
				errs.add(joinKey(key, sub), "%s", msg)
			}
		}
		if s.Schedule != "" {
			if _, err := ScheduleParser.Parse(s.Schedule); err != nil {
				errs.add(key+".schedule", "%q: %v", s.Schedule, err)
			}
		}
		if s.MaxDeactivations != "" {
			if _, err := reconcile.ParseThreshold(string(s.MaxDeactivations)); err != nil {
				errs.add(key+".max_deactivations", "%v", err)
			}
		}
	}
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
