package scimserver_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/idpsync/idpsync/scimserver"
)

func TestParsePatch(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []scimserver.Op
	}{
		{
			name: "Entra capitalised ops",
			body: patchBody(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]},{"op":"Replace","path":"active","value":"False"},{"op":"Remove","path":"members","value":[{"value":"u2"}]}`),
			want: []scimserver.Op{
				{Op: "add", Path: "members", Value: []any{map[string]any{"$ref": nil, "value": "u1"}}},
				{Op: "replace", Path: "active", Value: "False"},
				{Op: "remove", Path: "members", Value: []any{map[string]any{"value": "u2"}}},
			},
		},
		{
			name: "Okta path-less replace and filtered remove",
			body: patchBody(`{"op":"replace","value":{"id":"g1","displayName":"G"}},{"op":"remove","path":"members[value eq \"u1\"]"}`),
			want: []scimserver.Op{
				{Op: "replace", Value: map[string]any{"id": "g1", "displayName": "G"}},
				{Op: "remove", Path: `members[value eq "u1"]`},
			},
		},
		{
			name: "keys in any case, extra keys ignored, numbers as json.Number",
			body: `{"SCHEMAS":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"OP":"ADD","Path":"x509Certificates","Value":1,"name":"addMember"}]}`,
			want: []scimserver.Op{{Op: "add", Path: "x509Certificates", Value: json.Number("1")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := scimserver.ParsePatch([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			// Compare the exported fields only.
			plain := make([]scimserver.Op, len(got))
			for i, op := range got {
				plain[i] = scimserver.Op{Op: op.Op, Path: op.Path, Value: op.Value}
			}
			if !reflect.DeepEqual(plain, tt.want) {
				t.Errorf("got %#v\nwant %#v", plain, tt.want)
			}
		})
	}
}

func TestParsePatchErrors(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		scimType string
	}{
		{"malformed JSON", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add",}]}`, scimserver.ScimInvalidSyntax},
		{"not an object", `[{"op":"add"}]`, scimserver.ScimInvalidSyntax},
		{"trailing data", patchBody(`{"op":"remove","path":"title"}`) + `{}`, scimserver.ScimInvalidSyntax},
		{"no schemas", `{"Operations":[{"op":"remove","path":"title"}]}`, scimserver.ScimInvalidSyntax},
		{"wrong schema", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"remove","path":"title"}]}`, scimserver.ScimInvalidSyntax},
		{"no Operations", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, scimserver.ScimInvalidSyntax},
		{"empty Operations", patchBody(``), scimserver.ScimInvalidSyntax},
		{"operation not an object", patchBody(`"add"`), scimserver.ScimInvalidSyntax},
		{"unknown op", patchBody(`{"op":"move","path":"title"}`), scimserver.ScimInvalidSyntax},
		{"missing op", patchBody(`{"path":"title","value":"x"}`), scimserver.ScimInvalidSyntax},
		{"add without a value", patchBody(`{"op":"add","path":"title"}`), scimserver.ScimInvalidValue},
		{"path not a string", patchBody(`{"op":"remove","path":7}`), scimserver.ScimInvalidPath},
		{"path with garbage", patchBody(`{"op":"remove","path":"a.b.c"}`), scimserver.ScimInvalidPath},
		{"path starting with a digit", patchBody(`{"op":"remove","path":"1title"}`), scimserver.ScimInvalidPath},
		{"filter that does not parse", patchBody(`{"op":"remove","path":"members[value eq]"}`), scimserver.ScimInvalidFilter},
		{"filter with a bad operator", patchBody(`{"op":"remove","path":"emails[type zz \"work\"].value"}`), scimserver.ScimInvalidFilter},
		{"text after the filter", patchBody(`{"op":"remove","path":"emails[type eq \"work\"]value"}`), scimserver.ScimInvalidPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scimserver.ParsePatch([]byte(tt.body))
			wantError(t, err, http.StatusBadRequest, tt.scimType)
		})
	}
}

// A value filter beyond the path grammar (one "and"/"or") still works.
func TestPatchPathWithComplexFilter(t *testing.T) {
	ops, err := scimserver.ParsePatch([]byte(patchBody(
		`{"op":"remove","path":"emails[type eq \"work\" or type eq \"home\" or value ew \"gmail.com\"]"}`)))
	if err != nil {
		t.Fatal(err)
	}
	res := obj(t, msUser)
	if err := scimserver.ApplyUserPatch(res, ops); err != nil {
		t.Fatal(err)
	}
	if _, ok := res["emails"]; ok {
		t.Errorf("emails = %v, want none left", res["emails"])
	}
}

// Ops built by hand, without ParsePatch, parse their path on use.
func TestApplyHandBuiltOps(t *testing.T) {
	res := obj(t, bareUser)
	err := scimserver.ApplyUserPatch(res, []scimserver.Op{
		{Op: scimserver.OpAdd, Path: `emails[type eq "work"].value`, Value: "b@contoso.com"},
		{Op: scimserver.OpReplace, Path: "active", Value: "False"},
	})
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, res, withUser(t, bareUser, func(m map[string]any) {
		m["emails"] = []any{map[string]any{"type": "work", "value": "b@contoso.com"}}
		m["active"] = false
	}))
	err = scimserver.ApplyUserPatch(res, []scimserver.Op{{Op: "Move", Path: "title"}})
	wantError(t, err, http.StatusBadRequest, scimserver.ScimInvalidSyntax)
}
