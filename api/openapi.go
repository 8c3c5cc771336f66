package api

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API's OpenAPI 3 document (openapi.json), served at
// GET /api/v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// openAPI: GET /openapi.json, without a token.
func (s *server) openAPI(c *call) error {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(OpenAPI) // the status is sent: a failed write has no one to tell
	return nil
}
