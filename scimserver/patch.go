package scimserver

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// PATCH operation names, as Op.Op holds them.
const (
	OpAdd     = "add"
	OpReplace = "replace"
	OpRemove  = "remove"
)

// Op is one PATCH operation (RFC 7644 §3.5.2).
type Op struct {
	Op    string // OpAdd, OpReplace or OpRemove (any case accepted by ParsePatch, lower case here)
	Path  string // as sent; "" when the operation has none
	Value any    // as decoded (numbers are json.Number); nil when absent or null

	path *filter.Path // Path parsed by ParsePatch; parsed on use otherwise
}

// ParsePatch decodes a PATCH body: schemas must list
// urn:ietf:params:scim:api:messages:2.0:PatchOp and Operations hold one or
// more operations, whose "op" is add, replace or remove in any letter case
// (Entra sends "Replace"). Paths are parsed here (see ParseFilter for the
// unquoted values accepted in value filters). Errors are *Error: 400
// invalidSyntax for a malformed message, invalidValue for a missing value,
// invalidPath or invalidFilter for a bad path.
func ParsePatch(body []byte) ([]Op, error) {
	msg, err := DecodeResource(body)
	if err != nil {
		return nil, err
	}
	_, schemas, _ := Lookup(msg, "schemas")
	list, _ := schemas.([]any)
	if !slices.ContainsFunc(list, func(v any) bool { s, _ := v.(string); return strings.EqualFold(s, PatchOpURN) }) {
		return nil, InvalidSyntax("schemas must be [%q]", PatchOpURN)
	}
	_, raw, _ := Lookup(msg, "Operations")
	rawOps, ok := raw.([]any)
	if !ok || len(rawOps) == 0 {
		return nil, InvalidSyntax("Operations must be an array of one or more operations")
	}
	ops := make([]Op, len(rawOps))
	for i, r := range rawOps {
		op, err := parseOp(r)
		if err != nil {
			return nil, opError(i, err)
		}
		ops[i] = op
	}
	return ops, nil
}

func parseOp(raw any) (Op, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return Op{}, InvalidSyntax("an operation must be a JSON object")
	}
	name, _ := lookupValue(m, "op").(string)
	op := Op{Op: strings.ToLower(name)}
	switch op.Op {
	case OpAdd, OpReplace, OpRemove:
	default:
		return Op{}, InvalidSyntax("op must be add, replace or remove, not %s", jsonText(lookupValue(m, "op")))
	}
	switch p := lookupValue(m, "path").(type) {
	case nil:
	case string:
		op.Path = strings.TrimSpace(p)
	default:
		return Op{}, InvalidPath("path must be a string, not %s", jsonText(p))
	}
	if op.Path != "" {
		p, err := parsePath(op.Path)
		if err != nil {
			return Op{}, err
		}
		op.path = &p
	}
	_, op.Value, ok = Lookup(m, "value")
	if op.Op == OpAdd && !ok {
		return Op{}, InvalidValue("add needs a value")
	}
	return op, nil
}

func lookupValue(m map[string]any, name string) any {
	_, v, _ := Lookup(m, name)
	return v
}

// opError prefixes an operation's index to a SCIM error's detail.
func opError(i int, err error) error {
	var se *Error
	if errors.As(err, &se) {
		return &Error{Status: se.Status, ScimType: se.ScimType, Detail: fmt.Sprintf("Operations[%d]: %s", i, se.Detail)}
	}
	return err
}

// ApplyUserPatch applies ops to a User resource, all or nothing: on error
// res is unchanged. It implements RFC 7644 §3.5.2 and what Entra and Okta
// send:
//
//   - a path-less add or replace takes plain, dotted ("name.givenName") and
//     URN-qualified keys in its value, and ignores read-only ones (id);
//   - a value-path target (`emails[type eq "work"].value`) that matches
//     nothing is created on add and replace, from the filter's eq terms;
//     remove deletes the matching values only;
//   - "" or null clears the target; removing something absent is fine;
//   - active takes "True"/"False"; manager takes "id", {"value": id} and
//     [{"value": id}];
//   - an added value equal to one present (same "value") is merged into it;
//     for emails, phoneNumbers, ims, photos and addresses so is one of a
//     type already present (types stay unique); a value set primary makes
//     the others not primary.
//
// A path naming no attribute of the schema is 400 invalidPath, a read-only
// one 400 mutability, remove without a path 400 noTarget; the password is
// accepted and dropped. userName must still be set afterwards.
func ApplyUserPatch(res map[string]any, ops []Op) error {
	p := &patcher{s: UserSchema, res: cloneMap(res)}
	if err := p.run(ops); err != nil {
		return err
	}
	if err := requireString(p.res, "userName"); err != nil {
		return err
	}
	p.commit(res)
	return nil
}

