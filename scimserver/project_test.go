package scimserver_test

import (
	"testing"

	"github.com/idpsync/idpsync/scimserver"
)

func TestProjectUser(t *testing.T) {
	const always = `"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"id": "u1",
		"meta": {"resourceType": "User", "created": "2019-09-18T18:15:26.5788954+00:00", "lastModified": "2019-09-18T18:15:26.5788976+00:00"}`
	tests := []struct {
		name               string
		attributes, except []string
		want               string
	}{
		{
			name:       "Microsoft attributes=userName,emails",
			attributes: []string{"userName,emails"},
			want: `{` + always + `, "userName": "OMalley",
				"emails": [{"type": "work", "primary": true, "value": "anna33@example.com"}, {"type": "other", "primary": false, "value": "anna33@gmail.com"}]}`,
		},
		{
			name:       `Microsoft attributes=emails[type eq "work"]`,
			attributes: []string{`emails[type eq "work"]`},
			want:       `{` + always + `, "emails": [{"type": "work", "primary": true, "value": "anna33@example.com"}]}`,
		},
		{
			name:       `Microsoft attributes=emails[value eq "..."]`,
			attributes: []string{`emails[value eq "anna33@gmail.com"]`},
			want:       `{` + always + `, "emails": [{"type": "other", "primary": false, "value": "anna33@gmail.com"}]}`,
		},
		{
			name:       "a filter and a sub-attribute",
			attributes: []string{`emails[type eq work].value`},
			want:       `{` + always + `, "emails": [{"value": "anna33@example.com"}]}`,
		},
		{
			name:       "sub-attributes, in any case, as separate values",
			attributes: []string{"name.givenName", "NAME.FAMILYNAME", "emails.type"},
			want: `{` + always + `, "name": {"givenName": "Darl", "familyName": "Employee"},
				"emails": [{"type": "work"}, {"type": "other"}]}`,
		},
		{
			name:       "URN-qualified attributes; the resource's key case kept",
			attributes: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department, urn:ietf:params:scim:schemas:core:2.0:User:displayName"},
			want: `{` + always + `, "displayName": "Kimberly Baker",
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "some department"}}`,
		},
		{
			name:       "a whole extension by its URN",
			attributes: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			want: `{` + always + `,
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "some department", "manager": {"value": "m1"}}}`,
		},
		{
			name:       "unknown and absent attributes ignored",
			attributes: []string{"nonsense,title,emails[type eq \"home\"]"},
			want:       `{` + always + `}`,
		},
		{
			name:   "excludedAttributes",
			except: []string{"emails,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager,phoneNumbers.type"},
			want: `{` + always + `, "externalId": "22fbc523-6032-4c5f-939d-5d4850cf3e52", "userName": "OMalley", "active": true,
				"displayName": "Kimberly Baker", "name": {"formatted": "Daniel Mcgee", "familyName": "Employee"},
				"phoneNumbers": [{"value": "312-320-1707"}],
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"Department": "some department"}, "score": 7}`,
		},
		{
			name:   "id, schemas and meta cannot be excluded",
			except: []string{"id", "schemas", "meta", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "userName,displayName,name,emails,phoneNumbers,active,externalId,score"},
			want:   `{` + always + `, "score": 7}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := obj(t, msUser)
			got := scimserver.Project(res, tt.attributes, tt.except, scimserver.UserSchema)
			sameJSON(t, got, tt.want)
			sameJSON(t, res, msUser) // res unchanged
		})
	}
}

func TestProjectDropsThePassword(t *testing.T) {
	res := obj(t, `{"id":"u1","userName":"a","password":"secret"}`)
	sameJSON(t, scimserver.Project(res, nil, nil, scimserver.UserSchema), `{"id":"u1","userName":"a"}`)
	sameJSON(t, scimserver.Project(res, []string{"password"}, nil, scimserver.UserSchema), `{"id":"u1"}`)
}

func TestProjectGroup(t *testing.T) {
	res := obj(t, group)
	sameJSON(t, scimserver.Project(res, nil, []string{"members"}, scimserver.GroupSchema),
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","externalId":"e1","displayName":"Engineering",
		"meta":{"resourceType":"Group","version":"W/\"3\""}}`)
	sameJSON(t, scimserver.Project(res, []string{"displayName"}, nil, scimserver.GroupSchema),
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","displayName":"Engineering",
		"meta":{"resourceType":"Group","version":"W/\"3\""}}`)
	sameJSON(t, scimserver.Project(res, []string{`members[value eq "u2"].display`}, nil, scimserver.GroupSchema),
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","members":[{"display":"Bob"}],
		"meta":{"resourceType":"Group","version":"W/\"3\""}}`)
	sameJSON(t, res, group)
}
