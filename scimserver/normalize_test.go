package scimserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/scimserver"
)

func TestNormalizeUser(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{
			name: "Entra create with nulls, meta and roles []",
			body: `{
				"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
				"userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
				"active": true,
				"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
				"meta": {"resourceType": "User"},
				"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
				"roles": [],
				"addresses": null, "phoneNumbers": null, "title": null,
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": null, "department": null}
			}`,
			want: `{
				"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
				"userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com",
				"active": true,
				"emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
				"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"}
			}`,
		},
		{
			name: "Okta create: password and groups dropped",
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"isabella@example.com",
				"name":{"givenName":"Isabella","familyName":"Ortiz"},
				"emails":[{"primary":true,"value":"isabella@example.com","type":"work"}],
				"displayName":"Isabella Ortiz","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7",
				"groups":[],"password":"1mz050nq","active":true}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"isabella@example.com",
				"name":{"givenName":"Isabella","familyName":"Ortiz"},
				"emails":[{"primary":true,"value":"isabella@example.com","type":"work"}],
				"displayName":"Isabella Ortiz","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","active":true}`,
		},
		{
			name: `Microsoft: active "True", "Primary" keys kept, two work emails, nulls in addresses`,
			body: `{"userName":"emp1","active":"True",
				"addresses":[{"country":"Bermuda","type":"work","primary":false},{"country":null,"formatted":"18522 Lisa Unions","locality":null,"type":"other","primary":false}],
				"emails":[{"Primary":true,"type":"work","value":"anna33@gmail.com"},{"Primary":false,"type":"work","value":"anna33@example.com"}],
				"meta":{"created":"2019-09-18T18:15:26.5788954+00:00","resourceType":"User"},
				"name":{"familyName":"Employee","honorificPrefix":null},
				"roles":[],"title":"Site engineer","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`,
			want: `{"userName":"emp1","active":true,
				"addresses":[{"country":"Bermuda","type":"work","primary":false},{"formatted":"18522 Lisa Unions","type":"other","primary":false}],
				"emails":[{"Primary":true,"type":"work","value":"anna33@gmail.com"},{"Primary":false,"type":"work","value":"anna33@example.com"}],
				"name":{"familyName":"Employee"},
				"title":"Site engineer","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`,
		},
		{
			name: `Microsoft enterprise user: "Department" and "Manager": {"Value": ...}`,
			body: `{"userName":"UserName222","schemas":["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:core:2.0:User"],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Department":"bob","Manager":{"Value":"SuzzyQ"}}}`,
			want: `{"userName":"UserName222","schemas":["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","urn:ietf:params:scim:schemas:core:2.0:User"],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Department":"bob","Manager":{"value":"SuzzyQ"}}}`,
		},
		{
			name: "manager as a plain string id",
			body: `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m1"}}`,
			want: `{"userName":"a","schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}`,
		},
		{
			name: "manager as an array with $ref and displayName",
			body: `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":[{"value":"m1","$ref":"../Users/m1","displayName":"Boss"}]}}`,
			want: `{"userName":"a","schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1","$ref":"../Users/m1","displayName":"Boss"}}}`,
		},
		{
			name: "empty manager and empty extension dropped",
			body: `{"userName":"a","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":""}}`,
			want: `{"userName":"a","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`,
		},
		{
			name: "URN-qualified top-level keys move into place",
			body: `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"42",
				"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName":"Ann"}`,
			want: `{"userName":"a","name":{"givenName":"Ann"},
				"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"42"}}`,
		},
		{
			name: "read-only and unknown attributes ignored (Microsoft's misspelled adreses)",
			body: `{"id":"client-chosen","userName":"a","adreses":[{"country":"Germany"}],"groups":[{"value":"g1"}],
				"meta":{"created":"x"},"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`,
			want: `{"userName":"a","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`,
		},
		{
			name: "missing schemas added",
			body: `{"userName":"a"}`,
			want: `{"userName":"a","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`,
		},
		{
			name: "a single email object becomes an array; a number becomes a string",
			body: `{"userName":"a","emails":{"value":"a@example.com"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":701984}}`,
			want: `{"userName":"a","emails":[{"value":"a@example.com"}],
				"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984"}}`,
		},
		{
			name: "only the first primary email stays primary",
			body: `{"userName":"a","emails":[{"value":"a@x","primary":true},{"value":"b@x","primary":"true"}]}`,
			want: `{"userName":"a","emails":[{"value":"a@x","primary":true},{"value":"b@x","primary":false}],"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`,
		},
		{
			name: "active False in any case",
			body: `{"userName":"a","active":"fALSE"}`,
			want: `{"userName":"a","active":false,"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := obj(t, tt.body)
			if err := scimserver.NormalizeUser(res); err != nil {
				t.Fatalf("NormalizeUser: %v", err)
			}
			sameJSON(t, res, tt.want)
		})
	}
}

func TestNormalizeUserErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		detail string // a word the detail must contain
	}{
		{"no userName (Microsoft's Post no username)", `{"active":true,"displayName":"Kimberly Baker"}`, "userName"},
		{"userName misspelled (Microsoft's PUT with userame)", `{"userame":"OMalley","active":false}`, "userName"},
		{"empty userName", `{"userName":"  "}`, "userName"},
		{"userName not a string", `{"userName":{"a":1}}`, "userName"},
		{"active not a boolean", `{"userName":"a","active":"yes"}`, "active"},
		{"name not an object", `{"userName":"a","name":"Ann Lee"}`, "name"},
		{"email value not a string", `{"userName":"a","emails":[{"value":{"x":1}}]}`, "emails.value"},
		{"two managers", `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":[{"value":"m1"},{"value":"m2"}]}}`, "manager"},
		{"extension not an object", `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}`, "enterprise"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := scimserver.NormalizeUser(obj(t, tt.body))
			wantError(t, err, http.StatusBadRequest, scimserver.ScimInvalidValue)
			if err != nil && !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("detail %q does not name %q", err, tt.detail)
			}
		})
	}
}

