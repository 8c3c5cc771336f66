package scimserver_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// Group writes beyond the two replays: created with members, replaced by
// PUT, all members removed, nested groups, duplicates and no-ops; and
// users created inactive.
func TestGroupSemantics(t *testing.T) {
	h := newE2E(t)
	a := h.createUser("a@example.com")
	b := h.createUser("b@example.com")
	c := h.createUser("c@example.com")
	roles := func(userName string) []string {
		t.Helper()
		return sortedRoles(h.appUsers()[userName].Roles)
	}
	want := func(step, userName string, w ...string) {
		t.Helper()
		if got := roles(userName); !slices.Equal(got, sortedRoles(w)) {
			t.Errorf("%s: %s roles = %v, want %v", step, userName, got, w)
		}
	}
	members := func(gid string) []string {
		t.Helper()
		list, _ := h.do("GET", "/Groups/"+gid, nil, http.StatusOK).JSON()["members"].([]any)
		var out []string
		for _, m := range list {
			out = append(out, m.(map[string]any)["value"].(string))
		}
		slices.Sort(out)
		return out
	}

	// Microsoft's "Create filled group": members in the POST.
	r := h.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"ph-admin",
		"members":[{"value":"`+a+`","display":"VP"}]}`, http.StatusCreated)
	admins := jsonString(t, r, "id")
	want("created with a member", "a@example.com", "Admin")
	want("created with a member", "b@example.com", "Viewer")

	// PUT replaces the members (Microsoft's "Put replace group").
	h.do("PUT", "/Groups/"+admins, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"`+admins+`","displayName":"ph-admin",
		"members":[{"value":"`+b+`","display":"VP"},{"value":"`+c+`","display":"SenorVP"}]}`, http.StatusOK)
	want("PUT members", "a@example.com", "Viewer")
	want("PUT members", "b@example.com", "Admin")
	want("PUT members", "c@example.com", "Admin")

	// Adding a member twice is a no-op.
	h.do("PATCH", "/Groups/"+admins, patchJSON(`{"op":"add","path":"members","value":[{"value":"`+b+`"}]}`), http.StatusNoContent)
	if got := members(admins); !slices.Equal(got, sortedRoles([]string{b, c})) {
		t.Errorf("after a duplicate add: members %v", got)
	}

	// Remove with no value removes every member (Microsoft's "Patch remove all users").
	h.do("PATCH", "/Groups/"+admins, patchJSON(`{"op":"remove","path":"members"}`), http.StatusNoContent)
	want("remove all", "b@example.com", "Viewer")
	want("remove all", "c@example.com", "Viewer")
	if got := members(admins); len(got) != 0 {
		t.Errorf("after remove all: members %v", got)
	}

	// Renaming onto another group's name is 409; nothing changes.
	other := h.createGroup("Engineering")
	r2, err := h.send(tokenSCIM, "PATCH", "/Groups/"+other, patchJSON(`{"op":"replace","path":"displayName","value":"ph-admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	wantSCIMError(t, r2, http.StatusConflict, "uniqueness")

	// Nested: Engineering is a member of ph-admin, c of Engineering.
	h.do("PATCH", "/Groups/"+other, patchJSON(`{"op":"add","path":"members","value":[{"value":"`+c+`"}]}`), http.StatusNoContent)
	want("member of an unmapped group", "c@example.com", "Viewer")
	h.do("PATCH", "/Groups/"+admins, patchJSON(`{"op":"add","path":"members","value":[{"value":"`+other+`"}]}`), http.StatusNoContent)
	want("member through a nested group", "c@example.com", "Admin")
	h.do("PATCH", "/Groups/"+other, patchJSON(`{"op":"remove","path":"members[value eq \"`+c+`\"]"}`), http.StatusNoContent)
	want("left the nested group", "c@example.com", "Viewer")
	h.do("PATCH", "/Groups/"+other, patchJSON(`{"op":"add","path":"members","value":[{"value":"`+c+`"}]}`), http.StatusNoContent)
	want("back in the nested group", "c@example.com", "Admin")
	h.do("DELETE", "/Groups/"+other, nil, http.StatusNoContent)
	want("the nested group deleted", "c@example.com", "Viewer")
	if got := members(admins); len(got) != 0 {
		t.Errorf("a deleted group is still a member: %v", got)
	}

	// Deleting a member user takes it out of the group.
	h.do("PATCH", "/Groups/"+admins, patchJSON(`{"op":"add","path":"members","value":[{"value":"`+a+`"},{"value":"`+b+`"}]}`), http.StatusNoContent)
	h.do("DELETE", "/Users/"+a, nil, http.StatusNoContent)
	if got := members(admins); !slices.Equal(got, []string{b}) {
		t.Errorf("after deleting a member: members %v, want [%s]", got, b)
	}
	want("deleted member", "a@example.com")
	want("remaining member", "b@example.com", "Admin")

	// Group filters (Microsoft's collection filters on members).
	for f, n := range map[string]int{
		`members[value eq "` + b + `"]`:            1,
		`members.value eq "` + b + `"`:             1,
		`members[value eq "` + a + `"]`:            0,
		`externalId eq "none"`:                     0,
		`displayName eq "ph-admin" and members pr`: 1,
	} {
		m := h.do("GET", "/Groups?excludedAttributes=members&filter="+f, nil, http.StatusOK).JSON()
		if got := fmt.Sprint(m["totalResults"]); got != fmt.Sprint(n) {
			t.Errorf("filter %s: %s groups, want %d", f, got, n)
		}
	}
}

// A user created inactive (or with the string "False") has no roles until
// activated; "True" as a string reads back as a boolean.
func TestCreateInactiveUser(t *testing.T) {
	h := newE2E(t)
	gid := h.createGroup("ph-csm")
	r := h.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"later@example.com","active":"False"}`, http.StatusCreated)
	id := jsonString(t, r, "id")
	if r.JSON()["active"] != false {
		t.Errorf("active = %#v, want false", r.JSON()["active"])
	}
	h.do("PATCH", "/Groups/"+gid, patchJSON(`{"op":"add","path":"members","value":[{"value":"`+id+`"}]}`), http.StatusNoContent)
	u := h.appUsers()["later@example.com"]
	if u.Active || len(u.Roles) != 0 {
		t.Errorf("inactive user: active=%v roles=%v, want inactive without roles", u.Active, u.Roles)
	}
	r = h.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"emp1@example.com","active":"True"}`, http.StatusCreated)
	if r.JSON()["active"] != true {
		t.Errorf("active \"True\" reads back %#v, want true", r.JSON()["active"])
	}
	h.do("PATCH", "/Users/"+id, patchJSON(`{"op":"replace","path":"active","value":true}`), http.StatusOK)
	if u := h.appUsers()["later@example.com"]; !u.Active || !slices.Equal(u.Roles, []string{"CSM"}) {
		t.Errorf("activated: active=%v roles=%v, want active [CSM]", u.Active, u.Roles)
	}
}

// Every SCIM write that changes an app user leaves its change-log entries,
// with the source as the actor.
func TestChangeLog(t *testing.T) {
	h := newE2E(t)
	uid := h.createUser("logged@example.com")
	gid := h.createGroup("ph-admin")
	h.do("PATCH", "/Groups/"+gid, patchJSON(`{"op":"Add","path":"members","value":[{"value":"`+uid+`"}]}`), http.StatusNoContent)
	h.do("PATCH", "/Users/"+uid, patchJSON(`{"op":"Replace","path":"active","value":"False"}`), http.StatusOK)
	app := h.appUsers()["logged@example.com"]
	recs, err := h.store.Changes(h.ctx, reconcile.ChangeFilter{UserID: app.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Kind+" "+r.Role)
		if r.Actor != "scim:"+sourceSCIM {
			t.Errorf("change %d (%s): actor %q, want scim:%s", r.Seq, r.Kind, r.Actor, sourceSCIM)
		}
	}
	want := []string{"create ", "grant Admin", "revoke Viewer", "deactivate "}
	if !slices.Equal(sortedRoles(got), sortedRoles(want)) {
		t.Errorf("change log = %q, want %q (any order)", got, want)
	}
}

// A userName changed by PATCH (Microsoft's "patch user omalley new
// username") renames the same app user; the old name is free again.
func TestUserNameChange(t *testing.T) {
	h := newE2E(t)
	uid := h.createUser("OMalley")
	before := h.appUsers()["omalley"]
	h.do("PATCH", "/Users/"+uid, patchJSON(`{"op":"replace","path":"userName","value":"ryan3"}`), http.StatusOK)
	users := h.appUsers()
	after, ok := users["ryan3"]
	if !ok || after.ID != before.ID || !after.Active {
		t.Fatalf("after the rename: %+v (was %+v)", after, before)
	}
	if _, ok := users["omalley"]; ok {
		t.Error("the old userName is still an app user")
	}
	h.createUser("omalley") // free again
}
