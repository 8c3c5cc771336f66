package scimserver

import (
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// Project returns the representation of res that a request's attributes
// and excludedAttributes parameters ask for (RFC 7644 §3.9). Each element
// of the two slices may itself be a comma-separated list, so the query
// values can be passed as they come (r.URL.Query()["attributes"]). Names are
// case-insensitive and may be URN-qualified, name sub-attributes
// ("name.givenName"), a whole extension (its URN), or select values with a
// filter, as Microsoft does: attributes=emails[type eq "work"].
//
// id, schemas and meta are always returned, the password never; names that
// are not attributes of s are ignored. res is not changed; the result
// shares the values it does not narrow with res.
func Project(res map[string]any, attributes, excludedAttributes []string, s *Schema) map[string]any {
	var out map[string]any
	if attrs := splitList(attributes); len(attrs) > 0 {
		out = include(res, attrs, s)
	} else {
		out = cloneMap(res)
	}
	for _, p := range splitList(excludedAttributes) {
		exclude(out, p, s)
	}
	for _, a := range s.Attributes {
		if a.Returned == ReturnedNever {
			Delete(out, a.Name)
		}
	}
	return out
}

// alwaysReturned are the keys no projection removes.
var alwaysReturned = []string{"id", "schemas", "meta"}

// splitList splits comma-separated attribute lists, keeping commas inside
// a value filter's brackets or quotes.
func splitList(lists []string) []string {
	var out []string
	for _, l := range lists {
		depth, quoted, start := 0, false, 0
		for i := 0; i <= len(l); i++ {
			if i < len(l) {
				switch c := l[i]; {
				case c == '\\' && quoted && i+1 < len(l):
					i++
					continue
				case c == '"':
					quoted = !quoted
				case c == '[' && !quoted:
					depth++
				case c == ']' && !quoted:
					depth--
				}
				if l[i] != ',' || quoted || depth > 0 {
					continue
				}
			}
			if p := strings.TrimSpace(l[start:i]); p != "" {
				out = append(out, p)
			}
			start = i + 1
		}
	}
	return out
}

// selection is what the attributes parameter asks of one attribute.
type selection struct {
	r       AttrRef
	allVals bool                // a request without a value filter: every value
	filters []filter.Expression // otherwise the values any of these match
	allSubs bool                // a request without a sub-attribute: every sub-attribute
	subs    []*Attribute        // otherwise these
}

func include(res map[string]any, attrs []string, s *Schema) map[string]any {
	out := make(map[string]any, len(attrs)+len(alwaysReturned))
	for _, name := range alwaysReturned {
		if k, v, ok := Lookup(res, name); ok {
			out[k] = v
		}
	}
	wholeExt := map[*Schema]bool{}
	sels := map[string]*selection{}
	var order []*selection
	for _, a := range attrs {
		p, err := parsePath(a)
		if err != nil {
			continue
		}
		ap := p.AttributePath
		if ap.URIPrefix != nil && ap.SubAttribute == nil && p.ValueExpression == nil {
			if ext := s.Extension(ap.URI() + ":" + ap.AttributeName); ext != nil {
				wholeExt[ext] = true
				continue
			}
		}
		r, ok := s.resolve(ap.URI(), ap.AttributeName, ap.SubAttributeName())
		if !ok || r.Attr.Returned == ReturnedNever {
			continue
		}
		if name := p.SubAttributeName(); name != "" {
			if r.Sub = r.Attr.Sub(name); r.Sub == nil {
				continue
			}
		}
		key := r.Attr.Name
		if r.Extension != nil {
			key = r.Extension.ID + ":" + key
		}
		sel := sels[key]
		if sel == nil {
			sel = &selection{r: AttrRef{Extension: r.Extension, Attr: r.Attr}}
			sels[key] = sel
			order = append(order, sel)
		}
		if p.ValueExpression == nil {
			sel.allVals = true
		} else {
			sel.filters = append(sel.filters, p.ValueExpression)
		}
		if r.Sub == nil {
			sel.allSubs = true
		} else {
			sel.subs = append(sel.subs, r.Sub)
		}
	}
	for ext := range wholeExt {
		if k, v, ok := Lookup(res, ext.ID); ok {
			out[k] = v
		}
	}
	for _, sel := range order {
		src := res
		ext := sel.r.Extension
		if ext != nil {
			if wholeExt[ext] {
				continue
			}
			src = lookupMap(res, ext.ID)
		}
		k, v, ok := Lookup(src, sel.r.Attr.Name)
		if !ok {
			continue
		}
		if v = sel.narrow(v); isEmpty(v) {
			continue
		}
		dst := out
		if ext != nil {
			ek, _, _ := Lookup(res, ext.ID)
			if dst = lookupMap(out, ek); dst == nil {
				dst = map[string]any{}
				out[ek] = dst
			}
		}
		dst[k] = v
	}
	return out
}

// narrow keeps the values and sub-attributes a selection asks for.
func (sel *selection) narrow(v any) any {
	switch v := v.(type) {
	case []any:
		exact := scopedCaseExact(sel.r)
		var out []any
		for _, e := range v {
			m, ok := e.(map[string]any)
			if !sel.allVals && !(ok && sel.matches(m, exact)) {
				continue
			}
			if ok && !sel.allSubs {
				e = pick(m, sel.subs)
			}
			out = append(out, e)
		}
		return out
	case map[string]any:
		if !sel.allSubs {
			return pick(v, sel.subs)
		}
	}
	return v
}

func (sel *selection) matches(m map[string]any, exact func(string) bool) bool {
	for _, f := range sel.filters {
		if Matches(m, f, exact) {
			return true
		}
	}
	return false
}

// pick returns the given sub-attributes of m, under m's keys.
func pick(m map[string]any, subs []*Attribute) map[string]any {
	out := make(map[string]any, len(subs))
	for _, sub := range subs {
		if k, v, ok := Lookup(m, sub.Name); ok {
			out[k] = v
		}
	}
	return out
}

// exclude removes one excludedAttributes entry from out, copying what it
// changes below the top level.
func exclude(out map[string]any, path string, s *Schema) {
	p, err := parsePath(path)
	if err != nil || p.ValueExpression != nil {
		return
	}
	ap := p.AttributePath
	if ap.URIPrefix != nil && ap.SubAttribute == nil {
		if ext := s.Extension(ap.URI() + ":" + ap.AttributeName); ext != nil {
			Delete(out, ext.ID)
			return
		}
	}
	r, ok := s.resolve(ap.URI(), ap.AttributeName, ap.SubAttributeName())
	if !ok || r.Attr.Returned == ReturnedAlways || strings.EqualFold(r.Attr.Name, "meta") {
		return
	}
	obj := out
	if r.Extension != nil {
		k, _, _ := Lookup(out, r.Extension.ID)
		if obj = cloneMap(lookupMap(out, k)); len(obj) == 0 {
			return
		}
		defer func() { setOrDelete(out, k, obj) }()
	}
	if r.Sub == nil {
		Delete(obj, r.Attr.Name)
		return
	}
	k, v, _ := Lookup(obj, r.Attr.Name)
	switch v := v.(type) {
	case map[string]any:
		m := cloneMap(v)
		Delete(m, r.Sub.Name)
		setOrDelete(obj, k, m)
	case []any:
		values := make([]any, 0, len(v))
		for _, e := range v {
			if m, ok := e.(map[string]any); ok {
				m = cloneMap(m)
				Delete(m, r.Sub.Name)
				e = m
			}
			values = append(values, e)
		}
		obj[k] = values
	}
}
