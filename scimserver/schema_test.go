package scimserver_test

import (
	"net/http"
	"testing"

	"github.com/idpsync/idpsync/scimserver"
)

func TestResolve(t *testing.T) {
	tests := []struct {
		path, want string // want: the canonical path; "" for invalidPath
	}{
		{"userName", "userName"},
		{"USERNAME", "userName"},
		{"name.FamilyName", "name.familyName"},
		{"emails.Value", "emails.value"},
		{"urn:ietf:params:scim:schemas:core:2.0:User:userName", "userName"},
		{"urn:ietf:params:scim:schemas:core:2.0:user:name.givenName", "name.givenName"},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"},
		{"manager", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}, // Entra sends it bare
		{"employeeNumber", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"},
		{"meta.Created", "meta.created"},
		{"garbage", ""},
		{"name.garbage", ""},
		{"userName.x", ""},
		{"urn:example:custom:2.0:User:department", ""},
		{"urn:ietf:params:scim:schemas:core:2.0:Group:displayName", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r, err := scimserver.UserSchema.Resolve(tt.path)
			if tt.want == "" {
				wantError(t, err, http.StatusBadRequest, scimserver.ScimInvalidPath)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("Resolve(%q) = %s, want %s", tt.path, got, tt.want)
			}
		})
	}
}

func TestCaseExact(t *testing.T) {
	for path, want := range map[string]bool{
		"userName":     false,
		"id":           true,
		"externalId":   true,
		"ExternalID":   true,
		"emails":       false, // compares emails.value
		"emails.value": false,
		"meta.version": true,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": false,
		"nonsense": false,
	} {
		if got := scimserver.UserSchema.CaseExact(path); got != want {
			t.Errorf("CaseExact(%q) = %v, want %v", path, got, want)
		}
	}
	if !scimserver.GroupSchema.CaseExact("id") || scimserver.GroupSchema.CaseExact("displayName") {
		t.Error("Group: id must be case-exact, displayName not")
	}
}

func TestCanonical(t *testing.T) {
	res := obj(t, `{"UserName":"a","Name":{"FamilyName":"Lee"},"emails":[{"Primary":true,"Value":"a@x"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:user":{"Department":"Sales","Manager":{"value":"m1"}},"custom":1}`)
	sameJSON(t, scimserver.UserSchema.Canonical(res), `{"userName":"a","name":{"familyName":"Lee"},"emails":[{"primary":true,"value":"a@x"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","manager":{"value":"m1"}},"custom":1}`)
}
