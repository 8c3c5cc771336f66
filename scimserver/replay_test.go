package scimserver_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// Replays: request sequences shaped like what Entra and Okta send, in
// testdata/replay/*.json, run against the real stack by one loop.
//
// A replay file is
//
//	{"description": "...",
//	 "vars": {"name": "value"},          // optional, ${name} in the steps
//	 "steps": [step, ...],
//	 "users": {userName: userWant}}      // the app users at the end
//
// and a step is
//
//	{"name": "...", "method": "GET", "path": "/Users?filter=userName eq \"x\"",
//	 "headers": {"Name": "value"}, "body": <JSON>,
//	 "status": 200 | [200, 204],
//	 "expect": {jsonPath: <JSON>}, "save": {var: jsonPath},
//	 "users": {userName: userWant}}     // app users after the step
//
// A step with no method only checks "users". Paths in "path" are written
// unescaped; the query is escaped as the IdPs do it. ${var} is replaced in
// the path, headers, body and expected values.
//
// A jsonPath is the response's JSON walked by "/"-separated keys (exact
// case; URN keys contain dots, hence the slash) and array indexes:
// "Resources/0/id", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager/value".
// A segment "#" is the length of the array (or object) reached so far; a
// segment "*" maps the rest of the path over every element of an array
// and compares the results as a set ("members/*/value": ["${a}", "${b}"]).
//
// Expected values: JSON compared exactly (numbers by value); null means
// "absent or null"; {"$present": true} that the path exists and is not
// null; {"$contains": "text"} a string containing text, ignoring case.
//
// userWant: {"active": bool, "roles": [..], "email": "..", "displayName": ".."}
// (roles compared as a set; email and displayName only when given).

type replayFile struct {
	Description string              `json:"description"`
	Vars        map[string]string   `json:"vars"`
	Steps       []replayStep        `json:"steps"`
	Users       map[string]userWant `json:"users"`
}

type replayStep struct {
	Name    string                     `json:"name"`
	Method  string                     `json:"method"`
	Path    string                     `json:"path"`
	Headers map[string]string          `json:"headers"`
	Body    json.RawMessage            `json:"body"`
	Status  statusSet                  `json:"status"`
	Expect  map[string]json.RawMessage `json:"expect"`
	Save    map[string]string          `json:"save"`
	Users   map[string]userWant        `json:"users"`
}

type userWant struct {
	Active      *bool     `json:"active"`
	Roles       *[]string `json:"roles"`
	Email       *string   `json:"email"`
	DisplayName *string   `json:"displayName"`
}

// statusSet is "status": 200 or "status": [200, 204].
type statusSet []int

func (s *statusSet) UnmarshalJSON(b []byte) error {
	var one int
	if err := json.Unmarshal(b, &one); err == nil {
		*s = statusSet{one}
		return nil
	}
	var many []int
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("status must be a number or a list of numbers, not %s", b)
	}
	*s = many
	return nil
}

func TestReplays(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "replay", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no replays in testdata/replay")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			t.Parallel()
			rf, err := loadReplay(file)
			if err != nil {
				t.Fatal(err)
			}
			runReplay(t, newE2E(t), rf)
		})
	}
}

func loadReplay(file string) (*replayFile, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var rf replayFile
	if err := d.Decode(&rf); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(rf.Steps) == 0 {
		return nil, fmt.Errorf("%s: no steps", file)
	}
	if len(rf.Users) == 0 {
		return nil, fmt.Errorf("%s: no final users expectation", file)
	}
	for i, s := range rf.Steps {
		switch {
		case s.Name == "":
			return nil, fmt.Errorf("%s: step %d has no name", file, i)
		case s.Method == "" && len(s.Users) == 0:
			return nil, fmt.Errorf("%s: step %q neither sends a request nor checks users", file, s.Name)
		case s.Method != "" && len(s.Status) == 0:
			return nil, fmt.Errorf("%s: step %q has no status", file, s.Name)
		case s.Method == "" && (s.Path != "" || len(s.Expect)+len(s.Save) > 0 || s.Body != nil):
			return nil, fmt.Errorf("%s: step %q has request fields but no method", file, s.Name)
		}
	}
	return &rf, nil
}

