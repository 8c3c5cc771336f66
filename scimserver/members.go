package scimserver

import (
	"regexp"
	"strings"
)

// memberFilterPath matches the one filtered members path IdPs send:
// members[value eq "id"] (Okta, Entra with the 2020 flag), quotes optional.
var memberFilterPath = regexp.MustCompile(`(?i)^(?:urn:ietf:params:scim:schemas:core:2\.0:group:)?members\[\s*value\s+eq\s+(?:"((?:[^"\\]|\\.)*)"|([^\s\]"]+))\s*\]$`)

// namedMembers returns every member id a group PATCH's operations name,
// when each operation on members names its members: add or remove a list
// of members, or remove members[value eq "id"]. ok is false when an
// operation needs the whole member list (replace members, remove them all,
// another filter, a path-less value holding members).
func namedMembers(ops []Op) (ids []string, ok bool) {
	for _, op := range ops {
		path := strings.TrimSpace(op.Path)
		lower := strings.ToLower(strings.TrimPrefix(strings.ToLower(path), strings.ToLower(GroupURN)+":"))
		switch {
		case path == "":
			if v, isMap := op.Value.(map[string]any); !isMap {
				return nil, false
			} else if _, _, has := Lookup(v, "members"); has {
				return nil, false
			}
		case lower == "members":
			if op.Op == OpReplace || (op.Op == OpRemove && op.Value == nil) {
				return nil, false
			}
			named, ok := namedValueIDs(op.Value)
			if !ok {
				return nil, false
			}
			ids = append(ids, named...)
		case strings.HasPrefix(lower, "members"):
			m := memberFilterPath.FindStringSubmatch(path)
			if m == nil || op.Op != OpRemove {
				return nil, false
			}
			id := m[2]
			if m[1] != "" {
				id = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[1])
			}
			ids = append(ids, id)
		}
	}
	return ids, true
}

// namedValueIDs reads the member ids of a members value: a list of {"value": id}
// objects or bare ids, or one of them.
func namedValueIDs(v any) ([]string, bool) {
	list, isList := v.([]any)
	if !isList {
		list = []any{v}
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		switch x := e.(type) {
		case string:
			ids = append(ids, x)
		case map[string]any:
			id := lookupString(x, "value")
			if id == "" {
				return nil, false
			}
			ids = append(ids, id)
		default:
			return nil, false
		}
	}
	return ids, true
}
