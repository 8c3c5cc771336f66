package scimserver

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Resources are plain JSON objects, map[string]any, as encoding/json
// decodes them with UseNumber: objects are map[string]any, arrays []any,
// numbers json.Number (float64 is accepted too), plus string, bool and nil.
// DecodeResource produces that shape. Keys keep the letter case the IdP
// wrote ("Primary", "DisplayName"); every function here finds attributes
// case-insensitively, and new keys get the schema's canonical case.

// DecodeResource decodes a request body that must be one JSON object.
// Anything else is 400 invalidSyntax.
func DecodeResource(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, InvalidSyntax("the body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, InvalidSyntax("the body holds more than one JSON value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, InvalidSyntax("the body must be a JSON object")
	}
	return m, nil
}

// Lookup finds name in m case-insensitively (an exact match wins) and
// returns the key m holds it under and its value.
func Lookup(m map[string]any, name string) (key string, v any, ok bool) {
	if v, ok := m[name]; ok {
		return name, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}

// Set stores v under name, reusing the key m already holds it under in
// whatever letter case; a new key is written as name (pass the canonical
// name).
func Set(m map[string]any, name string, v any) {
	if k, _, ok := Lookup(m, name); ok {
		name = k
	}
	m[name] = v
}

// Delete removes name from m in every letter case.
func Delete(m map[string]any, name string) {
	delete(m, name)
	for k := range m {
		if strings.EqualFold(k, name) {
			delete(m, k)
		}
	}
}

// lookupMap returns m[name] when it is a JSON object.
func lookupMap(m map[string]any, name string) map[string]any {
	_, v, _ := Lookup(m, name)
	sub, _ := v.(map[string]any)
	return sub
}

// lookupString returns m[name] when it is a string.
func lookupString(m map[string]any, name string) string {
	_, v, _ := Lookup(m, name)
	s, _ := v.(string)
	return s
}

// isEmpty reports whether v counts as unassigned: RFC 7643 §2.5 treats
// null, "" and an empty array alike; an empty object is unassigned too.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// dropNulls returns v without JSON nulls, at any depth (Entra sends
// "addresses": null and "country": null). Maps and arrays are copied, so v
// is not changed.
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if e != nil {
				out[k] = dropNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for _, e := range v {
			if e != nil {
				out = append(out, dropNulls(e))
			}
		}
		return out
	}
	return v
}

// parseBool accepts a JSON boolean or the strings "true"/"false" in any
// letter case (Entra sends "True"/"False" without the aadOptscim062020 flag).
func parseBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// scalarString renders a string or a number as a string.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	}
	return "", false
}

// toFloat converts a JSON number to float64.
func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case int:
		return float64(v), true
	}
	return 0, false
}

// sortedKeys returns m's keys in order, so that work over a map is
// deterministic (which of two conflicting keys wins, which error is first).
func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// cloneMap returns a shallow copy of m: the copy can be changed without
// changing m (copy-on-write keeps PATCH atomic without deep copies).
func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	maps.Copy(out, m)
	return out
}

// jsonText renders v for an error detail, shortened.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "an unencodable value"
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}