// runReplay plays the steps in order; the first failing step ends it.
func runReplay(t *testing.T, h *e2e, rf *replayFile) {
	vars := map[string]string{}
	for k, v := range rf.Vars {
		vars[k] = v
	}
	for i, s := range rf.Steps {
		label := fmt.Sprintf("step %d %q", i+1, s.Name)
		if s.Method != "" {
			if err := replayRequest(h, &s, vars); err != nil {
				t.Fatalf("%s: %v", label, err)
			}
		}
		if len(s.Users) > 0 {
			if err := checkUsers(h, s.Users, vars); err != nil {
				t.Fatalf("%s: app users: %v", label, err)
			}
		}
	}
	if err := checkUsers(h, rf.Users, vars); err != nil {
		t.Fatalf("at the end: app users: %v", err)
	}
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// expand replaces ${name}; an unknown name is an error (a typo in a replay
// must not turn into a literal).
func expand(s string, vars map[string]string) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(s, func(m string) string {
		name := varRef.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("undefined variable(s) %s in %q", strings.Join(missing, ", "), s)
	}
	return out, nil
}

func replayRequest(h *e2e, s *replayStep, vars map[string]string) error {
	path, err := expand(s.Path, vars)
	if err != nil {
		return err
	}
	var body any
	if s.Body != nil {
		b, err := expand(string(s.Body), vars)
		if err != nil {
			return err
		}
		if !json.Valid([]byte(b)) {
			return fmt.Errorf("the body is not JSON after substitution: %s", b)
		}
		body = b
	}
	var header []string
	for _, k := range slices.Sorted(maps.Keys(s.Headers)) {
		v, err := expand(s.Headers[k], vars)
		if err != nil {
			return err
		}
		header = append(header, k, v)
	}
	r, err := h.send(tokenSCIM, s.Method, path, body, header...)
	if err != nil {
		return err
	}
	if err := r.check(); err != nil {
		return err
	}
	if !slices.Contains(s.Status, r.status) {
		return fmt.Errorf("%s: want status %v", r, []int(s.Status))
	}
	if len(s.Expect)+len(s.Save) == 0 {
		return nil
	}
	doc, err := decodeAny(r.body)
	if err != nil {
		return fmt.Errorf("%s: the body is not JSON: %v", r, err)
	}
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(s.Expect)) {
		jp, err := expand(p, vars)
		if err != nil {
			return err
		}
		want, err := expand(string(s.Expect[p]), vars)
		if err != nil {
			return err
		}
		if err := expectJSON(doc, jp, json.RawMessage(want)); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Save)) {
		v, ok, err := jsonPath(doc, s.Save[name])
		if err != nil {
			return err
		}
		str, isStr := v.(string)
		if !ok || !isStr || str == "" {
			errs = append(errs, fmt.Errorf("save %s: %s is %s, not a non-empty string", name, s.Save[name], show(v, ok)))
			continue
		}
		vars[name] = str
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s:\n%w", r, errors.Join(errs...))
	}
	return nil
}

func decodeAny(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// jsonPath walks doc; ok is false when the path leads nowhere. A "*"
// segment returns the list of the rest evaluated on each element (those
// that lead nowhere left out).
func jsonPath(doc any, path string) (v any, ok bool, err error) {
	if path == "" {
		return doc, true, nil
	}
	segs := strings.Split(path, "/")
	v = doc
	for i, seg := range segs {
		switch seg {
		case "#":
			if i != len(segs)-1 {
				return nil, false, fmt.Errorf("path %q: # must come last", path)
			}
			switch x := v.(type) {
			case []any:
				return json.Number(strconv.Itoa(len(x))), true, nil
			case map[string]any:
				return json.Number(strconv.Itoa(len(x))), true, nil
			}
			return nil, false, nil
		case "*":
			list, isList := v.([]any)
			if !isList {
				return nil, false, nil
			}
			rest := strings.Join(segs[i+1:], "/")
			out := []any{}
			for _, e := range list {
				x, ok, err := jsonPath(e, rest)
				if err != nil {
					return nil, false, err
				}
				if ok {
					out = append(out, x)
				}
			}
			return out, true, nil
		}
		switch x := v.(type) {
		case map[string]any:
			if v, ok = x[seg]; !ok {
				return nil, false, nil
			}
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil {
				return nil, false, fmt.Errorf("path %q: %q indexes an array", path, seg)
			}
			if n < 0 || n >= len(x) {
				return nil, false, nil
			}
			v = x[n]
		default:
			return nil, false, nil
		}
	}
	return v, true, nil
}

// expectJSON checks one expectation against doc.
func expectJSON(doc any, path string, wantRaw json.RawMessage) error {
	want, err := decodeAny(wantRaw)
	if err != nil {
		return fmt.Errorf("expect %s: bad expected value %s", path, wantRaw)
	}
	got, ok, err := jsonPath(doc, path)
	if err != nil {
		return err
	}
	if m, isMap := want.(map[string]any); isMap && len(m) == 1 {
		for k, arg := range m {
			switch k {
			case "$present":
				if present := ok && got != nil; present != (arg == true) {
					return fmt.Errorf("%s: got %s, want present=%v", path, show(got, ok), arg)
				}
				return nil
			case "$contains":
				s, isStr := got.(string)
				sub, _ := arg.(string)
				if !isStr || !strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
					return fmt.Errorf("%s: got %s, want a string containing %q", path, show(got, ok), sub)
				}
				return nil
			}
		}
	}
	if want == nil {
		if ok && got != nil {
			return fmt.Errorf("%s: got %s, want absent", path, show(got, ok))
		}
		return nil
	}
	if !ok {
		return fmt.Errorf("%s: absent, want %s", path, canonicalJSON(want))
	}
	if strings.Contains(path, "*") {
		gl, _ := got.([]any)
		wl, isList := want.([]any)
		if !isList {
			return fmt.Errorf("expect %s: a * path needs a list", path)
		}
		if !sameSet(gl, wl) {
			return fmt.Errorf("%s: got %s, want (in any order) %s", path, canonicalJSON(got), canonicalJSON(want))
		}
		return nil
	}
	if canonicalJSON(got) != canonicalJSON(want) {
		return fmt.Errorf("%s: got %s, want %s", path, canonicalJSON(got), canonicalJSON(want))
	}
	return nil
}

