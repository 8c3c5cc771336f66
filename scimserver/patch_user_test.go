package scimserver_test

import (
	"net/http"
	"testing"

	"github.com/idpsync/idpsync/scimserver"
)

// entraUser is a user as Entra creates it (after NormalizeUser, plus id and
// meta).
const entraUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
	"id": "u1",
	"externalId": "jyoung",
	"userName": "jyoung@contoso.com",
	"active": true,
	"displayName": "Jo Young",
	"emails": [{"primary": true, "type": "work", "value": "jyoung@contoso.com"}],
	"name": {"formatted": "Jo Young", "familyName": "Young", "givenName": "Jo"},
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
	"meta": {"resourceType": "User", "created": "2026-01-02T03:04:05Z", "lastModified": "2026-01-02T03:04:05Z", "version": "W/\"1\""}
}`

// bareUser has no emails, phones, addresses or extension.
const bareUser = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
	"id": "u2",
	"userName": "bare@contoso.com",
	"active": true
}`

// patchBody wraps operations in a PatchOp message.
func patchBody(ops string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + ops + `]}`
}

// withUser returns base with the given changes applied: a test states only
// what a PATCH changes.
func withUser(t *testing.T, base string, change func(m map[string]any)) string {
	t.Helper()
	m := obj(t, base)
	change(m)
	return canonical(t, m)
}

