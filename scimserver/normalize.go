package scimserver

import (
	"slices"
	"strings"
)

// managerAttr is the enterprise extension's manager, which clients write in
// three shapes (see normalizeManager).
var managerAttr = EnterpriseUserSchema.Attr("manager")

// NormalizeUser checks and normalizes, in place, a User resource from a POST
// or PUT body, so that it can be stored and read back as the IdP wrote it:
//
//   - nulls are dropped at any depth (Entra sends "addresses": null);
//   - read-only attributes (id, meta, groups) and the password are dropped,
//     as are top-level attributes no schema defines; unknown sub-attributes
//     of known complex attributes are kept as sent;
//   - URN-qualified keys ("urn:...:enterprise:2.0:User:department") move
//     into their schema's object;
//   - booleans accept "True"/"False" in any case; a multi-valued attribute
//     given a single value gets an array; at most one value is primary (the
//     first one that says so); two values of one type are accepted
//     (Microsoft's collection creates users with two work emails);
//   - the enterprise manager, written as "id", {"value": "id"} or
//     [{"value": "id"}], becomes {"value": "id"} (plus $ref and displayName);
//   - schemas lists the core schema, and the enterprise one when used;
//   - userName must be a non-empty string.
//
// Errors are *Error, 400 invalidValue, naming the attribute.
func NormalizeUser(res map[string]any) error {
	if err := normalize(res, UserSchema); err != nil {
		return err
	}
	return requireString(res, "userName")
}

// NormalizeGroup is NormalizeUser for a Group: displayName is required;
// members are [{"value": id, "display": ...}], a bare string member becoming
// {"value": id}; a member without a value is 400 invalidValue, and a member
// listed twice is kept once.
func NormalizeGroup(res map[string]any) error {
	if err := normalize(res, GroupSchema); err != nil {
		return err
	}
	if err := requireString(res, "displayName"); err != nil {
		return err
	}
	k, v, ok := Lookup(res, "members")
	if !ok {
		return nil
	}
	members, err := memberList(v)
	if err != nil {
		return err
	}
	res[k] = members
	return nil
}

func requireString(res map[string]any, name string) error {
	_, v, _ := Lookup(res, name)
	if s, ok := v.(string); !ok || strings.TrimSpace(s) == "" {
		return InvalidValue("%s is required and must be a non-empty string", name)
	}
	return nil
}

func normalize(res map[string]any, s *Schema) error {
	// URN-qualified attribute keys first, so that the pass below normalizes
	// them where they land.
	for _, k := range sortedKeys(res) {
		if !strings.Contains(k, ":") || s.schemaURN(k) != nil {
			continue
		}
		v := res[k]
		delete(res, k)
		uri, name, sub := splitAttrPath(k)
		r, ok := s.resolve(uri, name, sub)
		if !ok || v == nil {
			continue // unknown: ignored like any unknown attribute
		}
		obj := res
		if r.Extension != nil {
			obj = lookupMap(res, r.Extension.ID)
			if obj == nil {
				obj = map[string]any{}
				res[r.Extension.ID] = obj
			}
		}
		if sub != "" {
			parent := lookupMap(obj, name)
			if parent == nil {
				parent = map[string]any{}
				Set(obj, r.Attr.Name, parent)
			}
			Set(parent, r.Sub.Name, v)
		} else {
			Set(obj, r.Attr.Name, v)
		}
	}
	var used []string
	for _, k := range sortedKeys(res) {
		if strings.EqualFold(k, "schemas") {
			continue
		}
		if ext := s.Extension(k); ext != nil {
			obj, ok := res[k].(map[string]any)
			if !ok {
				if res[k] == nil {
					delete(res, k)
					continue
				}
				return InvalidValue("%s must be a JSON object", ext.ID)
			}
			out, err := normalizeAttrs(ext.Attributes, obj, ext.ID+":")
			if err != nil {
				return err
			}
			if len(out) == 0 {
				delete(res, k)
			} else {
				res[k] = out
				used = append(used, ext.ID)
			}
			continue
		}
		a := s.Attr(k)
		if a == nil || a.Mutability == ReadOnly || a.Returned == ReturnedNever {
			delete(res, k)
			continue
		}
		v, err := coerce(a, res[k], a.Name)
		if err != nil {
			return err
		}
		if isEmpty(v) {
			delete(res, k)
		} else {
			res[k] = v
		}
	}
	fixSchemas(res, s.ID, used)
	return nil
}

// normalizeAttrs normalizes the attributes of an extension object.
func normalizeAttrs(attrs []*Attribute, obj map[string]any, prefix string) (map[string]any, error) {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		a := findAttr(attrs, k)
		if a == nil || a.Mutability == ReadOnly || a.Returned == ReturnedNever {
			continue
		}
		v, err := coerce(a, v, prefix+a.Name)
		if err != nil {
			return nil, err
		}
		if !isEmpty(v) {
			out[k] = v
		}
	}
	return out, nil
}

