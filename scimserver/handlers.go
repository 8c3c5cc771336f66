package scimserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/idpsync/idpsync/reconcile"
)

func schemaOf(typ string) *Schema {
	if typ == TypeGroup {
		return GroupSchema
	}
	return UserSchema
}

func endpoint(typ string) string { return "/" + typ + "s" }

// list answers GET /Users and GET /Groups: filter, paging and projection,
// the filter run in the store. An empty result is an empty ListResponse.
func (s *Server) list(req *request, typ string) error {
	q := req.r.URL.Query()
	var f filter.Expression
	if expr := strings.TrimSpace(q.Get("filter")); expr != "" {
		var err error
		if f, err = ParseFilter(expr); err != nil {
			return err
		}
	}
	startIndex, err := intParam(q.Get("startIndex"), 1)
	if err != nil {
		return err
	}
	startIndex = max(startIndex, 1)
	count, err := intParam(q.Get("count"), DefaultCount)
	if err != nil {
		return err
	}
	count = min(max(count, 0), MaxResults)
	total, found, err := s.store.Resources(req.ctx, req.source, typ, f, startIndex, count, typ == TypeGroup && wantsMembers(q["attributes"], q["excludedAttributes"]))
	if err != nil {
		return storeFilterError(err)
	}
	out := make([]map[string]any, 0, len(found))
	for i := range found {
		m, err := render(&found[i], typ, req.base)
		if err != nil {
			return err
		}
		out = append(out, Project(m, q["attributes"], q["excludedAttributes"], schemaOf(typ)))
	}
	WriteJSON(req.w, http.StatusOK, NewListResponse(out, total, startIndex))
	return nil
}

// storeFilterError turns the store's untranslatable-filter error into 400 invalidFilter.
func storeFilterError(err error) error {
	if reconcile.ErrorKind(err) == reconcile.EINVALID {
		if msg, ok := strings.CutPrefix(err.Error(), "invalidFilter:"); ok {
			return InvalidFilter("%s", strings.TrimSpace(msg))
		}
	}
	return err
}

func intParam(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, InvalidValue("%q is not an integer", v)
	}
	return n, nil
}

// wantsMembers reports whether a group query's projection keeps members,
// so big groups' members are not read when excluded.
func wantsMembers(attributes, excluded []string) bool {
	for _, a := range splitList(excluded) {
		if strings.EqualFold(strings.TrimPrefix(a, GroupURN+":"), "members") {
			return false
		}
	}
	attrs := splitList(attributes)
	if len(attrs) == 0 {
		return true
	}
	for _, a := range attrs {
		a = strings.ToLower(strings.TrimPrefix(a, GroupURN+":"))
		if a == "members" || strings.HasPrefix(a, "members.") || strings.HasPrefix(a, "members[") {
			return true
		}
	}
	return false
}

func (s *Server) get(req *request, typ, id string) error {
	q := req.r.URL.Query()
	res, err := s.store.Resource(req.ctx, req.source, typ, id, typ == TypeGroup && wantsMembers(q["attributes"], q["excludedAttributes"]))
	if err != nil {
		return notFound(err, typ, id)
	}
	m, err := render(res, typ, req.base)
	if err != nil {
		return err
	}
	req.w.Header().Set("ETag", etag(res.Version))
	WriteJSON(req.w, http.StatusOK, Project(m, q["attributes"], q["excludedAttributes"], schemaOf(typ)))
	return nil
}

func notFound(err error, typ, id string) error {
	if reconcile.ErrorKind(err) == reconcile.ENOTFOUND {
		return NotFound("%s %q not found", typ, id)
	}
	return err
}

// respond writes the stored resource after a write: status 200 or 201.
func (s *Server) respond(req *request, typ, id string, status int) error {
	res, err := s.store.Resource(req.ctx, req.source, typ, id, typ == TypeGroup)
	if err != nil {
		return err
	}
	m, err := render(res, typ, req.base)
	if err != nil {
		return err
	}
	h := req.w.Header()
	h.Set("ETag", etag(res.Version))
	if status == http.StatusCreated {
		h.Set("Location", req.base+endpoint(typ)+"/"+id)
	}
	q := req.r.URL.Query()
	WriteJSON(req.w, status, Project(m, q["attributes"], q["excludedAttributes"], schemaOf(typ)))
	return nil
}

// render turns a stored resource into its representation: the resource as
// written, plus id, schemas (when missing), members and meta.
func render(res *reconcile.Resource, typ, base string) (map[string]any, error) {
	m, err := DecodeResource(res.Raw)
	if err != nil {
		return nil, fmt.Errorf("stored %s %s: %w", typ, res.ID, err)
	}
	for k := range m {
		if strings.EqualFold(k, "id") || strings.EqualFold(k, "meta") || (typ == TypeGroup && strings.EqualFold(k, "members")) {
			delete(m, k)
		}
	}
	m["id"] = res.ID
	if _, _, ok := Lookup(m, "schemas"); !ok {
		urn := UserURN
		if typ == TypeGroup {
			urn = GroupURN
		}
		m["schemas"] = []any{urn}
	}
	if typ == TypeGroup && res.Members != nil {
		members := make([]any, 0, len(res.Members))
		for _, id := range res.Members {
			mem := map[string]any{"value": id}
			if d := res.MemberDisplay[id]; d != "" {
				mem["display"] = d
			}
			members = append(members, mem)
		}
		m["members"] = members
	}
	m["meta"] = map[string]any{
		"resourceType": typ,
		"created":      formatTime(res.Created),
		"lastModified": formatTime(res.Modified),
		"version":      etag(res.Version),
		"location":     base + endpoint(typ) + "/" + res.ID,
	}
	return m, nil
}

func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads the If-Match header: 0 when absent or "*"; a value that is
// not one of our ETags matches nothing (412).
func ifMatch(r *http.Request) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	v := strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, &Error{Status: http.StatusPreconditionFailed, Detail: fmt.Sprintf("If-Match %s matches no version of this resource", h)}
	}
	return n, nil
}

// stripReadOnly removes what the server owns from a written resource.
func stripReadOnly(m map[string]any, typ string) {
	for k := range m {
		switch strings.ToLower(k) {
		case "id", "meta", "password":
			delete(m, k)
		case "groups":
			if typ == TypeUser {
				delete(m, k)
			}
		}
	}
}

func encode(m map[string]any) ([]byte, error) { return json.Marshal(m) }
