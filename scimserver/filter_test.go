package scimserver_test

import (
	"fmt"
	"net/http"
	"testing"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/idpsync/idpsync/scimserver"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		name, filter, want string // want: the parsed filter, printed
	}{
		{"Okta lookup", `userName eq "isabella@example.com"`, `userName eq "isabella@example.com"`},
		{"Entra test connection", `userName eq "0c2f1d4b-7b7c-4bb7-97a5-43e1c0d0b5a3"`, `userName eq "0c2f1d4b-7b7c-4bb7-97a5-43e1c0d0b5a3"`},
		{"Entra unquoted externalId", `externalId eq jyoung`, `externalId eq "jyoung"`},
		{"Microsoft unquoted sw", `userName sw O`, `userName sw "O"`},
		{"Microsoft unquoted date", `meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, `meta.Created gt "2015-10-10T14:38:21.8617979-07:00"`},
		{"Microsoft mixed case and grouping", `name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
			`name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org")`},
		{"Microsoft DisplayName", `DisplayName eq "BobIsAmazing"`, `DisplayName eq "BobIsAmazing"`},
		{"Entra email matching filter", `emails[type eq "work"].value eq "jo@contoso.com"`, `emails[type eq "work" and value eq "jo@contoso.com"]`},
		{"email matching filter, unquoted", `emails[type eq work].value eq jo@contoso.com`, `emails[type eq "work" and value eq "jo@contoso.com"]`},
		{"sub-attribute of a value path, pr", `emails[type eq "work"].value pr and active eq true`, `emails[type eq "work" and value pr] and active eq true`},
		{"Entra group lookup", `displayName eq "Sales & Marketing"`, `displayName eq "Sales & Marketing"`},
		{"Entra manager check", `id eq "u1" and manager eq "m1"`, `id eq "u1" and manager eq "m1"`},
		{"URN-qualified", `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`,
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`},
		{"operators and literals in any case", `active EQ TRUE AND title PR`, `active eq true and title pr`},
		{"not", `not (userName eq "a") or userName ne "b"`, `not(userName eq "a") or userName ne "b"`},
		{"numbers stay numbers", `x gt 42`, `x gt 42`},
		{"null", `title eq null`, `title eq`},
		{"escaped quote decoded", `displayName eq "a \"b\" c"`, `displayName eq "a \"b\" c"`},
		{"spaces around", `  userName eq "a"  `, `userName eq "a"`},
		{"a bare value that is an operator word", `title eq and`, `title eq "and"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expr, err := scimserver.ParseFilter(tt.filter)
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tt.filter, err)
			}
			if got := fmt.Sprint(expr); got != tt.want {
				t.Errorf("ParseFilter(%q) = %s, want %s", tt.filter, got, tt.want)
			}
		})
	}
	bad := []string{
		``, `userName`, `userName eq`, `userName zz "a"`, `(userName eq "a"`, `userName eq "a" and`,
		`emails[type eq "work"`, `userName eq "unterminated`, `"a" eq userName`, `userName eq "a" extra`,
	}
	for _, f := range bad {
		t.Run("invalid "+f, func(t *testing.T) {
			_, err := scimserver.ParseFilter(f)
			wantError(t, err, http.StatusBadRequest, scimserver.ScimInvalidFilter)
		})
	}
}

func TestParseFilterDecodesEscapes(t *testing.T) {
	expr, err := scimserver.ParseFilter(`displayName eq "say \"hi\" \\ \u0041"`)
	if err != nil {
		t.Fatal(err)
	}
	got := expr.(*filter.AttributeExpression).CompareValue
	if want := `say "hi" \ A`; got != want {
		t.Errorf("CompareValue = %q, want %q", got, want)
	}
}

