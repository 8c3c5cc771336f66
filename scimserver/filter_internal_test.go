package scimserver

import (
	"reflect"
	"testing"

	filter "github.com/scim2/filter-parser/v2"
)

// The fast paths return exactly what the filter parser returns.
func TestFastPathsMatchTheParser(t *testing.T) {
	for _, f := range []string{
		`userName eq "isabella@example.com"`,
		`externalId Eq "00ujl29u0le5T6Aj10h7"`,
		`displayName eq "Sales & Marketing (EMEA)"`,
		`name.familyName sw "O'Ma"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`members.$ref co "Users"`,
		`userName eq ""`,
	} {
		fast, ok := parseSimple(f)
		if !ok {
			t.Errorf("%s: no fast path", f)
			continue
		}
		slow, err := filter.ParseFilterNumber([]byte(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: fast path %#v, parser %#v", f, fast, slow)
		}
	}
	for _, p := range []string{
		"userName", "name.givenName", "$ref", "x509Certificates", "phone-number_2",
		"urn:ietf:params:scim:schemas:core:2.0:User:userName",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.$ref",
	} {
		fast, ok := simpleAttrPath(p)
		if !ok {
			t.Errorf("%s: no fast path", p)
			continue
		}
		slow, err := filter.ParsePathNumber([]byte(p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if got := (filter.Path{AttributePath: fast}); !reflect.DeepEqual(got, slow) {
			t.Errorf("%s: fast path %#v, parser %#v", p, got, slow)
		}
	}
	// Not simple: left to the parser.
	for _, f := range []string{`userName eq "a" or userName eq "b"`, `title pr`, `x eq 1`, `emails[type eq "work"]`, `a.b.c eq "x"`, `9a eq "x"`} {
		if _, ok := parseSimple(f); ok {
			t.Errorf("%s took the fast path", f)
		}
	}
	for _, p := range []string{`emails[type eq "work"].value`, "a.b.c", "9a", "", "urn::x", "name."} {
		if _, ok := simpleAttrPath(p); ok {
			t.Errorf("%q took the fast path", p)
		}
	}
}

func BenchmarkParseFilterUserName(b *testing.B) {
	for b.Loop() {
		if _, err := ParseFilter(`userName eq "isabella@example.com"`); err != nil {
			b.Fatal(err)
		}
	}
}
