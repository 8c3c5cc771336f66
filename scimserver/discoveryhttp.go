package scimserver

import (
	"net/http"
)

// discovery answers /Schemas, /ResourceTypes and /ServiceProviderConfig
// (also at /serviceConfiguration, which Microsoft's validator asks for).
func (s *Server) discovery(req *request, what, id string) {
	if req.r.Method != http.MethodGet {
		WriteError(req.w, &Error{Status: http.StatusMethodNotAllowed, Detail: req.r.Method + " is not supported here"})
		return
	}
	var doc any
	var err error
	switch what {
	case "schemas":
		if id == "" {
			doc = SchemasDocument(req.base)
		} else {
			doc, err = SchemaDocument(req.base, id)
		}
	case "resourcetypes":
		if id == "" {
			doc = ResourceTypesDocument(req.base)
		} else {
			doc, err = ResourceTypeDocument(req.base, id)
		}
	default:
		if id != "" {
			err = NotFound("no such endpoint %q", req.r.URL.Path)
		}
		doc = ServiceProviderConfigDocument(req.base)
	}
	if err != nil {
		WriteError(req.w, err)
		return
	}
	WriteJSON(req.w, http.StatusOK, doc)
}