func TestApplyUserPatch(t *testing.T) {
	enterprise := "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	tests := []struct {
		name string
		base string // entraUser when empty
		body string
		want func(m map[string]any) // the change expected, applied to base
	}{
		{
			name: "Entra single-valued Replace userName (capitalised op)",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"userName","value":"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}`,
			want: func(m map[string]any) { m["userName"] = "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" },
		},
		{
			name: "Entra disable with boolean (aadOptscim062020)",
			body: `{"Operations":[{"op":"Replace","path":"active","value":false}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`,
			want: func(m map[string]any) { m["active"] = false },
		},
		{
			name: `Entra disable with the string "False"`,
			body: patchBody(`{"op":"Replace","path":"active","value":"False"}`),
			want: func(m map[string]any) { m["active"] = false },
		},
		{
			name: `Entra enable with the string "True"`,
			base: withUser(t, entraUser, func(m map[string]any) { m["active"] = false }),
			body: patchBody(`{"op":"Replace","path":"active","value":"True"}`),
			want: func(m map[string]any) { m["active"] = true },
		},
		{
			name: "Okta deactivate: path-less replace",
			body: patchBody(`{"op":"replace","value":{"active":false}}`),
			want: func(m map[string]any) { m["active"] = false },
		},
		{
			name: "op in upper case",
			body: patchBody(`{"op":"REPLACE","path":"displayName","value":"J. Young"}`),
			want: func(m map[string]any) { m["displayName"] = "J. Young" },
		},
		{
			name: "Entra path-less replace with dotted and URN-qualified keys",
			body: patchBody(`{"op":"replace","value":{
				"displayName":"Pvlo","name.givenName":"Peter","name.familyName":"Wiesenbart",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Employee ID",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"Tour Operations"}}`),
			want: func(m map[string]any) {
				m["displayName"] = "Pvlo"
				m["name"] = map[string]any{"formatted": "Jo Young", "givenName": "Peter", "familyName": "Wiesenbart"}
				m[enterprise] = map[string]any{"department": "Tour Operations", "employeeNumber": "Employee ID"}
			},
		},
		{
			name: "path-less add with a nested extension object and a core-URN key",
			body: patchBody(`{"op":"add","value":{
				"urn:ietf:params:scim:schemas:core:2.0:User:title":"Engineer",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":"4130"}}}`),
			want: func(m map[string]any) {
				m["title"] = "Engineer"
				m[enterprise] = map[string]any{"department": "Sales", "costCenter": "4130"}
			},
		},
		{
			name: "path-less replace of a complex attribute keeps the sub-attributes not given",
			body: patchBody(`{"op":"replace","value":{"name":{"givenName":"Joanna"}}}`),
			want: func(m map[string]any) {
				m["name"] = map[string]any{"formatted": "Jo Young", "givenName": "Joanna", "familyName": "Young"}
			},
		},
		{
			name: "path-less replace ignores read-only and unknown keys",
			body: patchBody(`{"op":"replace","value":{"id":"other","meta":{"created":"x"},"groups":[],"nonsense":1,"title":"CTO"}}`),
			want: func(m map[string]any) { m["title"] = "CTO" },
		},
		{
			name: "Entra multi-valued Replace emails[type eq work].value and name.familyName",
			body: patchBody(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"updatedEmail@microsoft.com"},
				{"op":"Replace","path":"name.familyName","value":"updatedFamilyName"}`),
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"primary": true, "type": "work", "value": "updatedEmail@microsoft.com"}}
				m["name"] = map[string]any{"formatted": "Jo Young", "givenName": "Jo", "familyName": "updatedFamilyName"}
			},
		},
		{
			name: "Add emails[type eq work].value creates the email when there is none",
			base: bareUser,
			body: patchBody(`{"op":"Add","path":"emails[type eq \"work\"].value","value":"someone@contoso.com"}`),
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"type": "work", "value": "someone@contoso.com"}}
			},
		},
		{
			name: "Replace emails[type eq work].value creates it too",
			base: bareUser,
			body: patchBody(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"someone@contoso.com"}`),
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"type": "work", "value": "someone@contoso.com"}}
			},
		},
		{
			name: "emails[type eq other].Value with a capital V adds an other email",
			body: patchBody(`{"op":"Add","path":"emails[type eq \"other\"].Value","value":"jo@example.org"}`),
			want: func(m map[string]any) {
				m["emails"] = []any{
					map[string]any{"primary": true, "type": "work", "value": "jyoung@contoso.com"},
					map[string]any{"type": "other", "value": "jo@example.org"},
				}
			},
		},
		{
			name: "Entra unquoted filter value in a path",
			body: patchBody(`{"op":"Replace","path":"emails[type eq work].value","value":"new@contoso.com"}`),
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"primary": true, "type": "work", "value": "new@contoso.com"}}
			},
		},
		{
			name: "filter values compare case-insensitively",
			body: patchBody(`{"op":"Replace","path":"emails[type eq \"WORK\"].value","value":"new@contoso.com"}`),
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"primary": true, "type": "work", "value": "new@contoso.com"}}
			},
		},
		{
			name: "Entra phone numbers by type",
			base: bareUser,
			body: patchBody(`{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0100"},
				{"op":"Add","path":"phoneNumbers[type eq \"work\"].value","value":"+1 555 0101"},
				{"op":"Add","path":"phoneNumbers[type eq \"fax\"].value","value":"+1 555 0102"}`),
			want: func(m map[string]any) {
				m["phoneNumbers"] = []any{
					map[string]any{"type": "mobile", "value": "+1 555 0100"},
					map[string]any{"type": "work", "value": "+1 555 0101"},
					map[string]any{"type": "fax", "value": "+1 555 0102"},
				}
			},
		},
		{
			name: "Entra work address sub-attributes",
			base: bareUser,
			body: patchBody(`{"op":"Add","path":"addresses[type eq \"work\"].streetAddress","value":"1 Main St"},
				{"op":"Add","path":"addresses[type eq \"work\"].postalCode","value":"98052"},
				{"op":"Replace","path":"addresses[type eq \"work\"].formatted","value":"1 Main St, Redmond 98052"}`),
			want: func(m map[string]any) {
				m["addresses"] = []any{map[string]any{"type": "work", "streetAddress": "1 Main St",
					"postalCode": "98052", "formatted": "1 Main St, Redmond 98052"}}
			},
		},
		{
			name: "Entra enterprise URN paths: department and employeeNumber",
			body: patchBody(`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Marketing"},
				{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"701984"}`),
			want: func(m map[string]any) {
				m[enterprise] = map[string]any{"department": "Marketing", "employeeNumber": "701984"}
			},
		},
		{
			name: "enterprise attribute on a user without the extension adds its schema",
			base: bareUser,
			body: patchBody(`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"}`),
			want: func(m map[string]any) {
				m[enterprise] = map[string]any{"department": "Sales"}
				m["schemas"] = []any{"urn:ietf:params:scim:schemas:core:2.0:User", enterprise}
			},
		},
		{
			name: "Entra manager: Add path manager with an array value",
			body: patchBody(`{"op":"Add","path":"manager","value":[{"$ref":"https://host/scim/v2/Users/m1","value":"m1"}]}`),
			want: func(m map[string]any) {
				m[enterprise] = map[string]any{"department": "Sales",
					"manager": map[string]any{"value": "m1", "$ref": "https://host/scim/v2/Users/m1"}}
			},
		},
		{
			name: "Entra manager: URN path with a plain string id",
			body: patchBody(`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m2"}`),
			want: func(m map[string]any) {
				m[enterprise] = map[string]any{"department": "Sales", "manager": map[string]any{"value": "m2"}}
			},
		},
		{
			name: "manager: {value: id}",
			body: patchBody(`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"Value":"m3"}}`),
			want: func(m map[string]any) {
				m[enterprise] = map[string]any{"department": "Sales", "manager": map[string]any{"value": "m3"}}
			},
		},
		{
			name: "manager.value path",
			body: patchBody(`{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"m4"}`),
			want: func(m map[string]any) {
				m[enterprise] = map[string]any{"department": "Sales", "manager": map[string]any{"value": "m4"}}
			},
		},
		{
			name: "Entra manager removal: Replace with an empty value",
			base: withUser(t, entraUser, func(m map[string]any) {
				m[enterprise] = map[string]any{"manager": map[string]any{"value": "m1"}}
			}),
			body: patchBody(`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":""}`),
			want: func(m map[string]any) { delete(m, enterprise) },
		},
		{
			name: "manager removal with an empty id inside",
			base: withUser(t, entraUser, func(m map[string]any) {
				m[enterprise] = map[string]any{"department": "Sales", "manager": map[string]any{"value": "m1"}}
			}),
			body: patchBody(`{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":[{"value":""}]}`),
			want: func(m map[string]any) { m[enterprise] = map[string]any{"department": "Sales"} },
		},
		{
			name: "remove the whole extension by its URN",
			body: patchBody(`{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"}`),
			want: func(m map[string]any) { delete(m, enterprise) },
		},
		{
			name: "add to the extension by its URN",
			body: patchBody(`{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"division":"EMEA"}}`),
			want: func(m map[string]any) {
				m[enterprise] = map[string]any{"department": "Sales", "division": "EMEA"}
			},
		},
		{
			name: "core-URN-qualified path",
			body: patchBody(`{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:userName","value":"jo@contoso.com"}`),
			want: func(m map[string]any) { m["userName"] = "jo@contoso.com" },
		},
		{
			name: "mixed-case attribute names keep the resource's keys",
			body: patchBody(`{"op":"replace","path":"Name.GivenName","value":"Joanna"},{"op":"replace","path":"DISPLAYNAME","value":"Joanna Young"}`),
			want: func(m map[string]any) {
				m["name"] = map[string]any{"formatted": "Jo Young", "givenName": "Joanna", "familyName": "Young"}
				m["displayName"] = "Joanna Young"
			},
		},
		{
			name: "new keys get the canonical case",
			base: bareUser,
			body: patchBody(`{"op":"add","path":"NICKNAME","value":"Jo"},{"op":"add","path":"name.GIVENNAME","value":"Jo"}`),
			want: func(m map[string]any) {
				m["nickName"] = "Jo"
				m["name"] = map[string]any{"givenName": "Jo"}
			},
		},
		{
			name: "Entra null update test: empty string clears",
			base: withUser(t, entraUser, func(m map[string]any) { m["title"] = "Boss" }),
			body: patchBody(`{"op":"replace","path":"title","value":""}`),
			want: func(m map[string]any) { delete(m, "title") },
		},
		{
			name: "Entra null update test: null clears",
			base: withUser(t, entraUser, func(m map[string]any) { m["title"] = "Boss" }),
			body: patchBody(`{"op":"replace","path":"title","value":null}`),
			want: func(m map[string]any) { delete(m, "title") },
		},
		{
			name: "empty value on a value path clears the email",
			body: patchBody(`{"op":"Replace","path":"emails[type eq \"work\"].value","value":""}`),
			want: func(m map[string]any) { delete(m, "emails") },
		},
		{
			name: "empty sub-attribute clears just it",
			body: patchBody(`{"op":"Replace","path":"name.givenName","value":""}`),
			want: func(m map[string]any) {
				m["name"] = map[string]any{"formatted": "Jo Young", "familyName": "Young"}
			},
		},
		{
			name: "remove emails[type eq work] removes only the work email",
			base: withUser(t, entraUser, func(m map[string]any) {
				m["emails"] = []any{
					map[string]any{"type": "work", "value": "w@contoso.com"},
					map[string]any{"type": "home", "value": "h@example.org"},
				}
			}),
			body: patchBody(`{"op":"remove","path":"emails[type eq \"work\"]"}`),
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"type": "home", "value": "h@example.org"}}
			},
		},
		{
			name: "remove emails[type eq work].value drops the emptied email",
			body: patchBody(`{"op":"remove","path":"emails[type eq \"work\"].value"}`),
			want: func(m map[string]any) { delete(m, "emails") },
		},
		{
			name: "removing a missing attribute is fine",
			body: patchBody(`{"op":"remove","path":"title"},{"op":"remove","path":"phoneNumbers[type eq \"fax\"]"},{"op":"remove","path":"name.middleName"}`),
			want: func(m map[string]any) {},
		},
		{
			name: "add emails appends a new type",
			body: patchBody(`{"op":"add","path":"emails","value":[{"type":"home","value":"jo@example.org"}]}`),
			want: func(m map[string]any) {
				m["emails"] = []any{
					map[string]any{"primary": true, "type": "work", "value": "jyoung@contoso.com"},
					map[string]any{"type": "home", "value": "jo@example.org"},
				}
			},
		},
		{
			name: "add emails with a type already present replaces that email",
			body: patchBody(`{"op":"add","path":"emails","value":[{"type":"Work","value":"jo@contoso.com"}]}`),
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"primary": true, "type": "Work", "value": "jo@contoso.com"}}
			},
		},
		{
			name: "a new primary email makes the others not primary",
			body: patchBody(`{"op":"add","path":"emails","value":[{"type":"home","value":"jo@example.org","primary":"True"}]}`),
			want: func(m map[string]any) {
				m["emails"] = []any{
					map[string]any{"primary": false, "type": "work", "value": "jyoung@contoso.com"},
					map[string]any{"type": "home", "value": "jo@example.org", "primary": true},
				}
			},
		},
		{
			name: "primary set through a value path",
			base: withUser(t, entraUser, func(m map[string]any) {
				m["emails"] = []any{
					map[string]any{"type": "work", "value": "w@contoso.com", "primary": true},
					map[string]any{"type": "home", "value": "h@example.org"},
				}
			}),
			body: patchBody(`{"op":"replace","path":"emails[type eq \"home\"].primary","value":true}`),
			want: func(m map[string]any) {
				m["emails"] = []any{
					map[string]any{"type": "work", "value": "w@contoso.com", "primary": false},
					map[string]any{"type": "home", "value": "h@example.org", "primary": true},
				}
			},
		},
		{
			name: "replace emails wholesale",
			body: patchBody(`{"op":"replace","path":"emails","value":[{"type":"home","value":"h@example.org"}]}`),
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"type": "home", "value": "h@example.org"}}
			},
		},
		{
			name: "replace emails with [] clears them",
			body: patchBody(`{"op":"replace","path":"emails","value":[]}`),
			want: func(m map[string]any) { delete(m, "emails") },
		},
		{
			name: "a value path with two conditions creates from both",
			base: bareUser,
			body: patchBody(`{"op":"add","path":"emails[type eq \"work\" and primary eq true].value","value":"w@contoso.com"}`),
			want: func(m map[string]any) {
				m["emails"] = []any{map[string]any{"type": "work", "primary": true, "value": "w@contoso.com"}}
			},
		},
		{
			name: "emails.value without a filter on a user with no emails",
			base: bareUser,
			body: patchBody(`{"op":"add","path":"emails.value","value":"b@contoso.com"}`),
			want: func(m map[string]any) { m["emails"] = []any{map[string]any{"value": "b@contoso.com"}} },
		},
		{
			name: "the password is accepted and not stored",
			body: patchBody(`{"op":"replace","path":"password","value":"hunter2"},{"op":"replace","value":{"password":"hunter3"}}`),
			want: func(m map[string]any) {},
		},
		{
			name: "several Entra operations in one request",
			base: bareUser,
			body: patchBody(`{"op":"Add","path":"displayName","value":"Bare User"},
				{"op":"Add","path":"emails[type eq \"work\"].value","value":"bare@contoso.com"},
				{"op":"Add","path":"name.givenName","value":"Bare"},
				{"op":"Add","path":"name.familyName","value":"User"},
				{"op":"Add","path":"externalId","value":"bare"},
				{"op":"Replace","path":"active","value":"False"}`),
			want: func(m map[string]any) {
				m["displayName"] = "Bare User"
				m["emails"] = []any{map[string]any{"type": "work", "value": "bare@contoso.com"}}
				m["name"] = map[string]any{"givenName": "Bare", "familyName": "User"}
				m["externalId"] = "bare"
				m["active"] = false
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = entraUser
			}
			ops, err := scimserver.ParsePatch([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			res := obj(t, base)
			if err := scimserver.ApplyUserPatch(res, ops); err != nil {
				t.Fatalf("ApplyUserPatch: %v", err)
			}
			sameJSON(t, res, withUser(t, base, tt.want))
		})
	}
}

