package scimserver

import (
	"fmt"
	"strings"
)

// Schema URNs (RFC 7643 §8.7).
const (
	UserURN           = "urn:ietf:params:scim:schemas:core:2.0:User"
	EnterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	GroupURN          = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

// Attribute types, mutability, returned and uniqueness values (RFC 7643 §7).
const (
	TypeString    = "string"
	TypeBoolean   = "boolean"
	TypeDecimal   = "decimal"
	TypeInteger   = "integer"
	TypeDateTime  = "dateTime"
	TypeBinary    = "binary"
	TypeReference = "reference"
	TypeComplex   = "complex"

	ReadOnly  = "readOnly"
	ReadWrite = "readWrite"
	Immutable = "immutable"
	WriteOnly = "writeOnly"

	ReturnedAlways  = "always"
	ReturnedNever   = "never"
	ReturnedDefault = "default"
	ReturnedRequest = "request"

	UniqueNone   = "none"
	UniqueServer = "server"
	UniqueGlobal = "global"
)

// Attribute describes one attribute of a schema (RFC 7643 §7). It encodes
// as the attribute's entry in a /Schemas document.
type Attribute struct {
	Name            string       `json:"name"`
	Type            string       `json:"type"`
	MultiValued     bool         `json:"multiValued"`
	Description     string       `json:"description,omitempty"`
	Required        bool         `json:"required"`
	CanonicalValues []string     `json:"canonicalValues,omitempty"`
	CaseExact       bool         `json:"caseExact"`
	Mutability      string       `json:"mutability"`
	Returned        string       `json:"returned"`
	Uniqueness      string       `json:"uniqueness"`
	ReferenceTypes  []string     `json:"referenceTypes,omitempty"`
	SubAttributes   []*Attribute `json:"subAttributes,omitempty"`
}

// Sub returns the sub-attribute called name (any letter case), or nil.
func (a *Attribute) Sub(name string) *Attribute {
	return findAttr(a.SubAttributes, name)
}

// Schema is a SCIM schema: a core resource schema (User, Group) with the
// extensions its resources may carry, or an extension itself. The values in
// UserSchema, EnterpriseUserSchema and GroupSchema are shared: read them,
// never change them.
type Schema struct {
	ID          string
	Name        string
	Description string
	Attributes  []*Attribute
	Extensions  []*Schema // extension schemas of a core schema (the User's enterprise extension)
}

// Attr returns the attribute of this schema (not of its extensions) called
// name in any letter case, or nil.
func (s *Schema) Attr(name string) *Attribute { return findAttr(s.Attributes, name) }

// Extension returns the extension with the given URN (any letter case), or
// nil.
func (s *Schema) Extension(urn string) *Schema {
	for _, e := range s.Extensions {
		if strings.EqualFold(e.ID, urn) {
			return e
		}
	}
	return nil
}

func findAttr(attrs []*Attribute, name string) *Attribute {
	for _, a := range attrs {
		if a.Name == name {
			return a
		}
	}
	for _, a := range attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// AttrRef is an attribute path resolved against a schema.
type AttrRef struct {
	Extension *Schema    // the extension that defines Attr, nil for the core schema; its URN is the JSON key the attribute lives under
	Attr      *Attribute // the attribute
	Sub       *Attribute // the sub-attribute, nil when the path names none
}

// String returns the canonical path: "name.givenName",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
func (r AttrRef) String() string {
	s := r.Attr.Name
	if r.Extension != nil {
		s = r.Extension.ID + ":" + s
	}
	if r.Sub != nil {
		s += "." + r.Sub.Name
	}
	return s
}

// leaf is the attribute a comparison applies to: the sub-attribute, or for
// a multi-valued complex attribute named alone its "value" (RFC 7644
// §3.4.2.2), or the attribute itself.
func (r AttrRef) leaf() *Attribute {
	switch {
	case r.Sub != nil:
		return r.Sub
	case r.Attr.Type == TypeComplex:
		if v := r.Attr.Sub("value"); v != nil {
			return v
		}
	}
	return r.Attr
}

// Resolve resolves an attribute path (no value filter) such as "userName",
// "name.FamilyName", "urn:ietf:params:scim:schemas:core:2.0:User:userName"
// or "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
// case-insensitively. A bare name that the core schema lacks is looked up in
// the extensions (Entra sends "manager" alone). Failure is 400 invalidPath.
func (s *Schema) Resolve(path string) (AttrRef, error) {
	uri, name, sub := splitAttrPath(path)
	if r, ok := s.resolve(uri, name, sub); ok {
		return r, nil
	}
	return AttrRef{}, InvalidPath("%q is not an attribute of %s", path, s.ID)
}

func (s *Schema) resolve(uri, name, sub string) (AttrRef, bool) {
	var r AttrRef
	switch {
	case uri == "" || strings.EqualFold(uri, s.ID):
		r.Attr = s.Attr(name)
		if r.Attr == nil && uri == "" {
			for _, e := range s.Extensions {
				if r.Attr = e.Attr(name); r.Attr != nil {
					r.Extension = e
					break
				}
			}
		}
	default:
		if r.Extension = s.Extension(uri); r.Extension != nil {
			r.Attr = r.Extension.Attr(name)
		}
	}
	if r.Attr == nil {
		return AttrRef{}, false
	}
	if sub != "" {
		if r.Sub = r.Attr.Sub(sub); r.Sub == nil {
			return AttrRef{}, false
		}
	}
	return r, true
}

// schemaURN returns the URN of s or of one of its extensions equal to uri
// in any letter case, or nil.
func (s *Schema) schemaURN(uri string) *Schema {
	if strings.EqualFold(uri, s.ID) {
		return s
	}
	return s.Extension(uri)
}

// CaseExact reports whether values at an attribute path compare
// case-sensitively; pass it to Matches. Unknown paths are case-insensitive.
func (s *Schema) CaseExact(path string) bool {
	r, err := s.Resolve(path)
	return err == nil && r.leaf().CaseExact
}

// splitAttrPath splits "urn:...:User:name.givenName" into its schema URN,
// attribute name and sub-attribute name. It does not validate: a name that
// resolves to nothing is rejected by the caller.
func splitAttrPath(p string) (uri, name, sub string) {
	if i := strings.LastIndexByte(p, ':'); i >= 0 {
		uri, p = p[:i], p[i+1:]
	}
	name, sub, _ = strings.Cut(p, ".")
	return uri, name, sub
}

// Canonical returns a copy of res with every attribute the schema knows
// under its canonical name ("DisplayName" → "displayName", "Primary" →
// "primary", "name.FamilyName" stays nested), for a store that filters on
// fixed JSON paths. Unknown keys are copied as they are.
func (s *Schema) Canonical(res map[string]any) map[string]any {
	out := make(map[string]any, len(res))
	for k, v := range res {
		if ext := s.Extension(k); ext != nil {
			if m, ok := v.(map[string]any); ok {
				out[ext.ID] = canonicalAttrs(ext.Attributes, m)
				continue
			}
		}
		a := s.Attr(k)
		if a == nil {
			out[k] = v
			continue
		}
		out[a.Name] = canonicalValue(a, v)
	}
	return out
}

func canonicalValue(a *Attribute, v any) any {
	if a.Type != TypeComplex {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		return canonicalAttrs(a.SubAttributes, v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			if m, ok := e.(map[string]any); ok {
				out[i] = canonicalAttrs(a.SubAttributes, m)
			} else {
				out[i] = e
			}
		}
		return out
	}
	return v
}

func canonicalAttrs(attrs []*Attribute, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if a := findAttr(attrs, k); a != nil {
			out[a.Name] = canonicalValue(a, v)
		} else {
			out[k] = v
		}
	}
	return out
}

// describe names an attribute in error details.
func describe(r AttrRef) string { return fmt.Sprintf("%q", r.String()) }
