package scimserver_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/idpsync/idpsync/scimserver"
)

const base = "https://idp.example.com/scim/v2/"

// decode round-trips a document through JSON, as a client sees it.
func decode(t *testing.T, doc any) (map[string]any, string) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m, string(b)
}

// checkClean fails on nulls and on keys that are not camelCase (Entra's
// validator wants neither); "Resources" and "$ref" are the RFC's own.
func checkClean(t *testing.T, v any, path string) {
	t.Helper()
	switch v := v.(type) {
	case nil:
		t.Errorf("%s is null", path)
	case map[string]any:
		for k, e := range v {
			if k != "Resources" && k != "$ref" && !unicode.IsLower(rune(k[0])) {
				t.Errorf("%s.%s is not camelCase", path, k)
			}
			checkClean(t, e, path+"."+k)
		}
	case []any:
		for _, e := range v {
			checkClean(t, e, path+"[]")
		}
	}
}

func TestSchemasDocument(t *testing.T) {
	doc, text := decode(t, scimserver.SchemasDocument(base))
	checkClean(t, doc, "")
	if !strings.Contains(text, "User Account") {
		t.Error(`/Schemas does not contain "User Account" (Microsoft's collection)`)
	}
	if doc["totalResults"] != 3.0 || doc["schemas"].([]any)[0] != scimserver.ListResponseURN {
		t.Errorf("not a ListResponse of 3: %v", doc["totalResults"])
	}
	byID := map[string]map[string]any{}
	for _, r := range doc["Resources"].([]any) {
		s := r.(map[string]any)
		byID[s["id"].(string)] = s
	}
	for _, id := range []string{scimserver.UserURN, scimserver.EnterpriseUserURN, scimserver.GroupURN} {
		s := byID[id]
		if s == nil {
			t.Fatalf("schema %s missing", id)
		}
		if loc := s["meta"].(map[string]any)["location"]; loc != "https://idp.example.com/scim/v2/Schemas/"+id {
			t.Errorf("%s location = %v", id, loc)
		}
	}
	// Attributes Entra maps must be discoverable, with their properties.
	attrs := map[string]map[string]any{}
	for _, a := range byID[scimserver.UserURN]["attributes"].([]any) {
		a := a.(map[string]any)
		attrs[a["name"].(string)] = a
	}
	for _, name := range []string{"userName", "externalId", "active", "emails", "name", "displayName", "phoneNumbers", "addresses", "title"} {
		if attrs[name] == nil {
			t.Errorf("User attribute %s missing", name)
		}
	}
	if u := attrs["userName"]; u["caseExact"] != false || u["uniqueness"] != "server" || u["required"] != true {
		t.Errorf("userName = %v", u)
	}
	if p := attrs["password"]; p["returned"] != "never" || p["mutability"] != "writeOnly" {
		t.Errorf("password = %v", p)
	}
	emails := attrs["emails"]
	if emails["multiValued"] != true || len(emails["subAttributes"].([]any)) != 4 {
		t.Errorf("emails = %v", emails)
	}
	var manager map[string]any
	for _, a := range byID[scimserver.EnterpriseUserURN]["attributes"].([]any) {
		if a := a.(map[string]any); a["name"] == "manager" {
			manager = a
		}
	}
	if manager == nil || manager["type"] != "complex" {
		t.Errorf("manager = %v, want a complex attribute", manager)
	}
}

func TestSchemaDocument(t *testing.T) {
	doc, err := scimserver.SchemaDocument(base, "urn:ietf:params:scim:schemas:core:2.0:group")
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := decode(t, doc); m["id"] != scimserver.GroupURN || m["name"] != "Group" {
		t.Errorf("got %v", m["id"])
	}
	if doc, err := scimserver.SchemaDocument(base, "urn%3Aietf%3Aparams%3Ascim%3Aschemas%3Acore%3A2.0%3AUser"); err != nil {
		t.Errorf("escaped id: %v", err)
	} else if m, _ := decode(t, doc); m["description"] != "User Account" {
		t.Errorf("User description = %v", m["description"])
	}
	_, err = scimserver.SchemaDocument(base, "urn:nope")
	wantError(t, err, http.StatusNotFound, "")
}

func TestResourceTypesDocument(t *testing.T) {
	doc, _ := decode(t, scimserver.ResourceTypesDocument(base))
	checkClean(t, doc, "")
	types := doc["Resources"].([]any)
	user, group := types[0].(map[string]any), types[1].(map[string]any)
	if user["endpoint"] != "/Users" { // Microsoft's collection checks Resources[0]
		t.Errorf("Resources[0].endpoint = %v, want /Users", user["endpoint"])
	}
	if user["schema"] != scimserver.UserURN || group["endpoint"] != "/Groups" || group["schema"] != scimserver.GroupURN {
		t.Errorf("resource types = %v, %v", user, group)
	}
	ext := user["schemaExtensions"].([]any)
	if len(ext) != 1 || ext[0].(map[string]any)["schema"] != scimserver.EnterpriseUserURN || ext[0].(map[string]any)["required"] != false {
		t.Errorf("User schemaExtensions = %v", ext)
	}
	if loc := group["meta"].(map[string]any)["location"]; loc != "https://idp.example.com/scim/v2/ResourceTypes/Group" {
		t.Errorf("Group location = %v", loc)
	}
	if _, ok := group["schemaExtensions"]; ok {
		t.Error("Group has schemaExtensions")
	}
	if _, err := scimserver.ResourceTypeDocument(base, "user"); err != nil {
		t.Error(err)
	}
	_, err := scimserver.ResourceTypeDocument(base, "Device")
	wantError(t, err, http.StatusNotFound, "")
}

func TestServiceProviderConfigDocument(t *testing.T) {
	doc, _ := decode(t, scimserver.ServiceProviderConfigDocument(base))
	checkClean(t, doc, "")
	get := func(path string) any {
		var v any = doc
		for _, k := range strings.Split(path, ".") {
			v = v.(map[string]any)[k]
		}
		return v
	}
	for path, want := range map[string]any{
		"patch.supported":          true,
		"bulk.supported":           false,
		"filter.supported":         true,
		"filter.maxResults":        float64(scimserver.MaxResults),
		"changePassword.supported": false,
		"sort.supported":           false,
		"etag.supported":           true,
		"meta.location":            "https://idp.example.com/scim/v2/ServiceProviderConfig",
		"meta.resourceType":        "ServiceProviderConfig",
	} {
		if got := get(path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	schemes := doc["authenticationSchemes"].([]any)
	if len(schemes) != 1 || schemes[0].(map[string]any)["type"] != "oauthbearertoken" {
		t.Errorf("authenticationSchemes = %v", schemes)
	}
}

func TestNewListResponse(t *testing.T) {
	doc, text := decode(t, scimserver.NewListResponse([]map[string]any{}, 0, 0))
	if !strings.Contains(text, `"Resources":[]`) {
		t.Errorf("empty list = %s, want Resources []", text)
	}
	if doc["startIndex"] != 1.0 || doc["itemsPerPage"] != 0.0 || doc["totalResults"] != 0.0 {
		t.Errorf("empty list = %s", text)
	}
	doc, _ = decode(t, scimserver.NewListResponse([]string{"a", "b"}, 7, 5))
	if doc["startIndex"] != 5.0 || doc["itemsPerPage"] != 2.0 || doc["totalResults"] != 7.0 {
		t.Errorf("page = %v", doc)
	}
}