// fixSchemas makes sure res["schemas"] lists core and the used extensions.
// Other URNs the client listed (Entra's ADSCIM Group URN) are kept.
func fixSchemas(res map[string]any, core string, used []string) {
	k, v, ok := Lookup(res, "schemas")
	if !ok {
		k = "schemas"
	}
	var list []any
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				list = append(list, s)
			}
		}
	case string:
		list = []any{v}
	}
	for _, urn := range append([]string{core}, used...) {
		if !slices.ContainsFunc(list, func(e any) bool { return strings.EqualFold(e.(string), urn) }) {
			list = append(list, urn)
		}
	}
	res[k] = list
}

// coerce checks v against attribute a and returns it normalized; it never
// changes v itself. path names the attribute in errors. The result may be
// empty (nil, "", [], {}), which callers treat as unassigned.
func coerce(a *Attribute, v any, path string) (any, error) {
	if v = dropNulls(v); v == nil {
		return nil, nil
	}
	if a == managerAttr {
		return normalizeManager(v, path)
	}
	if !a.MultiValued {
		return coerceOne(a, v, path)
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]any, 0, len(list))
	for _, e := range list {
		e, err := coerceOne(a, e, path)
		if err != nil {
			return nil, err
		}
		if !isEmpty(e) {
			out = append(out, e)
		}
	}
	if a.Type == TypeComplex {
		onePrimary(out, -1)
	}
	return out, nil
}

// coerceOne checks one value of attribute a.
func coerceOne(a *Attribute, v any, path string) (any, error) {
	switch a.Type {
	case TypeComplex:
		m, ok := v.(map[string]any)
		if !ok {
			if _, scalar := scalarString(v); scalar && a.MultiValued && a.Sub("value") != nil {
				m = map[string]any{"value": v} // a bare member id or email
			} else {
				return nil, InvalidValue("%s must be a JSON object", path)
			}
		}
		out := make(map[string]any, len(m))
		for k, sv := range m {
			sub := a.Sub(k)
			if sub == nil {
				out[k] = sv // unknown sub-attributes are kept as sent
				continue
			}
			sv, err := coerceOne(sub, sv, path+"."+sub.Name)
			if err != nil {
				return nil, err
			}
			if !isEmpty(sv) {
				out[k] = sv
			}
		}
		return out, nil
	case TypeBoolean:
		if v == nil {
			return nil, nil
		}
		b, ok := parseBool(v)
		if !ok {
			return nil, InvalidValue("%s must be a boolean (true or false), not %s", path, jsonText(v))
		}
		return b, nil
	case TypeInteger, TypeDecimal:
		if _, ok := toFloat(v); ok || v == nil {
			return v, nil
		}
		return nil, InvalidValue("%s must be a number, not %s", path, jsonText(v))
	default: // string, reference, dateTime, binary
		if v == nil {
			return nil, nil
		}
		s, ok := scalarString(v)
		if !ok {
			return nil, InvalidValue("%s must be a string, not %s", path, jsonText(v))
		}
		return s, nil
	}
}

// normalizeManager turns the shapes Entra and others send for the
// enterprise manager ("id", {"value": "id"}, [{"value": "id", "$ref": ...}])
// into the RFC complex {"value": "id"} with $ref and displayName when given.
// An empty id clears the manager (returns nil).
func normalizeManager(v any, path string) (any, error) {
	if list, ok := v.([]any); ok {
		if len(list) == 0 {
			return nil, nil
		}
		if len(list) > 1 {
			return nil, InvalidValue("%s takes one manager, not %d", path, len(list))
		}
		v = list[0]
	}
	if id, ok := scalarString(v); ok {
		v = map[string]any{"value": id}
	}
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		return nil, InvalidValue("%s must be a manager id or {\"value\": id}, not %s", path, jsonText(v))
	}
	out := map[string]any{}
	for _, sub := range managerAttr.SubAttributes {
		_, sv, _ := Lookup(m, sub.Name)
		if sv == nil {
			continue
		}
		s, ok := scalarString(sv)
		if !ok {
			return nil, InvalidValue("%s.%s must be a string, not %s", path, sub.Name, jsonText(sv))
		}
		if s != "" {
			out[sub.Name] = s
		}
	}
	if out["value"] == nil {
		return nil, nil // no id: no manager
	}
	return out, nil
}

// onePrimary leaves at most one value of a multi-valued complex attribute
// with primary true: the one at index keep, or the first when keep < 0.
// Values it changes are copied, not modified.
func onePrimary(list []any, keep int) {
	if keep < 0 {
		keep = slices.IndexFunc(list, isPrimary)
	}
	for i, e := range list {
		if i != keep && isPrimary(e) {
			m := cloneMap(e.(map[string]any))
			Set(m, "primary", false)
			list[i] = m
		}
	}
}

func isPrimary(e any) bool {
	m, _ := e.(map[string]any)
	_, v, _ := Lookup(m, "primary")
	b, _ := parseBool(v)
	return b
}

// memberList normalizes a members value: objects with a non-empty string
// value, each member once.
func memberList(v any) ([]any, error) {
	list, _ := v.([]any)
	out := make([]any, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		id := lookupString(m, "value")
		if id == "" {
			return nil, InvalidValue("every member needs a value (the member's id): got %s", jsonText(e))
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, m)
		}
	}
	return out, nil
}
