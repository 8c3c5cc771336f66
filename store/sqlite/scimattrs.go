package sqlite

import (
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/idpsync/idpsync/reconcile"
)

// The SCIM attributes a filter may name (RFC 7643 §4, §4.3, §3.1), and
// where each one lives: in a column, in the membership tables, or in the
// stored resource JSON (read with json_each, matching keys in any letter
// case, as the IdP may have written them).

const (
	userURN       = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

type valueKind int

const (
	kindString valueKind = iota
	kindBool
	kindTime
	kindComplex
)

// attrDef is an attribute of the stored JSON.
type attrDef struct {
	name  string // lower case: keys are matched by lower(key)
	kind  valueKind
	multi bool
	subs  map[string]*attrDef // by lower-case name
}

func str(name string) *attrDef { return &attrDef{name: strings.ToLower(name)} }

func boolean(name string) *attrDef { return &attrDef{name: strings.ToLower(name), kind: kindBool} }

func complexAttr(name string, multi bool, subs ...*attrDef) *attrDef {
	a := &attrDef{name: strings.ToLower(name), kind: kindComplex, multi: multi, subs: map[string]*attrDef{}}
	for _, s := range subs {
		a.subs[s.name] = s
	}
	return a
}

// multiValued is the common shape of emails, phoneNumbers and the like.
func multiValued(name string) *attrDef {
	return complexAttr(name, true, str("value"), str("display"), str("type"), boolean("primary"), str("$ref"))
}

func attrTable(as ...*attrDef) map[string]*attrDef {
	m := make(map[string]*attrDef, len(as))
	for _, a := range as {
		m[a.name] = a
	}
	return m
}

// userJSON are the core User attributes read from the stored resource;
// userName, id, externalId, active, meta and groups are read from columns.
var userJSON = attrTable(
	complexAttr("name", false, str("formatted"), str("familyName"), str("givenName"), str("middleName"),
		str("honorificPrefix"), str("honorificSuffix")),
	str("displayName"), str("nickName"), str("profileUrl"), str("title"), str("userType"),
	str("preferredLanguage"), str("locale"), str("timezone"),
	multiValued("emails"), multiValued("phoneNumbers"), multiValued("ims"), multiValued("photos"),
	complexAttr("addresses", true, str("formatted"), str("streetAddress"), str("locality"), str("region"),
		str("postalCode"), str("country"), str("type"), boolean("primary")),
	multiValued("entitlements"), multiValued("roles"), multiValued("x509Certificates"),
)

// enterpriseJSON is the enterprise extension, stored under its URN.
var enterpriseJSON = attrTable(
	str("employeeNumber"), str("costCenter"), str("organization"), str("division"), str("department"),
	complexAttr("manager", false, str("value"), str("$ref"), str("displayName")),
)

// column is an attribute kept in a column (or computed by an SQL expression).
type column struct {
	expr     string
	kind     valueKind
	exact    bool                // case-exact (RFC 7643 caseExact)
	fold     func(string) string // the column holds folded values: compare with fold(value)…
	eqFold   func(string) string // … or, for eq and ne, with eqFold(value) when set
	nullable bool
}

var (
	colID         = column{expr: "r.id", exact: true}
	colExternalID = column{expr: "r.external_id", exact: true}
	colCreated    = column{expr: "r.created_at", kind: kindTime}
	colModified   = column{expr: "r.updated_at", kind: kindTime}
)

// columnsFor lists the column attributes of a resource type at the root.
func columnsFor(typ string) map[string]column {
	if typ == "Group" {
		return map[string]column{
			"id": colID, "externalid": colExternalID,
			"displayname": {expr: "r.display_key", fold: displayKey},
		}
	}
	return map[string]column{
		"id": colID, "externalid": colExternalID,
		"username": {expr: "r.user_key", fold: strings.ToLower, eqFold: reconcile.FoldName},
		"active":   {expr: "r.active", kind: kindBool},
	}
}

func metaColumns(typ string) map[string]column {
	return map[string]column{
		"created": colCreated, "lastmodified": colModified,
		"resourcetype": {expr: "'" + typ + "'", exact: true},
	}
}

// membership is the members of a group, or the groups of a user: rows of
// source_members, filtered through sub-attributes mapped to columns.
type membership struct {
	from string            // FROM … WHERE, correlated with the resource row r; {a} is the row alias
	cols map[string]column // sub-attribute → column ({a} is the row alias)
}

var groupMembers = membership{
	from: "source_members {a} WHERE {a}.group_pk = r.pk",
	cols: map[string]column{
		"value":   {expr: "{a}.member", exact: true}, // ids: looked up in the primary key
		"display": {expr: "{a}.display", nullable: true},
	},
}

// userGroups are a user's direct groups (type "direct").
var userGroups = membership{
	from: "source_members {a}m JOIN source_groups {a} ON {a}.pk = {a}m.group_pk WHERE {a}m.member = r.id AND {a}.source_pk = r.source_pk",
	cols: map[string]column{
		"value":   {expr: "{a}.id", exact: true},
		"display": {expr: "{a}.display_name"},
		"type":    {expr: "'direct'", exact: true},
	},
}

// attrRef is where a filter's attribute path points.
type attrRef struct {
	col  *column     // a column
	memb *membership // members or groups; sub names the sub-attribute ("" for the whole)
	json *attrDef    // a JSON attribute
	ext  string      // the JSON attribute's container key (an extension URN), or "" for the root
	sub  *attrDef    // the JSON attribute's sub-attribute, if named
	name string      // the path, for messages
}

// resolve finds the attribute a path at the root of a resource names.
func resolve(typ string, p filter.AttributePath) (attrRef, error) {
	ref := attrRef{name: p.String()}
	name, sub := strings.ToLower(p.AttributeName), strings.ToLower(p.SubAttributeName())
	uri := p.URI()
	table := userJSON
	switch {
	case uri == "":
	case typ == "User" && strings.EqualFold(uri, userURN), typ == "Group" && strings.EqualFold(uri, groupURN):
	case typ == "User" && strings.EqualFold(uri, enterpriseURN):
		table, ref.ext = enterpriseJSON, strings.ToLower(enterpriseURN)
	default:
		return ref, invalidFilter("%s: no schema %q for %ss", ref.name, uri, typ)
	}
	if ref.ext == "" {
		switch {
		case name == "meta":
			c, ok := metaColumns(typ)[sub]
			if !ok {
				return ref, invalidFilter("%s: not a filterable attribute of meta", ref.name)
			}
			ref.col = &c
			return ref, nil
		case name == "members" && typ == "Group", name == "groups" && typ == "User":
			ref.memb = &groupMembers
			if typ == "User" {
				ref.memb = &userGroups
			}
			if sub != "" {
				c, ok := ref.memb.cols[sub]
				if !ok {
					return ref, invalidFilter("%s: not a filterable attribute", ref.name)
				}
				ref.col = &c
			}
			return ref, nil
		case name == "password" && typ == "User":
			return ref, invalidFilter("%s: the password cannot be filtered on", ref.name)
		}
		if c, ok := columnsFor(typ)[name]; ok && sub == "" {
			ref.col = &c
			return ref, nil
		}
		if typ == "Group" {
			table = nil
		}
	}
	a := table[name]
	if a == nil && typ == "User" && uri == "" {
		// A bare enterprise attribute ("manager eq x", as Microsoft documents
		// its reference check) names the extension's: the core has none of them.
		if a = enterpriseJSON[name]; a != nil {
			ref.ext = strings.ToLower(enterpriseURN)
		}
	}
	if a == nil {
		return ref, invalidFilter("%s: unknown attribute", ref.name)
	}
	ref.json = a
	if sub != "" {
		if ref.sub = a.subs[sub]; ref.sub == nil {
			return ref, invalidFilter("%s: unknown attribute", ref.name)
		}
	}
	return ref, nil
}

// target returns the attribute a path names, at the root (sc nil) or
// inside a value path. forCompare: a complex attribute named alone stands
// for its "value" sub-attribute.
func (q *filterSQL) target(p filter.AttributePath, sc *elemScope, forCompare bool) (*target, error) {
	if sc != nil {
		return q.elemTarget(p, sc)
	}
	ref, err := resolve(q.typ, p)
	if err != nil {
		return nil, err
	}
	switch {
	case ref.memb != nil:
		a := q.alias()
		col := ref.memb.cols["value"]
		if ref.col != nil {
			col = *ref.col
		}
		col.expr = strings.ReplaceAll(col.expr, "{a}", a)
		from := strings.ReplaceAll(ref.memb.from, "{a}", a)
		return &target{kind: col.kind, col: col, exists: func(c leafCond) string {
			return "EXISTS (SELECT 1 FROM " + from + " AND " + c(leaf{expr: col.expr, nullable: col.nullable}) + ")"
		}}, nil
	case ref.col != nil:
		col := *ref.col
		return &target{kind: col.kind, col: col, exists: func(c leafCond) string {
			return c(leaf{expr: col.expr, nullable: col.nullable})
		}}, nil
	}
	a, sub := ref.json, ref.sub
	if sub == nil && a.kind == kindComplex && forCompare {
		if sub = a.subs["value"]; sub == nil {
			return nil, invalidFilter("%s is complex: compare one of its sub-attributes", ref.name)
		}
	}
	t := &target{kind: a.kind}
	if sub != nil {
		t.kind = sub.kind
	}
	t.exists = func(c leafCond) string {
		return q.inAttr(ref, func(at string) string {
			switch {
			case sub != nil:
				return q.elems(at, func(e string) string {
					x := q.child(e, sub.name, c)
					if ref.sub == nil { // "manager eq x": a manager written as a plain id counts too
						x = "(" + x + " OR (" + e + ".type NOT IN ('object', 'array') AND " + c(leaf{row: e}) + "))"
					}
					return x
				})
			case a.kind == kindComplex:
				return q.elems(at, func(e string) string { return c(leaf{row: e}) })
			}
			return c(leaf{row: at})
		})
	}
	return t, nil
}

// elemTarget resolves a sub-attribute inside a value path.
func (q *filterSQL) elemTarget(p filter.AttributePath, sc *elemScope) (*target, error) {
	name := strings.ToLower(p.AttributeName)
	if p.URI() != "" || p.SubAttribute != nil {
		return nil, invalidFilter("%s: inside a value path, name a sub-attribute", p)
	}
	if sc.memb != nil {
		col, ok := sc.memb.cols[name]
		if !ok {
			return nil, invalidFilter("%s: not a filterable attribute", p)
		}
		col.expr = strings.ReplaceAll(col.expr, "{a}", sc.row)
		return &target{kind: col.kind, col: col, exists: func(c leafCond) string {
			return c(leaf{expr: col.expr, nullable: col.nullable})
		}}, nil
	}
	sub := sc.json.subs[name]
	if sub == nil {
		return nil, invalidFilter("%s.%s: unknown attribute", sc.json.name, p)
	}
	return &target{kind: sub.kind, exists: func(c leafCond) string { return q.child(sc.row, sub.name, c) }}, nil
}

// valuePath translates attr[filter]: some element of attr satisfies filter.
func (q *filterSQL) valuePath(v *filter.ValuePath) (string, error) {
	ref, err := resolve(q.typ, v.AttributePath)
	if err != nil {
		return "", err
	}
	switch {
	case ref.memb != nil && ref.col == nil:
		a := q.alias()
		inner, err := q.expr(v.ValueFilter, &elemScope{memb: ref.memb, row: a})
		if err != nil {
			return "", err
		}
		return "EXISTS (SELECT 1 FROM " + strings.ReplaceAll(ref.memb.from, "{a}", a) + " AND " + inner + ")", nil
	case ref.json != nil && ref.sub == nil && ref.json.kind == kindComplex:
		var ferr error
		s := q.inAttr(ref, func(at string) string {
			return q.elems(at, func(e string) string {
				inner, err := q.expr(v.ValueFilter, &elemScope{json: ref.json, row: e})
				if err != nil {
					ferr = err
				}
				return "(" + e + ".type = 'object' AND " + inner + ")"
			})
		})
		return s, ferr
	}
	return "", invalidFilter("%s: a value path needs a complex attribute", ref.name)
}

// inAttr holds when the resource's JSON has the attribute ref names (its
// key in any letter case, inside its extension's object if any) and f holds
// for the json_each row of that key.
func (q *filterSQL) inAttr(ref attrRef, f func(row string) string) string {
	src := "r.resource"
	var ext string
	if ref.ext != "" {
		ext = q.alias()
		src = ext + ".value"
	}
	a := q.alias()
	s := "EXISTS (SELECT 1 FROM json_each(" + src + ") " + a + " WHERE lower(" + a + ".key) = " + lit(ref.json.name) +
		" AND " + f(a) + ")"
	if ext == "" {
		return s
	}
	return "EXISTS (SELECT 1 FROM json_each(r.resource) " + ext + " WHERE lower(" + ext + ".key) = " + lit(ref.ext) +
		" AND " + ext + ".type = 'object' AND " + s + ")"
}

// elems holds when f holds for one element of the JSON value in row (an
// array), or for the value itself when it is not an array.
func (q *filterSQL) elems(row string, f func(e string) string) string {
	e := q.alias()
	many := "EXISTS (SELECT 1 FROM json_each(" + row + ".value) " + e + " WHERE " + f(e) + ")"
	one := f(row)
	return "((" + row + ".type = 'array' AND " + many + ") OR (" + row + ".type <> 'array' AND " + one + "))"
}

// child holds when the JSON object in row has the key name (in any letter
// case) and c holds for its value.
func (q *filterSQL) child(row, name string, c leafCond) string {
	s := q.alias()
	return "(" + row + ".type = 'object' AND EXISTS (SELECT 1 FROM json_each(" + row + ".value) " + s +
		" WHERE lower(" + s + ".key) = " + lit(name) + " AND " + c(leaf{row: s}) + "))"
}
