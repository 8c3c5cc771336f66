package scimserver

import (
	"strings"
	"time"

	filter "github.com/scim2/filter-parser/v2"
)

// Matches reports whether elem satisfies expr, in memory (RFC 7644
// §3.4.2.2). elem is a resource, or one value of a multi-valued attribute
// (then paths in expr are relative to it: `type eq "work"`). Supported: eq
// ne co sw ew gt ge lt le pr, and, or, not, grouping and value paths
// (`emails[type eq "work"]`).
//
// Attribute names match in any letter case. Strings compare
// case-insensitively unless caseExact(path) says otherwise; path is the
// attribute path as written in the filter ("userName", "emails.value",
// "urn:...:enterprise:2.0:User:employeeNumber"), prefixed with the parent
// inside a value path ("emails.type"). Pass Schema.CaseExact; nil means
// everything is case-insensitive.
//
// A multi-valued attribute matches when any of its values does, and a
// multi-valued complex attribute named alone compares its "value"
// sub-attribute. ne holds when no value is equal (so it holds when the
// attribute is absent); eq null holds when the attribute is absent.
// Strings that both parse as RFC 3339 times order as times; numbers as
// numbers; gt, ge, lt and le never hold for booleans.
func Matches(elem map[string]any, expr filter.Expression, caseExact func(attr string) bool) bool {
	if caseExact == nil {
		caseExact = func(string) bool { return false }
	}
	return matcher{caseExact: caseExact}.match(elem, expr)
}

type matcher struct {
	caseExact func(string) bool
	prefix    string // the parent attribute inside a value path, with a trailing "."
}

func (m matcher) match(elem map[string]any, e filter.Expression) bool {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		if strings.EqualFold(string(e.Operator), string(filter.OR)) {
			return m.match(elem, e.Left) || m.match(elem, e.Right)
		}
		return m.match(elem, e.Left) && m.match(elem, e.Right)
	case *filter.NotExpression:
		return !m.match(elem, e.Expression)
	case *filter.ValuePath:
		inner := matcher{caseExact: m.caseExact, prefix: m.prefix + e.AttributePath.String() + "."}
		return eachValue(elem, e.AttributePath, false, func(v any) bool {
			sub, ok := v.(map[string]any)
			return ok && inner.match(sub, e.ValueFilter)
		})
	case *filter.AttributeExpression:
		return m.compare(elem, e)
	}
	return false
}

// eachValue calls fn with the non-null values at path in elem, flattening
// arrays, until fn returns true, and reports whether it did. With leaf set,
// a complex value stands for its "value" sub-attribute.
func eachValue(elem map[string]any, path filter.AttributePath, leaf bool, fn func(any) bool) bool {
	obj := elem
	uri := path.URI()
	if uri != "" {
		if ext := lookupMap(elem, uri); ext != nil {
			obj = ext
		}
	}
	_, v, ok := Lookup(obj, path.AttributeName)
	if !ok && uri == "" {
		// A bare name may be an extension's ("manager" in Entra's filter
		// id eq "x" and manager eq "y"), as in Schema.Resolve.
		for k, ext := range elem {
			if m, isMap := ext.(map[string]any); isMap && len(k) > 4 && strings.EqualFold(k[:4], "urn:") {
				if _, v, ok = Lookup(m, path.AttributeName); ok {
					break
				}
			}
		}
	}
	sub := path.SubAttributeName()
	one := func(v any) bool {
		if sub != "" {
			m, _ := v.(map[string]any)
			_, v, _ = Lookup(m, sub)
		} else if m, ok := v.(map[string]any); ok && leaf {
			_, v, _ = Lookup(m, "value")
		}
		if list, ok := v.([]any); ok {
			for _, e := range list {
				if e != nil && fn(e) {
					return true
				}
			}
			return false
		}
		return v != nil && fn(v)
	}
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if one(e) {
				return true
			}
		}
		return false
	}
	return v != nil && one(v)
}

func (m matcher) compare(elem map[string]any, e *filter.AttributeExpression) bool {
	path := e.AttributePath
	switch op := filter.CompareOperator(strings.ToLower(string(e.Operator))); {
	case op == filter.PR:
		return eachValue(elem, path, false, func(v any) bool { return !isEmpty(v) })
	case e.CompareValue == nil: // eq null, ne null
		present := eachValue(elem, path, true, func(any) bool { return true })
		return (op == filter.EQ) != present
	case op == filter.NE:
		return !m.any(elem, filter.EQ, e)
	default:
		return m.any(elem, op, e)
	}
}

func (m matcher) any(elem map[string]any, op filter.CompareOperator, e *filter.AttributeExpression) bool {
	exact := m.caseExact(m.prefix + e.AttributePath.String())
	return eachValue(elem, e.AttributePath, true, func(v any) bool {
		return compareOne(v, op, e.CompareValue, exact)
	})
}

func compareOne(v any, op filter.CompareOperator, want any, exact bool) bool {
	if b, ok := v.(bool); ok {
		w, ok := parseBool(want)
		return ok && op == filter.EQ && b == w
	}
	if f, ok := toFloat(v); ok {
		if w, ok := toFloat(want); ok {
			return order(op, cmp3(f, w))
		}
	}
	s, ok1 := scalarString(v)
	w, ok2 := scalarString(want)
	if !ok1 || !ok2 {
		return false
	}
	if op == filter.EQ {
		if exact {
			return s == w
		}
		return strings.EqualFold(s, w)
	}
	if op == filter.GT || op == filter.GE || op == filter.LT || op == filter.LE {
		if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
			if tw, err := time.Parse(time.RFC3339Nano, w); err == nil {
				return order(op, ts.Compare(tw))
			}
		}
	}
	if !exact {
		s, w = strings.ToLower(s), strings.ToLower(w)
	}
	switch op {
	case filter.CO:
		return strings.Contains(s, w)
	case filter.SW:
		return strings.HasPrefix(s, w)
	case filter.EW:
		return strings.HasSuffix(s, w)
	}
	return order(op, strings.Compare(s, w))
}

func cmp3(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// order applies eq, gt, ge, lt or le to a three-way comparison result.
func order(op filter.CompareOperator, c int) bool {
	switch op {
	case filter.EQ:
		return c == 0
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	}
	return false
}
