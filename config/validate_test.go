package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/config"
)

func TestValid(t *testing.T) {
	valid := readValid(t)
	tests := []struct {
		name  string
		edits []string
	}{
		{"testdata/valid.toml", nil},
		{"listen on every interface", []string{`listen   = "127.0.0.1:8080"`, `listen = ":8080"`}},
		{"no default role", []string{`default_role      = "Viewer"`, `default_role = ""`}},
		{"reject", []string{`on_conflict       = "adopt"`, `on_conflict = "reject"`}},
		{"count as a string", []string{`max_deactivations = "10%"`, `max_deactivations = "25"`}},
		{"count as an integer", []string{`max_deactivations = "10%"`, `max_deactivations = 25`}},
		{"5-field cron", []string{`"@every 15m"`, `"*/5 * * * *"`}},
		{"6-field cron", []string{`"@every 15m"`, `"30 */5 * * * *"`}},
		{"CRON_TZ", []string{`"@every 15m"`, `"CRON_TZ=UTC 0 6 * * 1-5"`}},
		{"descriptor", []string{`"@every 15m"`, `"@hourly"`}},
		{"no schedule", []string{`schedule = "@every 15m"`, ``}},
		{"same group, two roles", []string{`group = "ph-csm"`, `group = "ph-admin"`}},
		{"mappings as inline tables", []string{
			"[[mapping]]\ngroup = \"ph-admin\"\nrole  = \"Admin\"\n\n[[mapping]]\ngroup = \"ph-csm\"\nrole  = \"CSM\"\n", "",
			`database = "idpsync.db"`, `database = "idpsync.db"
mapping = [{group = "ph-admin", role = "Admin"}, {group = "ph-csm", role = "CSM"}]`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parse(t, edit(t, valid, tt.edits...))
			if err := c.Validate(); err != nil {
				t.Errorf("Validate:\n%v", err)
			}
		})
	}
}