func sameSet(a, b []any) bool {
	key := func(l []any) []string {
		out := make([]string, len(l))
		for i, v := range l {
			out[i] = canonicalJSON(v)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

// canonicalJSON encodes v with sorted keys and numbers normalised.
func canonicalJSON(v any) string {
	var norm func(any) any
	norm = func(v any) any {
		switch x := v.(type) {
		case json.Number:
			if f, err := x.Float64(); err == nil {
				return f
			}
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = norm(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = norm(e)
			}
			return out
		}
		return v
	}
	b, err := json.Marshal(norm(v))
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

func show(v any, ok bool) string {
	if !ok {
		return "absent"
	}
	return canonicalJSON(v)
}

// checkUsers compares app users with the expectation (keys are userNames,
// compared case-insensitively; ${var} allowed).
func checkUsers(h *e2e, want map[string]userWant, vars map[string]string) error {
	users := h.appUsers()
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(want)) {
		w := want[name]
		name, err := expand(name, vars)
		if err != nil {
			return err
		}
		u, ok := users[reconcile.FoldName(name)]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no such app user", name))
			continue
		}
		if w.Active == nil || w.Roles == nil {
			return fmt.Errorf("%s: the expectation needs active and roles", name)
		}
		if u.Active != *w.Active {
			errs = append(errs, fmt.Errorf("%s: active = %v, want %v", name, u.Active, *w.Active))
		}
		if got, want := sortedRoles(u.Roles), sortedRoles(*w.Roles); !slices.Equal(got, want) {
			errs = append(errs, fmt.Errorf("%s: roles = %v, want %v", name, got, want))
		}
		if w.Email != nil && u.Email != *w.Email {
			errs = append(errs, fmt.Errorf("%s: email = %q, want %q", name, u.Email, *w.Email))
		}
		if w.DisplayName != nil && u.DisplayName != *w.DisplayName {
			errs = append(errs, fmt.Errorf("%s: displayName = %q, want %q", name, u.DisplayName, *w.DisplayName))
		}
		if u.Source != sourceSCIM {
			errs = append(errs, fmt.Errorf("%s: owned by %q, want %q", name, u.Source, sourceSCIM))
		}
	}
	return errors.Join(errs...)
}

// The matcher must be able to fail: a replay that checks nothing passes
// anything.
func TestReplayExpectations(t *testing.T) {
	doc, err := decodeAny([]byte(`{"totalResults": 1, "Resources": [{"id": "a", "active": false,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}}}],
		"members": [{"value": "x"}, {"value": "y"}], "detail": "User Not Found"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"totalResults", `1`, true},
		{"totalResults", `1.0`, true},
		{"totalResults", `0`, false},
		{"totalResults", `"1"`, false},
		{"Resources/#", `1`, true},
		{"Resources/#", `2`, false},
		{"Resources/0/active", `false`, true},
		{"Resources/0/active", `true`, false},
		{"Resources/0/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager/value", `"m"`, true},
		{"Resources/0/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager/value", `"n"`, false},
		{"Resources/0/name", `null`, true},
		{"Resources/0/id", `null`, false},
		{"Resources/0/id", `{"$present": true}`, true},
		{"Resources/0/name", `{"$present": true}`, false},
		{"members/*/value", `["y", "x"]`, true},
		{"members/*/value", `["x"]`, false},
		{"members/*/value", `["x", "y", "z"]`, false},
		{"detail", `{"$contains": "not found"}`, true},
		{"detail", `{"$contains": "conflict"}`, false},
		{"Resources/1/id", `"a"`, false},
	}
	for _, tt := range tests {
		err := expectJSON(doc, tt.path, json.RawMessage(tt.want))
		if (err == nil) != tt.ok {
			t.Errorf("expect %s = %s: err = %v, want ok=%v", tt.path, tt.want, err, tt.ok)
		}
	}
	if _, err := expand("${nope}", map[string]string{}); err == nil {
		t.Error("expand accepted an undefined variable")
	}
}
