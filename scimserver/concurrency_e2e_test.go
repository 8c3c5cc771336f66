package scimserver_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// 32 IdP clients at once: each creates a user, patches two attributes in
// two requests, joins the shared groups (Entra-style and Okta-style
// PATCHes), some join and leave again, some are deactivated. Afterwards no
// write may be lost, no client may have seen a 5xx or a SQLite lock, and
// every app user's roles must be what the rules derive from the final
// memberships.
//
// The server must absorb write-write races on a shared group itself (a
// PATCH without If-Match has no precondition the client could have
// failed). The second subtest lets clients retry a 412 the way Entra
// retries failed requests, so that the end-state checks run even while
// the first one fails.
func TestConcurrentClients(t *testing.T) {
	t.Run("no client retries", func(t *testing.T) { runConcurrentClients(t, 0) })
	t.Run("clients retry 412", func(t *testing.T) { runConcurrentClients(t, 50) })
}

func runConcurrentClients(t *testing.T, retries412 int) {
	const clients = 32
	h := newE2E(t)
	admins := h.createGroup("ph-admin")
	csms := h.createGroup("ph-csm")

	type plan struct {
		userName     string
		admin, csm   bool // member at the end
		churn        bool // joins ph-csm and leaves it again
		deactivate   bool
		oktaStyle    bool
		id           string
		title, phone string
	}
	plans := make([]*plan, clients)
	for i := range plans {
		plans[i] = &plan{
			userName:   fmt.Sprintf("client%02d@example.com", i),
			admin:      i%2 == 0,
			csm:        i%3 == 0,
			churn:      i%3 != 0 && i%4 == 1,
			deactivate: i%8 == 7,
			oktaStyle:  i%2 == 1,
			title:      fmt.Sprintf("Title %d", i),
			phone:      fmt.Sprintf("+1 555 01%02d", i),
		}
	}

	var (
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	// send makes one request and checks it; ok is false when the client
	// should stop.
	send := func(method, path string, body any, want ...int) (*response, bool) {
		r, err := h.send(tokenSCIM, method, path, body)
		for try := 0; err == nil && r.status == http.StatusPreconditionFailed && try < retries412; try++ {
			r, err = h.send(tokenSCIM, method, path, body)
		}
		if err != nil {
			fail(err)
			return nil, false
		}
		if err := r.check(); err != nil {
			fail(err)
			return r, false
		}
		if !slices.Contains(want, r.status) {
			fail(fmt.Errorf("%s: want status %v", r, want))
			return r, false
		}
		return r, true
	}
	join := func(p *plan, group, name string) bool {
		var body any
		if p.oktaStyle {
			body = patchOp(
				map[string]any{"op": "replace", "value": map[string]any{"id": group, "displayName": name}},
				map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": p.id, "display": p.userName}}})
		} else {
			body = patchOp(map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"$ref": nil, "value": p.id}}})
		}
		_, ok := send("PATCH", "/Groups/"+group, body, http.StatusNoContent)
		return ok
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range plans {
		wg.Go(func() {
			<-start
			r, ok := send("POST", "/Users", map[string]any{
				"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
				"userName": p.userName,
				"name":     map[string]any{"givenName": "Client", "familyName": p.userName},
				"emails":   []any{map[string]any{"primary": true, "type": "work", "value": p.userName}},
				"active":   true,
			}, http.StatusCreated)
			if !ok {
				return
			}
			p.id, _ = r.JSON()["id"].(string)
			user := "/Users/" + p.id
			if _, ok := send("PATCH", user, patchOp(map[string]any{"op": "Replace", "path": "title", "value": p.title}),
				http.StatusOK, http.StatusNoContent); !ok {
				return
			}
			if _, ok := send("PATCH", user, patchOp(map[string]any{"op": "Add", "path": `phoneNumbers[type eq "work"].value`, "value": p.phone}),
				http.StatusOK, http.StatusNoContent); !ok {
				return
			}
			if p.admin && !join(p, admins, "ph-admin") {
				return
			}
			if (p.csm || p.churn) && !join(p, csms, "ph-csm") {
				return
			}
			if p.churn {
				if _, ok := send("PATCH", "/Groups/"+csms, patchOp(map[string]any{"op": "remove", "path": `members[value eq "` + p.id + `"]`}),
					http.StatusNoContent); !ok {
					return
				}
			}
			if p.deactivate {
				send("PATCH", user, patchOp(map[string]any{"op": "Replace", "path": "active", "value": "False"}),
					http.StatusOK, http.StatusNoContent)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d request(s) failed:\n%v", len(errs), errors.Join(errs...))
	}

	// No lost member.
	members := map[string][]string{}
	for name, gid := range map[string]string{"ph-admin": admins, "ph-csm": csms} {
		g := h.do("GET", "/Groups/"+gid, nil, http.StatusOK).JSON()
		list, _ := g["members"].([]any)
		for _, m := range list {
			members[name] = append(members[name], m.(map[string]any)["value"].(string))
		}
		if g["displayName"] != name {
			t.Errorf("group %s: displayName = %v", name, g["displayName"])
		}
	}
	var wantAdmin, wantCSM []string
	for _, p := range plans {
		if p.admin {
			wantAdmin = append(wantAdmin, p.id)
		}
		if p.csm {
			wantCSM = append(wantCSM, p.id)
		}
	}
	for name, want := range map[string][]string{"ph-admin": wantAdmin, "ph-csm": wantCSM} {
		got := slices.Sorted(slices.Values(members[name]))
		if want = slices.Sorted(slices.Values(want)); !slices.Equal(got, want) {
			t.Errorf("%s members: got %d %v, want %d %v", name, len(got), got, len(want), want)
		}
	}

	// No lost attribute, and roles as the rules derive them from the final
	// memberships.
	users := h.appUsers()
	for _, p := range plans {
		u := h.do("GET", "/Users/"+p.id, nil, http.StatusOK).JSON()
		if u["title"] != p.title {
			t.Errorf("%s: title = %v, want %q", p.userName, u["title"], p.title)
		}
		phones, _ := u["phoneNumbers"].([]any)
		if len(phones) != 1 || phones[0].(map[string]any)["value"] != p.phone {
			t.Errorf("%s: phoneNumbers = %v, want one work phone %q", p.userName, u["phoneNumbers"], p.phone)
		}
		if u["active"] != !p.deactivate {
			t.Errorf("%s: active = %v, want %v", p.userName, u["active"], !p.deactivate)
		}
		app, ok := users[p.userName]
		if !ok {
			t.Errorf("%s: no app user", p.userName)
			continue
		}
		want := deriveRoles(slices.Contains(members["ph-admin"], p.id), slices.Contains(members["ph-csm"], p.id), !p.deactivate)
		if got := sortedRoles(app.Roles); !slices.Equal(got, want) || app.Active == p.deactivate {
			t.Errorf("%s: app user active=%v roles=%v, want active=%v roles=%v", p.userName, app.Active, got, !p.deactivate, want)
		}
	}
	if len(users) != clients {
		t.Errorf("%d app users, want %d", len(users), clients)
	}
}

// deriveRoles is the rules of testRules, written out: the mapped groups'
// roles, Viewer when there are none, nothing for an inactive user.
func deriveRoles(admin, csm, active bool) []string {
	if !active {
		return []string{}
	}
	var roles []string
	if admin {
		roles = append(roles, "Admin")
	}
	if csm {
		roles = append(roles, "CSM")
	}
	if len(roles) == 0 {
		roles = []string{"Viewer"}
	}
	return sortedRoles(roles)
}

// Writes without If-Match to one resource at once: each PATCH adds its own
// value and all of them must be there afterwards; each PUT replaces the
// whole resource and must succeed (a PUT without If-Match has no
// precondition to fail).
func TestConcurrentWritesToOneResource(t *testing.T) {
	const writers = 16
	h := newE2E(t)
	uid := h.createUser("shared@example.com")
	gid := h.createGroup("ph-admin")
	users := make([]string, writers)
	for i := range users {
		users[i] = h.createUser(fmt.Sprintf("put%02d@example.com", i))
	}
	run := func(name string, req func(i int) (method, path string, body any)) {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make([]error, writers)
			start := make(chan struct{})
			for i := range writers {
				wg.Go(func() {
					<-start
					method, path, body := req(i)
					r, err := h.send(tokenSCIM, method, path, body)
					switch {
					case err != nil:
						errs[i] = err
					case r.check() != nil:
						errs[i] = r.check()
					case r.status != http.StatusOK && r.status != http.StatusNoContent:
						errs[i] = fmt.Errorf("%s: want 200 or 204", r)
					}
				})
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Error(err)
			}
		})
	}
	run("PATCH one user", func(i int) (string, string, any) {
		return "PATCH", "/Users/" + uid, patchOp(map[string]any{"op": "add", "path": "entitlements",
			"value": []any{map[string]any{"value": fmt.Sprintf("ent-%02d", i)}}})
	})
	ents, _ := h.do("GET", "/Users/"+uid, nil, http.StatusOK).JSON()["entitlements"].([]any)
	if len(ents) != writers {
		t.Errorf("PATCH one user: %d entitlements at the end, want %d (lost writes): %v", len(ents), writers, ents)
	}
	run("PUT one group", func(i int) (string, string, any) {
		return "PUT", "/Groups/" + gid, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
			"displayName": "ph-admin", "members": []any{map[string]any{"value": users[i]}}}
	})
	// Whichever PUT came last won: one member, holding Admin; the others Viewer.
	list, _ := h.do("GET", "/Groups/"+gid, nil, http.StatusOK).JSON()["members"].([]any)
	if len(list) != 1 {
		t.Fatalf("after concurrent PUTs: members %v, want exactly one", list)
	}
	winner := list[0].(map[string]any)["value"].(string)
	app := h.appUsers()
	for i, id := range users {
		u := app[fmt.Sprintf("put%02d@example.com", i)]
		if want := deriveRoles(id == winner, false, true); !slices.Equal(sortedRoles(u.Roles), want) {
			t.Errorf("%s: roles %v, want %v", u.UserName, u.Roles, want)
		}
	}
}