// MemberChange lists the member ids a group PATCH added and removed,
// compared with the members before it, so the caller re-derives exactly
// those users.
type MemberChange struct {
	Added   []string
	Removed []string
}

// ApplyGroupPatch applies ops to a Group resource, all or nothing, like
// ApplyUserPatch: members are added (one or many; objects or bare ids),
// removed by value list ({"op":"remove","path":"members","value":[{"value":id}]})
// or by filter (members[value eq "id"], which removes only that member),
// removed all (remove members, no value) or replaced wholesale (also with
// []); a path-less replace {"id":..,"displayName":..} (Okta) renames the
// group and ignores id. displayName must still be set afterwards.
func ApplyGroupPatch(res map[string]any, ops []Op) (MemberChange, error) {
	p := &patcher{s: GroupSchema, res: cloneMap(res)}
	if err := p.run(ops); err != nil {
		return MemberChange{}, err
	}
	if err := requireString(p.res, "displayName"); err != nil {
		return MemberChange{}, err
	}
	change := p.memberChange(res)
	p.commit(res)
	return change, nil
}

func memberIDs(res map[string]any) []string {
	_, v, _ := Lookup(res, "members")
	return valueIDs(v)
}

// valueIDs returns the "value" of each value of a multi-valued attribute.
func valueIDs(v any) []string {
	list, _ := v.([]any)
	if len(list) == 0 {
		return nil
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		if id := lookupString(m, "value"); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// noteMembers records the values an edit of attribute a added and removed,
// when a is a group's members.
func (p *patcher) noteMembers(a *Attribute, added, removed []any) {
	if a != groupMembers {
		return
	}
	p.added = append(p.added, valueIDs(added)...)
	p.removed = append(p.removed, valueIDs(removed)...)
}

// memberChange is the net change of membership. The edits record what they
// add and remove, so adding one member to a big group costs one pass over
// it; after a wholesale replace the member lists are compared instead.
func (p *patcher) memberChange(before map[string]any) MemberChange {
	var c MemberChange
	if p.membersReplaced {
		was := make(map[string]bool)
		for _, id := range memberIDs(before) {
			was[id] = true
		}
		for _, id := range memberIDs(p.res) {
			if !was[id] {
				c.Added = append(c.Added, id)
			}
			delete(was, id)
		}
		for _, id := range memberIDs(before) {
			if was[id] {
				c.Removed = append(c.Removed, id)
			}
		}
		return c
	}
	// An id is added and removed alternately, so the counts differ by at
	// most one: removed and added back (or the reverse) is no change.
	net := map[string]int{}
	for _, id := range p.added {
		net[id]++
	}
	for _, id := range p.removed {
		net[id]--
	}
	for _, id := range p.added {
		if net[id] > 0 {
			c.Added = append(c.Added, id)
			net[id] = 0
		}
	}
	for _, id := range p.removed {
		if net[id] < 0 {
			c.Removed = append(c.Removed, id)
			net[id] = 0
		}
	}
	return c
}

// patcher applies operations to a working copy of a resource. Every change
// copies what it changes (copy-on-write), so the caller's resource and the
// values it shares with the copy are never modified until commit.
type patcher struct {
	s               *Schema
	res             map[string]any
	added, removed  []string // member ids the edits added and removed, in order
	membersReplaced bool     // a group's members were replaced by a new list
}

func (p *patcher) run(ops []Op) error {
	for i, op := range ops {
		if err := p.apply(op); err != nil {
			return opError(i, err)
		}
	}
	return nil
}

func (p *patcher) commit(res map[string]any) {
	var used []string
	for _, e := range p.s.Extensions {
		if lookupMap(p.res, e.ID) != nil {
			used = append(used, e.ID)
		}
	}
	fixSchemas(p.res, p.s.ID, used)
	clear(res)
	maps.Copy(res, p.res)
}

func (p *patcher) apply(op Op) error {
	op.Op = strings.ToLower(op.Op)
	switch op.Op {
	case OpAdd, OpReplace, OpRemove:
	default:
		return InvalidSyntax("op must be add, replace or remove, not %q", op.Op)
	}
	if op.Path == "" {
		if op.Op == OpRemove {
			return NoTarget("remove needs a path")
		}
		return p.applyObject(op, p.s, op.Value)
	}
	path := op.path
	if path == nil {
		pp, err := parsePath(op.Path)
		if err != nil {
			return err
		}
		path = &pp
	}
	ap := path.AttributePath
	if ap.URIPrefix != nil && ap.SubAttribute == nil && path.ValueExpression == nil {
		if s := p.s.schemaURN(ap.URI() + ":" + ap.AttributeName); s != nil {
			// The path is a schema URN: its attributes are in the value.
			if op.Op == OpRemove && s != p.s {
				Delete(p.res, s.ID)
				return nil
			}
			if op.Op == OpRemove {
				return NoTarget("remove cannot target the whole resource")
			}
			return p.applyObject(op, s, op.Value)
		}
	}
	r, ok := p.s.resolve(ap.URI(), ap.AttributeName, ap.SubAttributeName())
	if !ok {
		return InvalidPath("%q is not an attribute of %s", op.Path, p.s.ID)
	}
	if path.ValueExpression != nil || path.SubAttribute != nil {
		if !r.Attr.MultiValued || r.Sub != nil {
			return InvalidPath("%q: a value filter needs a multi-valued attribute", op.Path)
		}
		if sub := path.SubAttributeName(); sub != "" {
			if r.Sub = r.Attr.Sub(sub); r.Sub == nil {
				return InvalidPath("%q: %s has no sub-attribute %q", op.Path, r.Attr.Name, sub)
			}
		}
	}
	if err := checkWritable(r); err != nil {
		return err
	}
	if r.Attr.Returned == ReturnedNever {
		return nil // the password: accepted, never stored
	}
	return p.edit(r, func(obj map[string]any) error {
		if path.ValueExpression != nil {
			return p.filtered(obj, r, op, path.ValueExpression)
		}
		return p.plain(obj, r, op)
	})
}

func checkWritable(r AttrRef) error {
	switch {
	case r.Attr.Mutability == ReadOnly || r.Sub != nil && r.Sub.Mutability == ReadOnly:
		return Mutability("%s is read-only", describe(r))
	case r.Sub != nil && r.Sub.Mutability == Immutable:
		return Mutability("%s cannot be changed", describe(r))
	}
	return nil
}

// applyObject applies a path-less add or replace, or one whose path is a
// schema URN: each key of value is an attribute path of its own. Unknown,
// read-only and write-only keys are ignored, as in a POST body (Okta sends
// the group's id; password changes arrive this way).
func (p *patcher) applyObject(op Op, s *Schema, value any) error {
	obj, ok := value.(map[string]any)
	if !ok {
		return InvalidValue("a %s without a path needs a JSON object as its value, not %s", op.Op, jsonText(value))
	}
	for _, k := range sortedKeys(obj) {
		if strings.EqualFold(k, "schemas") {
			continue
		}
		if sch := p.s.schemaURN(k); sch != nil && s == p.s {
			// {"urn:...:enterprise:2.0:User": {"department": "x"}}
			if err := p.applyObject(op, sch, obj[k]); err != nil {
				return err
			}
			continue
		}
		uri, name, sub := splitAttrPath(k)
		if uri == "" && s != p.s {
			uri = s.ID
		}
		r, ok := p.s.resolve(uri, name, sub)
		if !ok || checkWritable(r) != nil || r.Attr.Returned == ReturnedNever {
			continue
		}
		one := Op{Op: op.Op, Path: k, Value: obj[k]}
		if err := p.edit(r, func(o map[string]any) error { return p.plain(o, r, one) }); err != nil {
			return err
		}
	}
	return nil
}

// edit runs fn on the object that holds r's attribute: the resource, or a
// copy of its extension object, stored back afterwards (dropped if empty).
func (p *patcher) edit(r AttrRef, fn func(obj map[string]any) error) error {
	if r.Extension == nil {
		return fn(p.res)
	}
	k, _, _ := Lookup(p.res, r.Extension.ID)
	if k == "" {
		k = r.Extension.ID
	}
	obj := cloneMap(lookupMap(p.res, k))
	if err := fn(obj); err != nil {
		return err
	}
	if len(obj) == 0 {
		delete(p.res, k)
	} else {
		p.res[k] = obj
	}
	return nil
}
