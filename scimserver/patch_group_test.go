package scimserver_test

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/idpsync/idpsync/scimserver"
)

const group = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
	"id": "g1",
	"externalId": "e1",
	"displayName": "Engineering",
	"members": [{"value": "u1", "display": "Ann"}, {"value": "u2", "display": "Bob"}, {"value": "u3"}],
	"meta": {"resourceType": "Group", "version": "W/\"3\""}
}`

// members builds a members value from ids.
func members(ids ...string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"value": id}
	}
	return out
}

func TestApplyGroupPatch(t *testing.T) {
	ann := map[string]any{"value": "u1", "display": "Ann"}
	bob := map[string]any{"value": "u2", "display": "Bob"}
	u3 := map[string]any{"value": "u3"}
	tests := []struct {
		name   string
		base   string // group when empty
		body   string
		want   func(m map[string]any)
		change scimserver.MemberChange
	}{
		{
			name: "Entra Add members with $ref null",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}`,
			want: func(m map[string]any) {
				m["members"] = []any{ann, bob, u3, map[string]any{"value": "f648f8d5ea4e4cd38e9c"}}
			},
			change: scimserver.MemberChange{Added: []string{"f648f8d5ea4e4cd38e9c"}},
		},
		{
			name:   "Entra adds several members in one operation",
			body:   patchBody(`{"op":"Add","path":"members","value":[{"value":"u4"},{"value":"u5"},{"value":"u1"}]}`),
			want:   func(m map[string]any) { m["members"] = append([]any{ann, bob, u3}, members("u4", "u5")...) },
			change: scimserver.MemberChange{Added: []string{"u4", "u5"}},
		},
		{
			name:   "adding a member already there changes nothing",
			body:   patchBody(`{"op":"add","path":"members","value":[{"value":"u2"}]}`),
			want:   func(m map[string]any) {},
			change: scimserver.MemberChange{},
		},
		{
			name: "Microsoft adds a member with a displayName, which reads back",
			body: patchBody(`{"name":"addMember","op":"add","path":"members","value":[{"displayName":"new User","value":"u4"}]}`),
			want: func(m map[string]any) {
				m["members"] = []any{ann, bob, u3, map[string]any{"displayName": "new User", "value": "u4"}}
			},
			change: scimserver.MemberChange{Added: []string{"u4"}},
		},
		{
			name:   "Microsoft adds a bare string member",
			body:   `{"id":"g1","Operations":[{"op":"add","path":"members","value":"string id 1"}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`,
			want:   func(m map[string]any) { m["members"] = append([]any{ann, bob, u3}, members("string id 1")...) },
			change: scimserver.MemberChange{Added: []string{"string id 1"}},
		},
		{
			name:   "Entra removes a member by value list",
			body:   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u2"}]}]}`,
			want:   func(m map[string]any) { m["members"] = []any{ann, u3} },
			change: scimserver.MemberChange{Removed: []string{"u2"}},
		},
		{
			name:   "Okta and Entra (flag) remove members[value eq id]: only that member",
			body:   patchBody(`{"op":"remove","path":"members[value eq \"u2\"]"}`),
			want:   func(m map[string]any) { m["members"] = []any{ann, u3} },
			change: scimserver.MemberChange{Removed: []string{"u2"}},
		},
		{
			name:   "removing a member that is not there changes nothing",
			body:   patchBody(`{"op":"remove","path":"members[value eq \"u9\"]"},{"op":"Remove","path":"members","value":[{"value":"u8"}]}`),
			want:   func(m map[string]any) {},
			change: scimserver.MemberChange{},
		},
		{
			name:   "Microsoft removes all members: remove members without a value",
			body:   patchBody(`{"op":"remove","path":"members"}`),
			want:   func(m map[string]any) { delete(m, "members") },
			change: scimserver.MemberChange{Removed: []string{"u1", "u2", "u3"}},
		},
		{
			name: "Okta full push: replace members",
			body: patchBody(`{"op":"replace","path":"members","value":[{"value":"u3","display":"Cy"},{"value":"u4","display":"Di"}]}`),
			want: func(m map[string]any) {
				m["members"] = []any{map[string]any{"value": "u3", "display": "Cy"}, map[string]any{"value": "u4", "display": "Di"}}
			},
			change: scimserver.MemberChange{Added: []string{"u4"}, Removed: []string{"u1", "u2"}},
		},
		{
			name:   "Okta replace members with []",
			body:   patchBody(`{"op":"replace","path":"members","value":[]}`),
			want:   func(m map[string]any) { delete(m, "members") },
			change: scimserver.MemberChange{Removed: []string{"u1", "u2", "u3"}},
		},
		{
			name: "Okta rename: path-less replace with id inside (ignored)",
			body: patchBody(`{"op":"replace","value":{"id":"g1-other","displayName":"Platform"}}`),
			want: func(m map[string]any) { m["displayName"] = "Platform" },
		},
		{
			name: "replace displayName by path",
			body: patchBody(`{"op":"Replace","path":"displayName","value":"Platform"}`),
			want: func(m map[string]any) { m["displayName"] = "Platform" },
		},
		{
			name: "Okta membership update: rename, remove one, add one",
			body: patchBody(`{"op":"replace","value":{"id":"g1","displayName":"Engineering"}},
				{"op":"remove","path":"members[value eq \"u1\"]"},
				{"op":"add","path":"members","value":[{"value":"u7","display":"Gus"}]}`),
			want: func(m map[string]any) {
				m["members"] = []any{bob, u3, map[string]any{"value": "u7", "display": "Gus"}}
			},
			change: scimserver.MemberChange{Added: []string{"u7"}, Removed: []string{"u1"}},
		},
		{
			name:   "removed and added back in one PATCH is no change",
			body:   patchBody(`{"op":"remove","path":"members[value eq \"u1\"]"},{"op":"add","path":"members","value":[{"value":"u1"}]}`),
			want:   func(m map[string]any) { m["members"] = []any{bob, u3, map[string]any{"value": "u1"}} },
			change: scimserver.MemberChange{},
		},
		{
			name: "a member's display by value path",
			body: patchBody(`{"op":"replace","path":"members[value eq \"u3\"].display","value":"Cy"}`),
			want: func(m map[string]any) {
				m["members"] = []any{ann, bob, map[string]any{"value": "u3", "display": "Cy"}}
			},
		},
		{
			name:   "first members of an empty group",
			base:   `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g2","displayName":"Empty"}`,
			body:   patchBody(`{"op":"Add","path":"members","value":[{"value":"u1"},{"value":"u2"}]}`),
			want:   func(m map[string]any) { m["members"] = members("u1", "u2") },
			change: scimserver.MemberChange{Added: []string{"u1", "u2"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = group
			}
			ops, err := scimserver.ParsePatch([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			res := obj(t, base)
			change, err := scimserver.ApplyGroupPatch(res, ops)
			if err != nil {
				t.Fatalf("ApplyGroupPatch: %v", err)
			}
			sameJSON(t, res, withUser(t, base, tt.want))
			if !reflect.DeepEqual(change, tt.change) {
				t.Errorf("change = %+v, want %+v", change, tt.change)
			}
		})
	}
}

