package scimserver_test

import (
	"net/http/httptest"
	"testing"

	"github.com/idpsync/idpsync/scimserver"
)

// Route names a request's endpoint as a pattern (ids as {id}), matching
// paths case-insensitively as ServeHTTP does; anything it does not serve is
// the prefix alone.
func TestRoute(t *testing.T) {
	s := scimserver.New(nil, nil, nil, nil, "/scim/v2/")
	for _, tc := range []struct {
		method, path, want string
	}{
		{"GET", "/Users", "GET /scim/v2/Users"},
		{"POST", "/Users", "POST /scim/v2/Users"},
		{"GET", "/Users/2819c223", "GET /scim/v2/Users/{id}"},
		{"PATCH", "/users/2819c223", "PATCH /scim/v2/Users/{id}"},
		{"DELETE", "/Groups/g1/", "DELETE /scim/v2/Groups/{id}"},
		{"PUT", "/groups/g1", "PUT /scim/v2/Groups/{id}"},
		{"GET", "/Schemas", "GET /scim/v2/Schemas"},
		{"GET", "/schemas/urn:ietf:params:scim:schemas:core:2.0:User", "GET /scim/v2/Schemas/{id}"},
		{"GET", "/ResourceTypes/User", "GET /scim/v2/ResourceTypes/{id}"},
		{"GET", "/ServiceProviderConfig", "GET /scim/v2/ServiceProviderConfig"},
		{"GET", "/serviceConfiguration", "GET /scim/v2/serviceConfiguration"},
		// Not served: the prefix.
		{"PUT", "/Users", "/scim/v2/"},
		{"POST", "/Users/1", "/scim/v2/"},
		{"POST", "/Schemas", "/scim/v2/"},
		{"GET", "/ServiceProviderConfig/1", "/scim/v2/"},
		{"GET", "/Users/1/extra", "/scim/v2/"},
		{"GET", "/Bulk", "/scim/v2/"},
		{"GET", "/", "/scim/v2/"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if got := s.Route(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.want {
				t.Errorf("Route = %q, want %q", got, tc.want)
			}
		})
	}
}
