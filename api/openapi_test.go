package api_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/api"
)

// spec is the part of the OpenAPI document the tests read.
type spec struct {
	OpenAPI string                          `json:"openapi"`
	Paths   map[string]map[string]operation `json:"paths"`
}

type operation struct {
	Scope      string         `json:"x-scope"`
	Parameters []parameter    `json:"parameters"`
	Responses  map[string]any `json:"responses"`
}

type parameter struct {
	Name string `json:"name"`
	In   string `json:"in"`
}

func loadSpec(t *testing.T) spec {
	t.Helper()
	var s spec
	if err := json.Unmarshal(api.OpenAPI, &s); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(s.OpenAPI, "3.") {
		t.Fatalf("openapi.json is OpenAPI %q, want 3.x", s.OpenAPI)
	}
	return s
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

// documented lists the document's operations as "METHOD /path" → operation.
func (s spec) documented() map[string]operation {
	out := map[string]operation{}
	for path, item := range s.Paths {
		for method, op := range item {
			if slices.Contains(httpMethods, method) {
				out[strings.ToUpper(method)+" "+path] = op
			}
		}
	}
	return out
}

// The document and the route table describe the same operations, with the
// same scopes, path parameters and dry_run parameter.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadSpec(t).documented()
	served := map[string]api.Route{}
	for _, rt := range api.Routes() {
		served[rt.Method+" "+rt.Path] = rt
	}
	for _, key := range slices.Sorted(maps.Keys(served)) {
		if _, ok := doc[key]; !ok {
			t.Errorf("%s is served but not in openapi.json", key)
		}
	}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for _, key := range slices.Sorted(maps.Keys(doc)) {
		op := doc[key]
		rt, ok := served[key]
		if !ok {
			t.Errorf("%s is in openapi.json but not served", key)
			continue
		}
		scope := rt.Scope
		if scope == "" {
			scope = "none"
		}
		if op.Scope != scope {
			t.Errorf("%s: openapi.json says x-scope %q, the route needs %q", key, op.Scope, scope)
		}
		var inPath, inQuery []string
		for _, p := range op.Parameters {
			switch p.In {
			case "path":
				inPath = append(inPath, p.Name)
			case "query":
				inQuery = append(inQuery, p.Name)
			}
		}
		var want []string
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			want = append(want, m[1])
		}
		if !slices.Equal(inPath, want) {
			t.Errorf("%s: path parameters %v documented, want %v", key, inPath, want)
		}
		if slices.Contains(inQuery, "dry_run") != rt.DryRun {
			t.Errorf("%s: dry_run documented %v, taken %v", key, !rt.DryRun, rt.DryRun)
		}
		if op.Responses["200"] == nil || (scope != "none" && op.Responses["401"] == nil) || (scope == "admin" && op.Responses["403"] == nil) {
			t.Errorf("%s: responses %v; want 200, and 401 (and 403 for admin) where a token is needed", key, slices.Sorted(maps.Keys(op.Responses)))
		}
	}
}

// Every documented operation reaches a handler of the real API: it is
// answered by the route, not by "no such endpoint" or "method not allowed".
func TestOpenAPIOperationsServed(t *testing.T) {
	f := newFixture(t)
	doc := loadSpec(t).documented()
	placeholder := regexp.MustCompile(`\{[^}]+\}`)
	probe := func(method, path string) (int, string) {
		resp, body := f.do(method, path, f.admin, map[string]any{})
		var e api.ErrorBody
		_ = json.Unmarshal(body, &e)
		return resp.StatusCode, e.Error.Kind
	}
	for _, key := range slices.Sorted(maps.Keys(doc)) {
		t.Run(key, func(t *testing.T) {
			f.t = t
			method, path, _ := strings.Cut(key, " ")
			path = placeholder.ReplaceAllString(path, "1")
			if slices.ContainsFunc(doc[key].Parameters, func(p parameter) bool { return p.Name == "dry_run" }) {
				path += "?dry_run=true" // probe edits without making them
			}
			if status, kind := probe(method, path); kind == "no_route" || kind == "method_not_allowed" || status == 405 {
				t.Errorf("%s %s: answered %d %s; want the route's own answer", method, path, status, kind)
			}
		})
	}
	f.t = t
	if status, kind := probe("GET", "/users/1/explain/more"); status != 404 || kind != "no_route" {
		t.Errorf("an undocumented path answered %d %s, want 404 no_route", status, kind)
	}
	resp, body := f.do("GET", "/openapi.json", "", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, api.OpenAPI) {
		t.Errorf("GET /openapi.json: status %d, %d bytes; want 200 and the embedded document", resp.StatusCode, len(body))
	}
}