func TestApplyGroupPatchErrors(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		scimType string
	}{
		{"clearing displayName", patchBody(`{"op":"replace","path":"displayName","value":""}`), scimserver.ScimInvalidValue},
		{"a member without a value", patchBody(`{"op":"add","path":"members","value":[{"display":"x"}]}`), scimserver.ScimInvalidValue},
		{"a member's id is immutable", patchBody(`{"op":"replace","path":"members[value eq \"u1\"].value","value":"u9"}`), scimserver.ScimMutability},
		{"unknown attribute", patchBody(`{"op":"add","path":"owners","value":[{"value":"u1"}]}`), scimserver.ScimInvalidPath},
		{"user attribute on a group", patchBody(`{"op":"add","path":"userName","value":"x"}`), scimserver.ScimInvalidPath},
		{"remove without a path", patchBody(`{"op":"Remove","value":[{"value":"u1"}]}`), scimserver.ScimNoTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := scimserver.ParsePatch([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParsePatch: %v", err)
			}
			res := obj(t, group)
			_, err = scimserver.ApplyGroupPatch(res, ops)
			wantError(t, err, http.StatusBadRequest, tt.scimType)
			sameJSON(t, res, group)
		})
	}
}

// bigGroup returns a group with n members.
func bigGroup(n int) map[string]any {
	ms := make([]any, n)
	for i := range ms {
		ms[i] = map[string]any{"value": fmt.Sprintf("user-%06d", i), "display": fmt.Sprintf("User %d", i)}
	}
	return map[string]any{"schemas": []any{scimserver.GroupURN}, "id": "big", "displayName": "All", "members": ms}
}

func TestApplyGroupPatchBigGroup(t *testing.T) {
	res := bigGroup(50_000)
	ops, err := scimserver.ParsePatch([]byte(patchBody(
		`{"op":"remove","path":"members[value eq \"user-025000\"]"},{"op":"add","path":"members","value":[{"value":"new"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	change, err := scimserver.ApplyGroupPatch(res, ops)
	if err != nil {
		t.Fatal(err)
	}
	want := scimserver.MemberChange{Added: []string{"new"}, Removed: []string{"user-025000"}}
	if !reflect.DeepEqual(change, want) {
		t.Errorf("change = %+v, want %+v", change, want)
	}
	if n := len(res["members"].([]any)); n != 50_000 {
		t.Errorf("%d members, want 50000", n)
	}
}

func BenchmarkApplyGroupPatchAddOneMember(b *testing.B) {
	ops, err := scimserver.ParsePatch([]byte(patchBody(`{"op":"add","path":"members","value":[{"value":"new"}]}`)))
	if err != nil {
		b.Fatal(err)
	}
	base := bigGroup(50_000)
	for b.Loop() {
		res := map[string]any{}
		for k, v := range base {
			res[k] = v
		}
		if _, err := scimserver.ApplyGroupPatch(res, ops); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyGroupPatchRemoveOneMember(b *testing.B) {
	ops, err := scimserver.ParsePatch([]byte(patchBody(`{"op":"remove","path":"members[value eq \"user-025000\"]"}`)))
	if err != nil {
		b.Fatal(err)
	}
	base := bigGroup(50_000)
	for b.Loop() {
		res := map[string]any{}
		for k, v := range base {
			res[k] = v
		}
		if _, err := scimserver.ApplyGroupPatch(res, ops); err != nil {
			b.Fatal(err)
		}
	}
}
