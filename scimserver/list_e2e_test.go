package scimserver_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestLowerCasePaths(t *testing.T) {
	h := newE2E(t)
	r := h.do("POST", "/users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"lower@example.com","active":true}`, http.StatusCreated)
	id := jsonString(t, r, "id")
	if loc := r.header.Get("Location"); !strings.HasSuffix(loc, "/Users/"+id) && !strings.HasSuffix(loc, "/users/"+id) {
		t.Errorf("Location %q does not name the user", loc)
	}
	h.do("GET", "/users/"+id, nil, http.StatusOK)
	r = h.do("GET", `/users?filter=userName eq "LOWER@example.com"`, nil, http.StatusOK)
	if fmt.Sprint(r.JSON()["totalResults"]) != "1" {
		t.Errorf("%s: want the user", r)
	}
	g := jsonString(t, h.do("POST", "/groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"ph-csm"}`, http.StatusCreated), "id")
	h.do("PATCH", "/groups/"+g, patchJSON(`{"op":"add","path":"members","value":[{"value":"`+id+`"}]}`), http.StatusNoContent)
	h.do("GET", "/GROUPS/"+g, nil, http.StatusOK)
	for _, p := range []string{"/schemas", "/resourcetypes", "/serviceproviderconfig", "/serviceConfiguration", "/Schemas", "/ResourceTypes", "/ServiceProviderConfig"} {
		h.do("GET", p, nil, http.StatusOK)
	}
	if u := h.appUsers()["lower@example.com"]; !slices.Equal(u.Roles, []string{"CSM"}) {
		t.Errorf("roles = %v, want [CSM]", u.Roles)
	}
}

// Okta creates users with Content-Type application/json; the answer is
// still application/scim+json.
func TestApplicationJSONAccepted(t *testing.T) {
	h := newE2E(t)
	r := h.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"json@example.com"}`,
		http.StatusCreated, "Content-Type", "application/json; charset=utf-8")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestPaging(t *testing.T) {
	h := newE2E(t)
	var ids []string
	for i := range 7 {
		ids = append(ids, h.createUser(fmt.Sprintf("page%02d@example.com", i)))
	}
	page := func(startIndex, count int) (m map[string]any, got []string) {
		t.Helper()
		r := h.do("GET", fmt.Sprintf("/Users?startIndex=%d&count=%d", startIndex, count), nil, http.StatusOK)
		m = r.JSON()
		res, _ := m["Resources"].([]any)
		for _, e := range res {
			got = append(got, e.(map[string]any)["id"].(string))
		}
		if fmt.Sprint(m["totalResults"]) != "7" {
			t.Errorf("%s: totalResults = %v, want 7", r, m["totalResults"])
		}
		if fmt.Sprint(m["itemsPerPage"]) != fmt.Sprint(len(got)) {
			t.Errorf("%s: itemsPerPage = %v, want %d", r, m["itemsPerPage"], len(got))
		}
		return m, got
	}
	var all []string
	for start := 1; start <= 7; start += 3 {
		m, got := page(start, 3)
		if fmt.Sprint(m["startIndex"]) != fmt.Sprint(start) {
			t.Errorf("startIndex = %v, want %d (echoed)", m["startIndex"], start)
		}
		all = append(all, got...)
	}
	if !slices.Equal(all, ids) {
		t.Errorf("pages = %v, want every user once in a stable order %v", all, ids)
	}
	// Microsoft's validator: count=5 with startIndex=1.
	if m, got := page(1, 5); len(got) != 5 || fmt.Sprint(m["startIndex"]) != "1" {
		t.Errorf("count=5: %d resources, startIndex %v", len(got), m["startIndex"])
	}
	if m, got := page(3, 2); !slices.Equal(got, ids[2:4]) || fmt.Sprint(m["startIndex"]) != "3" {
		t.Errorf("startIndex=3&count=2: %v (startIndex %v), want %v", got, m["startIndex"], ids[2:4])
	}
	if m, got := page(50, 10); len(got) != 0 || fmt.Sprint(m["startIndex"]) != "50" {
		t.Errorf("past the end: %v (startIndex %v), want none and 50", got, m["startIndex"])
	}
	if _, got := page(1, 0); len(got) != 0 {
		t.Errorf("count=0: %v, want only the total", got)
	}
	// A filter and paging together.
	r := h.do("GET", `/Users?filter=userName sw "page0"&startIndex=2&count=2`, nil, http.StatusOK)
	if m := r.JSON(); fmt.Sprint(m["startIndex"]) != "2" || fmt.Sprint(m["totalResults"]) != "7" {
		t.Errorf("%s: want startIndex 2 of 7", r)
	}
}

// The filters the IdPs match with find exactly the right resources,
// through the store's SQL.
func TestMatchingFilters(t *testing.T) {
	h := newE2E(t)
	users := map[string]string{}
	for _, u := range []struct{ userName, externalID, email, title string }{
		{"AdeleV@contoso.com", "ext-adele", "adele.vance@contoso.com", "Retail Manager"},
		{"alexw@contoso.com", "ext-alex", "alex.wilber@contoso.org", "Marketing Assistant"},
		{"Zoe@fabrikam.com", "jyoung", "zoe@fabrikam.com", ""},
	} {
		body := map[string]any{
			"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"userName":   u.userName,
			"externalId": u.externalID,
			"emails":     []any{map[string]any{"primary": true, "type": "work", "value": u.email}},
			"active":     true,
		}
		if u.title != "" {
			body["title"] = u.title
		}
		users[u.userName] = jsonString(t, h.do("POST", "/Users", body, http.StatusCreated), "id")
	}
	h.do("PATCH", "/Users/"+users["Zoe@fabrikam.com"], patchJSON(`{"op":"replace","path":"active","value":false}`), http.StatusOK)
	tests := []struct {
		filter string
		want   []string
	}{
		{`userName eq "adelev@CONTOSO.com"`, []string{"AdeleV@contoso.com"}},
		{`externalId eq "ext-alex"`, []string{"alexw@contoso.com"}},
		{`externalId eq "EXT-ALEX"`, nil}, // externalId is case-exact
		{`externalId eq jyoung`, []string{"Zoe@fabrikam.com"}},
		{`emails[type eq "work"].value eq "ALEX.WILBER@contoso.org"`, []string{"alexw@contoso.com"}},
		{`emails[type eq "home"].value eq "alex.wilber@contoso.org"`, nil},
		{`userName sw "a"`, []string{"AdeleV@contoso.com", "alexw@contoso.com"}},
		{`userName ew "fabrikam.com"`, []string{"Zoe@fabrikam.com"}},
		{`emails.value co "contoso"`, []string{"AdeleV@contoso.com", "alexw@contoso.com"}},
		{`title pr`, []string{"AdeleV@contoso.com", "alexw@contoso.com"}},
		{`not (title pr)`, []string{"Zoe@fabrikam.com"}},
		{`active eq false`, []string{"Zoe@fabrikam.com"}},
		{`userName ne "alexw@contoso.com" and active eq true`, []string{"AdeleV@contoso.com"}},
		{`title co "manager" or userName eq "zoe@fabrikam.com"`, []string{"AdeleV@contoso.com", "Zoe@fabrikam.com"}},
		{`(title co "manager" or title co "assistant") and emails.value ew ".org"`, []string{"alexw@contoso.com"}},
		{`meta.created gt "2000-01-01T00:00:00Z"`, []string{"AdeleV@contoso.com", "Zoe@fabrikam.com", "alexw@contoso.com"}},
		{`meta.lastModified lt "2000-01-01T00:00:00Z"`, nil},
		{`id eq "` + users["alexw@contoso.com"] + `"`, []string{"alexw@contoso.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			m := h.do("GET", "/Users?filter="+tt.filter, nil, http.StatusOK).JSON()
			var got []string
			res, _ := m["Resources"].([]any)
			for _, r := range res {
				got = append(got, r.(map[string]any)["userName"].(string))
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) || fmt.Sprint(m["totalResults"]) != fmt.Sprint(len(tt.want)) {
				t.Errorf("got %v (totalResults %v), want %v", got, m["totalResults"], tt.want)
			}
		})
	}
	// Projection: attributes and excludedAttributes.
	m := h.do("GET", `/Users?filter=userName eq "alexw@contoso.com"&attributes=userName,emails`, nil, http.StatusOK).JSON()
	r := m["Resources"].([]any)[0].(map[string]any)
	if r["userName"] != "alexw@contoso.com" || r["emails"] == nil || r["id"] == nil || r["title"] != nil || r["active"] != nil {
		t.Errorf("attributes=userName,emails: %v", r)
	}
	m = h.do("GET", `/Users?filter=userName eq "alexw@contoso.com"&excludedAttributes=emails,title`, nil, http.StatusOK).JSON()
	r = m["Resources"].([]any)[0].(map[string]any)
	if r["emails"] != nil || r["title"] != nil || r["userName"] == nil {
		t.Errorf("excludedAttributes=emails,title: %v", r)
	}
}
