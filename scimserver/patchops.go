package scimserver

import (
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// This file holds the attribute-level PATCH edits. obj is the object that
// holds r.Attr (the working resource or a copy of its extension object);
// anything below it is copied before it is changed.

// clears reports whether op removes its target: remove, or add/replace with
// "" or null (Entra's SCIM_Null_Update_Test).
func clears(op Op) bool {
	return op.Op == OpRemove || isEmpty(dropNulls(op.Value))
}

func setOrDelete(obj map[string]any, name string, v any) {
	if isEmpty(v) {
		Delete(obj, name)
	} else {
		Set(obj, name, v)
	}
}

// plain edits an attribute path without a value filter.
func (p *patcher) plain(obj map[string]any, r AttrRef, op Op) error {
	a := r.Attr
	switch {
	case r.Sub != nil && a.MultiValued:
		return p.everyValue(obj, r, op)
	case r.Sub != nil: // name.givenName, manager.value
		parent := cloneMap(lookupMap(obj, a.Name))
		if clears(op) {
			Delete(parent, r.Sub.Name)
		} else {
			v, err := coerceOne(r.Sub, dropNulls(op.Value), r.String())
			if err != nil {
				return err
			}
			Set(parent, r.Sub.Name, v)
		}
		var v any = parent
		if a == managerAttr {
			var err error
			if v, err = normalizeManager(parent, r.String()); err != nil {
				return err
			}
		}
		setOrDelete(obj, a.Name, v)
		return nil
	case a.MultiValued:
		return p.multi(obj, r, op)
	case clears(op):
		Delete(obj, a.Name)
		return nil
	case a.Type == TypeComplex && a != managerAttr:
		// RFC 7644 §3.5.2.1 and §3.5.2.3: the sub-attributes given replace
		// or add to the existing ones; those not given stay.
		raw, ok := op.Value.(map[string]any)
		if !ok {
			return InvalidValue("%s must be a JSON object, not %s", describe(r), jsonText(op.Value))
		}
		v, err := coerce(a, raw, a.Name)
		if err != nil {
			return err
		}
		coerced := v.(map[string]any)
		parent := cloneMap(lookupMap(obj, a.Name))
		for k, rv := range raw {
			if isEmpty(dropNulls(rv)) {
				Delete(parent, k)
				continue
			}
			name := k
			if sub := a.Sub(k); sub != nil {
				name = sub.Name
			}
			Set(parent, name, coerced[k])
		}
		setOrDelete(obj, a.Name, parent)
		return nil
	default:
		v, err := coerce(a, op.Value, r.String())
		if err != nil {
			return err
		}
		setOrDelete(obj, a.Name, v)
		return nil
	}
}

// multi edits a whole multi-valued attribute: emails, members.
func (p *patcher) multi(obj map[string]any, r AttrRef, op Op) error {
	a := r.Attr
	if isEmpty(dropNulls(op.Value)) {
		if op.Op != OpAdd { // replace with [], "" or null; remove without a value
			p.noteMembers(a, nil, list(obj, a))
			Delete(obj, a.Name)
		}
		return nil
	}
	v, err := coerce(a, op.Value, a.Name)
	if err != nil {
		return err
	}
	values := v.([]any)
	if a == groupMembers {
		if values, err = memberList(values); err != nil {
			return err
		}
	}
	switch op.Op {
	case OpReplace:
		p.membersReplaced = p.membersReplaced || a == groupMembers
		setOrDelete(obj, a.Name, values)
	case OpRemove: // the values listed go (Entra: remove members by value)
		kept, removed := removeValues(list(obj, a), values, valueExact(a))
		p.noteMembers(a, nil, removed)
		setOrDelete(obj, a.Name, kept)
	default:
		all, added := addValues(list(obj, a), values, a)
		p.noteMembers(a, added, nil)
		setOrDelete(obj, a.Name, all)
	}
	return nil
}

// groupMembers is the Group's members attribute.
var groupMembers = GroupSchema.Attr("members")

// everyValue edits a sub-attribute of every value of a multi-valued
// attribute ("emails.value" without a filter); setting "value" on an empty
// attribute creates one value.
func (p *patcher) everyValue(obj map[string]any, r AttrRef, op Op) error {
	values := list(obj, r.Attr)
	clear := clears(op)
	var v any
	if !clear {
		var err error
		if v, err = coerceOne(r.Sub, dropNulls(op.Value), r.String()); err != nil {
			return err
		}
		if len(values) == 0 && strings.EqualFold(r.Sub.Name, "value") {
			values = []any{map[string]any{}}
		}
	}
	out := values[:0]
	for _, e := range values {
		if m := setSub(e, r.Sub, v, clear); m != nil {
			out = append(out, m)
		}
	}
	if len(out) > 0 && isPrimary(out[0]) {
		onePrimary(out, 0) // "emails.primary": true cannot make every email primary
	}
	setOrDelete(obj, r.Attr.Name, out)
	return nil
}

// filtered edits the values a value filter selects: emails[type eq "work"],
// emails[type eq "work"].value, members[value eq "id"].
func (p *patcher) filtered(obj map[string]any, r AttrRef, op Op, expr filter.Expression) error {
	a := r.Attr
	values := list(obj, a)
	hits := matching(values, expr, scopedCaseExact(r))
	if clears(op) {
		var dropped []any
		for _, i := range hits {
			var m map[string]any
			if r.Sub != nil {
				m = setSub(values[i], r.Sub, nil, true)
			}
			if m == nil {
				dropped = append(dropped, values[i])
				values[i] = nil // removed below
			} else {
				values[i] = m
			}
		}
		p.noteMembers(a, nil, dropped)
		setOrDelete(obj, a.Name, slices.DeleteFunc(values, func(e any) bool { return e == nil }))
		return nil
	}
	var v any
	var err error
	if r.Sub != nil {
		v, err = coerceOne(r.Sub, dropNulls(op.Value), r.String())
	} else {
		v, err = coerceOne(a, dropNulls(op.Value), a.Name)
	}
	if err != nil {
		return err
	}
	created := len(hits) == 0
	if created {
		// Entra expects the value to be created (RFC 7644 says noTarget).
		seed, ok := eqTerms(expr, a)
		if !ok || a == groupMembers && lookupString(seed, "value") == "" {
			return NoTarget("%s matches no value, and its filter does not say how to create one", op.Path)
		}
		values = append(values, seed)
		hits = []int{len(values) - 1}
	}
	for _, i := range hits {
		if r.Sub != nil {
			values[i] = setSub(values[i], r.Sub, v, false)
		} else {
			values[i] = merge(values[i], v.(map[string]any), a)
		}
	}
	if created {
		p.noteMembers(a, values[len(values)-1:], nil)
	}
	if isPrimary(values[hits[0]]) && (r.Sub == nil || strings.EqualFold(r.Sub.Name, "primary")) {
		onePrimary(values, hits[0])
	}
	setOrDelete(obj, a.Name, values)
	return nil
}

// eqTerms builds a new value from a filter made of eq comparisons joined by
// and: emails[type eq "work"] → {"type": "work"}.
func eqTerms(expr filter.Expression, a *Attribute) (map[string]any, bool) {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		if e.Operator != filter.AND {
			return nil, false
		}
		l, ok1 := eqTerms(e.Left, a)
		r, ok2 := eqTerms(e.Right, a)
		if !ok1 || !ok2 {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	case *filter.AttributeExpression:
		if !strings.EqualFold(string(e.Operator), string(filter.EQ)) || e.AttributePath.SubAttribute != nil ||
			e.AttributePath.URIPrefix != nil || e.CompareValue == nil {
			return nil, false
		}
		name, v := e.AttributePath.AttributeName, e.CompareValue
		if sub := a.Sub(name); sub != nil {
			var err error
			if v, err = coerceOne(sub, v, a.Name+"."+sub.Name); err != nil {
				return nil, false
			}
			name = sub.Name
		}
		return map[string]any{name: v}, true
	}
	return nil, false
}
