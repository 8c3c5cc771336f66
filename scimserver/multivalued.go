package scimserver

import (
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// Helpers for the values of multi-valued attributes (emails, members).
// list copies an attribute's array; the helpers change such copies, and
// replace the values in them with changed copies rather than change them.

// list returns a copy of the values of a multi-valued attribute.
func list(obj map[string]any, a *Attribute) []any {
	_, v, _ := Lookup(obj, a.Name)
	switch v := v.(type) {
	case []any:
		return slices.Clone(v)
	case nil:
		return nil
	default:
		return []any{v}
	}
}

func valueExact(a *Attribute) bool {
	v := a.Sub("value")
	return v != nil && v.CaseExact
}

func sameString(a, b string, exact bool) bool {
	if exact {
		return a == b
	}
	return strings.EqualFold(a, b)
}

// removeValues drops the values whose "value" equals one in drop, and
// returns the values kept and those dropped.
func removeValues(values, drop []any, exact bool) (kept, dropped []any) {
	ids := make(map[string]bool, len(drop))
	for _, id := range valueIDs(drop) {
		ids[foldIf(id, exact)] = true
	}
	for _, e := range values {
		m, _ := e.(map[string]any)
		id := lookupString(m, "value")
		if id != "" && ids[foldIf(id, exact)] {
			dropped = append(dropped, e)
		} else {
			kept = append(kept, e)
		}
	}
	return kept, dropped
}

// addValues adds values to a multi-valued attribute (RFC 7644 §3.5.2.1):
// a value equal to one present ("value" equal) is merged into it, as is one
// of a type already present where types are canonical (emails: one work
// email); others are appended. A value added as primary becomes the only
// primary one. It returns all values and the appended ones.
func addValues(values, add []any, a *Attribute) (all, appended []any) {
	exact := valueExact(a)
	typed := a.Sub("type") != nil && len(a.Sub("type").CanonicalValues) > 0
	var index map[string]int // "value" → position, built when adding many
	if len(add) > 1 && len(values) > 0 {
		index = make(map[string]int, len(values))
		for i, e := range values {
			m, _ := e.(map[string]any)
			if id := lookupString(m, "value"); id != "" {
				index[foldIf(id, exact)] = i
			}
		}
	}
	primary := -1
	for _, n := range add {
		nm, _ := n.(map[string]any)
		at := -1
		if id := lookupString(nm, "value"); id != "" {
			if index != nil {
				if i, ok := index[foldIf(id, exact)]; ok {
					at = i
				}
			} else {
				at = slices.IndexFunc(values, func(e any) bool {
					m, _ := e.(map[string]any)
					return sameString(lookupString(m, "value"), id, exact)
				})
			}
		}
		if t := lookupString(nm, "type"); at < 0 && typed && t != "" {
			at = slices.IndexFunc(values, func(e any) bool {
				m, _ := e.(map[string]any)
				return strings.EqualFold(lookupString(m, "type"), t)
			})
		}
		if at >= 0 {
			values[at] = merge(values[at], nm, a)
		} else {
			values = append(values, nm)
			appended = append(appended, nm)
			at = len(values) - 1
			if index != nil {
				index[foldIf(lookupString(nm, "value"), exact)] = at
			}
		}
		if isPrimary(nm) {
			primary = at
		}
	}
	if primary >= 0 {
		onePrimary(values, primary)
	}
	return values, appended
}

func foldIf(s string, exact bool) string {
	if exact {
		return s
	}
	return strings.ToLower(s)
}

// merge returns a copy of the value old with the sub-attributes of n set on
// it. A member's value (its id) is immutable and stays as it was.
func merge(old any, n map[string]any, a *Attribute) map[string]any {
	om, _ := old.(map[string]any)
	out := cloneMap(om)
	for k, v := range n {
		name := k
		if sub := a.Sub(k); sub != nil {
			if sub.Mutability == Immutable && lookupString(out, sub.Name) != "" {
				continue
			}
			name = sub.Name
		}
		Set(out, name, v)
	}
	return out
}

// hollow reports whether a value of a multi-valued attribute holds nothing
// but labels (type, primary, display): what is left after clearing its
// value, which then goes.
func hollow(m map[string]any) bool {
	for k := range m {
		switch strings.ToLower(k) {
		case "type", "primary", "display":
		default:
			return false
		}
	}
	return true
}

// setSub sets (or with clear, deletes) sub-attribute sub on a copy of e.
// It returns nil when the copy is left hollow.
func setSub(e any, sub *Attribute, v any, clear bool) map[string]any {
	m, _ := e.(map[string]any)
	m = cloneMap(m)
	if clear {
		Delete(m, sub.Name)
		if hollow(m) {
			return nil
		}
		return m
	}
	Set(m, sub.Name, v)
	return m
}

// matching returns the positions of the values expr selects. The common
// members[value eq "id"] compares strings directly: it runs over every
// member of a big group.
func matching(values []any, expr filter.Expression, exact func(string) bool) []int {
	var hits []int
	e, simple := expr.(*filter.AttributeExpression)
	want, isString := "", false
	if simple {
		want, isString = e.CompareValue.(string)
		simple = isString && strings.EqualFold(string(e.Operator), string(filter.EQ)) &&
			e.AttributePath.URIPrefix == nil && e.AttributePath.SubAttribute == nil
	}
	var name string
	var ex bool
	if simple {
		name = e.AttributePath.AttributeName
		ex = exact(name)
	}
	for i, v := range values {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if simple {
			if _, got, _ := Lookup(m, name); got != nil {
				if s, ok := got.(string); ok {
					if sameString(s, want, ex) {
						hits = append(hits, i)
					}
					continue
				}
			}
		}
		if Matches(m, expr, exact) {
			hits = append(hits, i)
		}
	}
	return hits
}

// scopedCaseExact is the caseExact function for a value filter on r.Attr.
func scopedCaseExact(r AttrRef) func(string) bool {
	memo := map[string]bool{}
	return func(name string) bool {
		v, ok := memo[name]
		if !ok {
			sub := r.Attr.Sub(name)
			v = sub != nil && sub.CaseExact
			memo[name] = v
		}
		return v
	}
}