func TestNormalizeGroup(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{
			name: "Microsoft empty group",
			body: `{"externalId":"e1","schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Group1DisplayName","members":[]}`,
			want: `{"externalId":"e1","schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Group1DisplayName"}`,
		},
		{
			name: "Entra group with its ADSCIM schema URN and meta",
			body: `{"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName",
				"meta":{"resourceType":"Group"},
				"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]}`,
			want: `{"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName",
				"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]}`,
		},
		{
			name: "Okta push with members",
			body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[{"value":"u1","display":"Ann"}]}`,
			want: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[{"value":"u1","display":"Ann"}]}`,
		},
		{
			name: "bare string members, $ref null, duplicates kept once",
			body: `{"displayName":"G","members":["u1",{"$ref":null,"value":"u2"},{"value":"u1"}]}`,
			want: `{"displayName":"G","members":[{"value":"u1"},{"value":"u2"}],"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`,
		},
		{
			name: "Microsoft PUT with id and no members",
			body: `{"id":"g1","displayName":"Tiffany Ortiz","externalId":"6c6b54c2","schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`,
			want: `{"displayName":"Tiffany Ortiz","externalId":"6c6b54c2","schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := obj(t, tt.body)
			if err := scimserver.NormalizeGroup(res); err != nil {
				t.Fatalf("NormalizeGroup: %v", err)
			}
			sameJSON(t, res, tt.want)
		})
	}
	for name, body := range map[string]string{
		"no displayName":           `{"members":[]}`,
		"empty displayName":        `{"displayName":""}`,
		"a member without a value": `{"displayName":"G","members":[{"display":"Ann"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, scimserver.NormalizeGroup(obj(t, body)), http.StatusBadRequest, scimserver.ScimInvalidValue)
		})
	}
}
