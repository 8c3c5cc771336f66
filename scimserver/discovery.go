package scimserver

import (
	"net/url"
	"strings"
)

// Limits the server advertises in /ServiceProviderConfig.
const (
	// MaxResults is the most resources one list response holds: a larger
	// count is lowered to it (RFC 7644 §3.4.2.4).
	MaxResults = 1000
	// MaxBodyBytes is the largest request body accepted (413 above it).
	MaxBodyBytes = 1 << 20
)

// URNs of the discovery documents (RFC 7643 §5-7).
const (
	SchemaURN                = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	ResourceTypeURN          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	ServiceProviderConfigURN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
)

// ListResponse is a query response (RFC 7644 §3.4.2). Resources is never
// null: an empty result is an empty array.
type ListResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []any    `json:"Resources"`
}

// NewListResponse returns the page of resources starting at startIndex
// (1-based, as requested) out of total matches.
func NewListResponse[T any](resources []T, total, startIndex int) ListResponse {
	if startIndex < 1 {
		startIndex = 1
	}
	r := ListResponse{Schemas: []string{ListResponseURN}, TotalResults: total,
		StartIndex: startIndex, ItemsPerPage: len(resources), Resources: make([]any, len(resources))}
	for i, res := range resources {
		r.Resources[i] = res
	}
	return r
}

type docMeta struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location"`
}

type schemaDoc struct {
	Schemas     []string     `json:"schemas"`
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Attributes  []*Attribute `json:"attributes"`
	Meta        docMeta      `json:"meta"`
}

// schemas are the schemas /Schemas lists, in order.
var schemas = []*Schema{UserSchema, EnterpriseUserSchema, GroupSchema}

func newSchemaDoc(base string, s *Schema) schemaDoc {
	return schemaDoc{Schemas: []string{SchemaURN}, ID: s.ID, Name: s.Name, Description: s.Description,
		Attributes: s.Attributes, Meta: docMeta{ResourceType: "Schema", Location: base + "/Schemas/" + s.ID}}
}

// SchemasDocument is the body of GET /Schemas: User, EnterpriseUser and
// Group. baseURL is the SCIM root, e.g. "https://host/scim/v2".
func SchemasDocument(baseURL string) ListResponse {
	base := strings.TrimRight(baseURL, "/")
	docs := make([]schemaDoc, len(schemas))
	for i, s := range schemas {
		docs[i] = newSchemaDoc(base, s)
	}
	return NewListResponse(docs, len(docs), 1)
}

// SchemaDocument is the body of GET /Schemas/{id}; an unknown id is 404.
func SchemaDocument(baseURL, id string) (any, error) {
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	for _, s := range schemas {
		if strings.EqualFold(s.ID, id) {
			return newSchemaDoc(strings.TrimRight(baseURL, "/"), s), nil
		}
	}
	return nil, NotFound("no schema %q", id)
}

type schemaExtension struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

type resourceTypeDoc struct {
	Schemas          []string          `json:"schemas"`
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Endpoint         string            `json:"endpoint"`
	Description      string            `json:"description"`
	Schema           string            `json:"schema"`
	SchemaExtensions []schemaExtension `json:"schemaExtensions,omitempty"`
	Meta             docMeta           `json:"meta"`
}

// resourceTypes are the resource types, User first (Microsoft's collection
// checks Resources[0].endpoint == "/Users").
var resourceTypes = []struct {
	name, endpoint, description string
	schema                      *Schema
}{
	{"User", "/Users", "User Account", UserSchema},
	{"Group", "/Groups", "Group", GroupSchema},
}

func newResourceTypeDoc(base string, i int) resourceTypeDoc {
	rt := resourceTypes[i]
	d := resourceTypeDoc{Schemas: []string{ResourceTypeURN}, ID: rt.name, Name: rt.name,
		Endpoint: rt.endpoint, Description: rt.description, Schema: rt.schema.ID,
		Meta: docMeta{ResourceType: "ResourceType", Location: base + "/ResourceTypes/" + rt.name}}
	for _, e := range rt.schema.Extensions {
		d.SchemaExtensions = append(d.SchemaExtensions, schemaExtension{Schema: e.ID})
	}
	return d
}

// ResourceTypesDocument is the body of GET /ResourceTypes.
func ResourceTypesDocument(baseURL string) ListResponse {
	base := strings.TrimRight(baseURL, "/")
	docs := make([]resourceTypeDoc, len(resourceTypes))
	for i := range resourceTypes {
		docs[i] = newResourceTypeDoc(base, i)
	}
	return NewListResponse(docs, len(docs), 1)
}

// ResourceTypeDocument is the body of GET /ResourceTypes/{name}; an
// unknown name is 404.
func ResourceTypeDocument(baseURL, name string) (any, error) {
	for i, rt := range resourceTypes {
		if strings.EqualFold(rt.name, name) {
			return newResourceTypeDoc(strings.TrimRight(baseURL, "/"), i), nil
		}
	}
	return nil, NotFound("no resource type %q", name)
}

type supported struct {
	Supported bool `json:"supported"`
}

type serviceProviderConfig struct {
	Schemas []string  `json:"schemas"`
	Patch   supported `json:"patch"`
	Bulk    struct {
		Supported      bool `json:"supported"`
		MaxOperations  int  `json:"maxOperations"`
		MaxPayloadSize int  `json:"maxPayloadSize"`
	} `json:"bulk"`
	Filter struct {
		Supported  bool `json:"supported"`
		MaxResults int  `json:"maxResults"`
	} `json:"filter"`
	ChangePassword        supported    `json:"changePassword"`
	Sort                  supported    `json:"sort"`
	ETag                  supported    `json:"etag"`
	AuthenticationSchemes []authScheme `json:"authenticationSchemes"`
	Meta                  docMeta      `json:"meta"`
}

type authScheme struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	SpecURI     string `json:"specUri"`
	Primary     bool   `json:"primary"`
}

// ServiceProviderConfigDocument is the body of GET /ServiceProviderConfig
// (Microsoft's collection also asks for it at /serviceConfiguration).
func ServiceProviderConfigDocument(baseURL string) any {
	c := serviceProviderConfig{
		Schemas:        []string{ServiceProviderConfigURN},
		Patch:          supported{true},
		ChangePassword: supported{false},
		Sort:           supported{false},
		ETag:           supported{true},
		AuthenticationSchemes: []authScheme{{
			Type:        "oauthbearertoken",
			Name:        "OAuth Bearer Token",
			Description: "A bearer token in the Authorization header, created with `idpsync tokens create`.",
			SpecURI:     "https://www.rfc-editor.org/info/rfc6750",
			Primary:     true,
		}},
		Meta: docMeta{ResourceType: "ServiceProviderConfig",
			Location: strings.TrimRight(baseURL, "/") + "/ServiceProviderConfig"},
	}
	c.Filter.Supported, c.Filter.MaxResults = true, MaxResults
	return c
}