// msUser is the user Microsoft's collection filters ("User tests with
// garbage"), normalized.
const msUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	"id": "u1",
	"externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52",
	"userName": "OMalley",
	"active": true,
	"displayName": "Kimberly Baker",
	"emails": [{"type": "work", "primary": true, "value": "anna33@example.com"}, {"type": "other", "primary": false, "value": "anna33@gmail.com"}],
	"name": {"formatted": "Daniel Mcgee", "familyName": "Employee", "givenName": "Darl"},
	"phoneNumbers": [{"type": "mobile", "value": "312-320-1707"}],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "some department", "manager": {"value": "m1"}},
	"meta": {"resourceType": "User", "created": "2019-09-18T18:15:26.5788954+00:00", "lastModified": "2019-09-18T18:15:26.5788976+00:00"},
	"score": 7
}`

func TestMatches(t *testing.T) {
	res := obj(t, msUser)
	tests := []struct {
		filter string
		want   bool
	}{
		{`userName eq "OMalley"`, true},
		{`userName eq "omalley"`, true}, // userName is not case-exact (Okta's case test)
		{`USERNAME eq "OMALLEY"`, true},
		{`userName ne "omalley"`, false},
		{`externalId eq "22FBC523-6032-4C5F-939D-5D4850CF3E52"`, false}, // externalId is case-exact
		{`externalId eq 22fbc523-6032-4c5f-939d-5d4850cf3e52`, true},
		{`id eq "U1"`, false},
		{`userName sw O`, true},
		{`userName sw "x"`, false},
		{`userName ew "ALLEY"`, true},
		{`userName co "mal"`, true},
		{`displayName eq "Kimberly Baker"`, true},
		{`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`, true},
		{`name.familyName eq "Employee" and emails.value co "example.org"`, false},
		{`emails co "gmail"`, true}, // a multi-valued complex attribute compares its value
		{`emails.value ew ".com"`, true},
		{`emails.type eq "home"`, false},
		{`emails[type eq "work" and value co "example"]`, true},
		{`emails[type eq "other" and value co "example"]`, false},
		{`emails[type eq "work"].value eq "anna33@example.com"`, true},
		{`emails[type eq "other"].value eq "anna33@example.com"`, false},
		{`emails[not (primary eq true)]`, true},
		{`emails[type eq work]`, true},
		{`phoneNumbers[type eq "mobile"]`, true},
		{`phoneNumbers[type eq "fax"]`, false},
		{`emails.primary eq true`, true},
		{`active eq true`, true},
		{`active eq false`, false},
		{`active eq "True"`, true},
		{`active gt false`, false},
		{`title pr`, false},
		{`not (title pr)`, true},
		{`name pr`, true},
		{`title eq null`, true},
		{`userName eq null`, false},
		{`title ne "x"`, true}, // ne holds for an absent attribute
		{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, true},
		{`meta.created lt "2019-09-18T18:15:26Z"`, false},
		{`meta.created ge "2019-09-18T18:15:26.5788954Z"`, true},
		{`meta.lastModified gt "2019-09-18T19:00:00+01:00"`, true}, // 18:00Z: compared as times, not strings
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "SOME DEPARTMENT"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "omalley"`, true},
		{`id eq "u1" and manager eq "m1"`, true}, // Entra's manager check: a bare extension attribute
		{`department eq "some department"`, true},
		{`manager eq "m2"`, false},
		{`score gt 5`, true},
		{`score le 5`, false},
		{`score eq 7.0`, true},
		{`userName gt "N" and userName lt "P"`, true},
		{`userName eq "x" or (displayName sw "kim" and not (active eq false))`, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			expr, err := scimserver.ParseFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := scimserver.Matches(res, expr, scimserver.UserSchema.CaseExact); got != tt.want {
				t.Errorf("Matches(%s) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestMatchesNilCaseExactIsCaseInsensitive(t *testing.T) {
	expr, err := scimserver.ParseFilter(`externalId eq "ABC"`)
	if err != nil {
		t.Fatal(err)
	}
	if !scimserver.Matches(map[string]any{"externalId": "abc"}, expr, nil) {
		t.Error("nil caseExact compared case-sensitively")
	}
}