func TestApplyUserPatchErrors(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		status   int
		scimType string
	}{
		{"unknown attribute", patchBody(`{"op":"replace","path":"garbage","value":"x"}`), http.StatusBadRequest, scimserver.ScimInvalidPath},
		{"unknown sub-attribute", patchBody(`{"op":"replace","path":"name.garbage","value":"x"}`), http.StatusBadRequest, scimserver.ScimInvalidPath},
		{"unknown sub-attribute after a filter", patchBody(`{"op":"replace","path":"emails[type eq \"work\"].garbage","value":"x"}`), http.StatusBadRequest, scimserver.ScimInvalidPath},
		{"unknown schema URN", patchBody(`{"op":"replace","path":"urn:example:params:scim:schemas:extension:Custom:2.0:User:attr","value":"x"}`), http.StatusBadRequest, scimserver.ScimInvalidPath},
		{"sub-attribute of a simple attribute", patchBody(`{"op":"replace","path":"userName.first","value":"x"}`), http.StatusBadRequest, scimserver.ScimInvalidPath},
		{"filter on a single-valued attribute", patchBody(`{"op":"replace","path":"name[givenName eq \"x\"].familyName","value":"x"}`), http.StatusBadRequest, scimserver.ScimInvalidPath},
		{"remove without a path", patchBody(`{"op":"remove"}`), http.StatusBadRequest, scimserver.ScimNoTarget},
		{"read-only id", patchBody(`{"op":"replace","path":"id","value":"x"}`), http.StatusBadRequest, scimserver.ScimMutability},
		{"read-only meta sub-attribute", patchBody(`{"op":"replace","path":"meta.created","value":"x"}`), http.StatusBadRequest, scimserver.ScimMutability},
		{"read-only groups", patchBody(`{"op":"add","path":"groups","value":[{"value":"g1"}]}`), http.StatusBadRequest, scimserver.ScimMutability},
		{"clearing userName", patchBody(`{"op":"replace","path":"userName","value":""}`), http.StatusBadRequest, scimserver.ScimInvalidValue},
		{"removing userName", patchBody(`{"op":"remove","path":"userName"}`), http.StatusBadRequest, scimserver.ScimInvalidValue},
		{"active neither boolean nor True/False", patchBody(`{"op":"replace","path":"active","value":"yes"}`), http.StatusBadRequest, scimserver.ScimInvalidValue},
		{"path-less value not an object", patchBody(`{"op":"replace","value":"x"}`), http.StatusBadRequest, scimserver.ScimInvalidValue},
		{"complex attribute given a string", patchBody(`{"op":"replace","path":"name","value":"Jo Young"}`), http.StatusBadRequest, scimserver.ScimInvalidValue},
		{"string attribute given an object", patchBody(`{"op":"replace","path":"title","value":{"a":1}}`), http.StatusBadRequest, scimserver.ScimInvalidValue},
		{"two managers", patchBody(`{"op":"add","path":"manager","value":[{"value":"a"},{"value":"b"}]}`), http.StatusBadRequest, scimserver.ScimInvalidValue},
		{"filter that cannot create a value", patchBody(`{"op":"add","path":"emails[type eq \"other\" or type eq \"home\"].value","value":"x@y"}`), http.StatusBadRequest, scimserver.ScimNoTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := scimserver.ParsePatch([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			res := obj(t, entraUser)
			err = scimserver.ApplyUserPatch(res, ops)
			wantError(t, err, tt.status, tt.scimType)
			sameJSON(t, res, entraUser) // all or nothing
		})
	}
}

// A PATCH whose last operation fails changes nothing, even what the earlier
// ones changed inside nested values.
func TestApplyUserPatchIsAtomic(t *testing.T) {
	res := obj(t, entraUser)
	ops, err := scimserver.ParsePatch([]byte(patchBody(`
		{"op":"replace","path":"emails[type eq \"work\"].value","value":"changed@contoso.com"},
		{"op":"replace","path":"name.givenName","value":"Changed"},
		{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Changed"},
		{"op":"replace","path":"garbage","value":"x"}`)))
	if err != nil {
		t.Fatal(err)
	}
	err = scimserver.ApplyUserPatch(res, ops)
	wantError(t, err, http.StatusBadRequest, scimserver.ScimInvalidPath)
	sameJSON(t, res, entraUser)
}