// TestValidate checks one bad value per case: the problem names the key
// path and the line of testdata/valid.toml it is on, or of the table a
// missing key belongs in.
func TestValidate(t *testing.T) {
	valid := readValid(t)
	tests := []struct {
		name  string
		edits []string
		key   string
		line  int
		msg   string
	}{
		{"listen not host:port", []string{`listen   = "127.0.0.1:8080"`, `listen = "localhost"`}, "listen", 1, `"localhost" is not host:port`},
		{"listen bad port", []string{`listen   = "127.0.0.1:8080"`, `listen = "127.0.0.1:99999"`}, "listen", 1, `port "99999" is not a number`},
		{"database empty", []string{`database = "idpsync.db"`, `database = ""`}, "database", 2, "required"},
		{"log level", []string{`level  = "info"`, `level = "loud"`}, "log.level", 5, `"loud" is not one of debug, info, warn, error`},
		{"log format", []string{`format = "text"`, `format = "xml"`}, "log.format", 6, `"xml" is not one of text, json`},
		{"no roles", []string{`["Admin", "CSM", "Viewer"]`, `[]`}, "rules.roles", 9, "at least one role"},
		{"empty role", []string{`"Viewer"]`, `"Viewer", ""]`}, "rules.roles[3]", 9, "empty role name"},
		{"duplicate role", []string{`"Viewer"]`, `"Viewer", "CSM"]`}, "rules.roles[3]", 9, `duplicate role "CSM" (also rules.roles[1])`},
		{"duplicate role on its own line", []string{`"Viewer"]`, "\"Viewer\",\n  \"CSM\"]"}, "rules.roles[3]", 10, `duplicate role "CSM"`},
		{"unknown default role", []string{`default_role      = "Viewer"`, `default_role = "Guest"`}, "rules.default_role", 10, `unknown role "Guest" (roles are "Admin", "CSM", "Viewer")`},
		{"on_conflict", []string{`on_conflict       = "adopt"`, `on_conflict = "merge"`}, "rules.on_conflict", 12, `"merge" is not "adopt" or "reject"`},
		{"max_deactivations not a number", []string{`max_deactivations = "10%"`, `max_deactivations = "ten"`}, "rules.max_deactivations", 13, `"ten" is neither a count`},
		{"max_deactivations over 100%", []string{`max_deactivations = "10%"`, `max_deactivations = "150%"`}, "rules.max_deactivations", 13, "not a percentage between"},
		{"max_deactivations negative", []string{`max_deactivations = "10%"`, `max_deactivations = -3`}, "rules.max_deactivations", 13, `"-3" is neither a count`},
		{"mapping without group", []string{`group = "ph-csm"`, `# no group`}, "mapping[1].group", 19, "required"},
		{"mapping without role", []string{`role  = "CSM"`, `# no role`}, "mapping[1].role", 19, "required"},
		{"mapping to unknown role", []string{`role  = "CSM"`, `role = "Owner"`}, "mapping[1].role", 21, `unknown role "Owner" (roles are "Admin", "CSM", "Viewer")`},
		{"duplicate mapping", []string{`group = "ph-csm"`, `group = "ph-admin"`, `role  = "CSM"`, `role = "Admin"`}, "mapping[1]", 19, `duplicate mapping of group "ph-admin" to role "Admin" (also mapping[0])`},
		{"source without name", []string{`name     = "hr"`, `# no name`}, "source[0].name", 23, "required"},
		{"source name with capitals", []string{`name     = "hr"`, `name = "HR"`}, "source[0].name", 24, `"HR" must be lowercase letters`},
		{"source name starting with -", []string{`name     = "hr"`, `name = "-hr"`}, "source[0].name", 24, `"-hr" must be lowercase letters`},
		{"source named manual", []string{`name     = "hr"`, `name = "manual"`}, "source[0].name", 24, `"manual" is reserved`},
		{"duplicate source name", []string{`name              = "ops"`, `name = "hr"`}, "source[1].name", 30, `duplicate source name "hr" (also source[0])`},
		{"source without type", []string{`type     = "file"`, `# no type`}, "source[0].type", 23, "required (want file, scim, okta, entra)"},
		{"unknown source type", []string{`type     = "file"`, `type = "ldap"`}, "source[0].type", 25, `unknown source type "ldap" (want file, scim, okta, entra)`},
		{"bad schedule", []string{`schedule = "@every 15m"`, `schedule = "every 15m"`}, "source[0].schedule", 27, `"every 15m": expected 5 to 6 fields`},
		{"bad @every", []string{`schedule = "@every 15m"`, `schedule = "@every fortnight"`}, "source[0].schedule", 27, `"@every fortnight"`},
		{"bad source max_deactivations", []string{`max_deactivations = 5`, `max_deactivations = "lots"`}, "source[1].max_deactivations", 35, `"lots" is neither a count`},
		{"file source without path", []string{`path     = "examples/directory.json"`, `# no path`}, "source[0].path", 23, "required"},
		{"file source format", []string{`format            = "csv"`, `format = "xml"`}, "source[1].format", 33, `"xml" is not "json" or "csv"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parse(t, edit(t, valid, tt.edits...))
			checkProblem(t, c.Validate(), tt.key, tt.line, tt.msg)
		})
	}
}

// TestParseErrors checks the problems Parse reports itself: syntax, types
// and unknown keys.
func TestParseErrors(t *testing.T) {
	valid := readValid(t)
	tests := []struct {
		name  string
		edits []string
		key   string
		line  int
		msg   string
	}{
		{"unknown top-level key", []string{`database = "idpsync.db"`, `databse = "idpsync.db"`}, "databse", 2, "unknown key (top-level keys are listen, database, log, rules, mapping, source, tls_cert, tls_key, webhook, ui)"},
		{"unknown table", []string{`[log]`, `[logging]`}, "logging", 4, "unknown key"},
		{"unknown dotted key", []string{`database = "idpsync.db"`, `logging.level = "info"`}, "logging", 2, "unknown key"},
		{"unknown key in [log]", []string{`level  = "info"`, `lvl = "info"`}, "log.lvl", 5, "unknown key ([log] keys are level, format)"},
		{"unknown key in [rules]", []string{`single_role       = false`, `single_roles = false`}, "rules.single_roles", 11, "unknown key ([rules] keys are roles, default_role"},
		{"unknown key in a mapping", []string{`group = "ph-csm"`, `grop = "ph-csm"`}, "mapping[1].grop", 20, "unknown key ([[mapping]] keys are group, role)"},
		{"unknown key in a file source", []string{`path     = "examples/directory.json"`, `pth = "examples/directory.json"`}, "source[0].pth", 26, `unknown key ("file" source keys are name, type, schedule, enabled, max_deactivations, path, format)`},
		{"inline mapping under [rules]", []string{`single_role       = false`, `mapping = [{group = "g", role = "Admin"}]`}, "rules.mapping", 11, "unknown key ([rules] keys are"},
		{"unknown key in an inline mapping", []string{
			"[[mapping]]\ngroup = \"ph-admin\"\nrole  = \"Admin\"\n\n[[mapping]]\ngroup = \"ph-csm\"\nrole  = \"CSM\"\n", "",
			`database = "idpsync.db"`, "database = \"idpsync.db\"\nmapping = [\n  {group = \"g\", role = \"Admin\"},\n  {group = \"h\", rol = \"CSM\"},\n]",
		}, "mapping[1].rol", 5, "unknown key ([[mapping]] keys are group, role)"},
		{"unknown sub-table of a source", []string{`enabled           = false`, `[source.extra]`}, "source[1].extra", 34, "unknown key"},
		{"unknown key in an inline table", []string{`enabled           = false`, `extra = {enabled = false}`}, "source[1].extra", 34, "unknown key"},
		{"wrong type", []string{`single_role       = false`, `single_role = "no"`}, "rules.single_role", 11, "cannot decode TOML string"},
		{"wrong type in a mapping", []string{`group = "ph-csm"`, `group = 5`}, "mapping[1].group", 20, "cannot decode TOML integer"},
		{"wrong type for a file source", []string{`path              = "/srv/export"`, `path = 5`}, "source[1].path", 32, "cannot decode TOML integer"},
		{"duplicate key", []string{`database = "idpsync.db"`, `listen = "0.0.0.0:80"`}, "listen", 2, "already defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse(strings.NewReader(edit(t, valid, tt.edits...)))
			checkProblem(t, err, tt.key, tt.line, tt.msg)
		})
	}

	t.Run("syntax error", func(t *testing.T) {
		_, err := config.Parse(strings.NewReader(edit(t, valid, "[log]", "[log")))
		var errs config.Errors
		if !errors.As(err, &errs) || len(errs) != 1 {
			t.Fatalf("Parse = %v, want one problem", err)
		}
		if e := errs[0]; e.Line != 4 || e.Column != 5 || !strings.HasPrefix(err.Error(), "line 4:5: ") {
			t.Errorf("got %+v (%q), want line 4, column 5", e, err)
		}
	})
	t.Run("no repeat under an unknown table", func(t *testing.T) {
		_, err := config.Parse(strings.NewReader(edit(t, valid, `[log]`, `[logging]`)))
		if strings.Contains(err.Error(), "logging.level") {
			t.Errorf("the keys of an unknown table are reported too:\n%v", err)
		}
	})
}

func TestEveryProblemAtOnce(t *testing.T) {
	valid := readValid(t)
	t.Run("Validate", func(t *testing.T) {
		c := parse(t, edit(t, valid,
			`level  = "info"`, `level = "loud"`,
			`role  = "CSM"`, `role = "Owner"`,
			`type     = "file"`, `type = "ldap"`,
			`format            = "csv"`, `format = "xml"`,
		))
		err := c.Validate()
		want := strings.Join([]string{
			`line 5: log.level: "loud" is not one of debug, info, warn, error`,
			`line 21: mapping[1].role: unknown role "Owner" (roles are "Admin", "CSM", "Viewer")`,
			`line 25: source[0].type: unknown source type "ldap" (want file, scim, okta, entra)`,
			`line 33: source[1].format: "xml" is not "json" or "csv"`,
		}, "\n")
		if err == nil || err.Error() != want {
			t.Errorf("Validate() =\n%v\nwant\n%s", err, want)
		}
	})
	t.Run("Parse", func(t *testing.T) {
		_, err := config.Parse(strings.NewReader(edit(t, valid,
			`database = "idpsync.db"`, `databse = "idpsync.db"`,
			`group = "ph-csm"`, `grop = "ph-csm"`,
			`format            = "csv"`, `fromat = "csv"`,
		)))
		var errs config.Errors
		if !errors.As(err, &errs) {
			t.Fatalf("Parse = %v, want config.Errors", err)
		}
		var got []string
		for _, e := range errs {
			got = append(got, e.Key)
		}
		if want := "databse mapping[1].grop source[1].fromat"; strings.Join(got, " ") != want {
			t.Errorf("problems with %q, want %q:\n%v", got, want, err)
		}
	})
}
