package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"unicode/utf8"

	"github.com/idpsync/idpsync/reconcile"
)

// jsonDirectory is the JSON export as it is on disk. Users is a pointer so
// that a missing "users" key, which more likely means the wrong file than an
// empty directory, can be told from an empty list.
type jsonDirectory struct {
	Users  *[]jsonUser       `json:"users"`
	Groups []reconcile.Group `json:"groups"`
}

type jsonUser struct {
	ID          string `json:"id"`
	UserName    string `json:"userName"`
	DisplayName string `json:"displayName"`
	Email       string `json:"email"`
	GivenName   string `json:"givenName"`
	FamilyName  string `json:"familyName"`
	ExternalID  string `json:"externalId"`
	Active      *bool  `json:"active"` // nil: active
}

// readJSON reads a JSON export. Syntax and type errors name the file, line and
// column; other content errors name the file and the user or group.
func readJSON(ctx context.Context, path string) (*reconcile.Directory, error) {
	f, err := open(ctx, path)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var in jsonDirectory
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, jsonError(path, data, err)
	}
	if in.Users == nil {
		return nil, reconcile.Errorf(reconcile.EINVALID, `%s: no "users" list (an empty directory is "users": [])`, path)
	}
	d := &reconcile.Directory{Users: make([]reconcile.User, len(*in.Users)), Groups: in.Groups}
	for i, u := range *in.Users {
		d.Users[i] = reconcile.User{
			ID:          u.ID,
			UserName:    u.UserName,
			DisplayName: u.DisplayName,
			Email:       u.Email,
			GivenName:   u.GivenName,
			FamilyName:  u.FamilyName,
			ExternalID:  u.ExternalID,
			Active:      u.Active == nil || *u.Active,
		}
	}
	for i := range d.Groups {
		d.Groups[i].Members = dedupe(d.Groups[i].Members)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// dedupe drops repeated members, keeping the first of each: a member listed
// twice is a member once.
func dedupe(members []string) []string {
	if len(members) < 2 {
		return members
	}
	seen := make(map[string]bool, len(members))
	out := members[:0]
	for _, m := range members {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

// jsonError turns a decoding error into one naming the file, line and column.
func jsonError(path string, data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		// Offset counts the bytes read, the offending one included.
		line, col := position(data, int(syntax.Offset)-1)
		return reconcile.Errorf(reconcile.EINVALID, "%s:%d:%d: invalid JSON: %v", path, line, col, syntax)
	case errors.As(err, &typ):
		line, col := position(data, valueStart(data, int(typ.Offset)))
		field := typ.Field
		if field == "" {
			field = "top level"
		}
		return reconcile.Errorf(reconcile.EINVALID, "%s:%d:%d: %s: expected %s, found %s",
			path, line, col, field, jsonKind(typ.Type), article(typ.Value))
	}
	return reconcile.Errorf(reconcile.EINVALID, "%s: %w", path, err)
}

// position returns the 1-based line and column (in characters) of the byte at
// offset off.
func position(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	before := data[:off]
	start := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte{'\n'}) + 1, utf8.RuneCount(before[start:]) + 1
}

// valueStart finds where the value that an UnmarshalTypeError reports begins.
// The decoder reports the offset just past an object's or array's opening
// bracket, and just past the end of any other value.
func valueStart(data []byte, off int) int {
	off = max(0, min(off, len(data)))
	if off == 0 {
		return 0
	}
	end := off - 1
	switch data[end] {
	case '{', '[':
		return end
	case '"':
		// Back to the opening quote: one not escaped by an odd run of backslashes.
		for i := end - 1; i >= 0; i-- {
			if data[i] != '"' {
				continue
			}
			n := 0
			for j := i - 1; j >= 0 && data[j] == '\\'; j-- {
				n++
			}
			if n%2 == 0 {
				return i
			}
		}
		return end
	}
	// A number, true, false or null: back to the delimiter before it.
	i := end
	for i > 0 && bytes.IndexByte([]byte(" \t\r\n,:[{"), data[i-1]) < 0 {
		i--
	}
	return i
}

// jsonKind names, as a JSON value, what a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a number"
}

func article(value string) string {
	switch {
	case value == "":
		return "another value"
	case value == "bool":
		return "a boolean"
	case bytes.IndexByte([]byte("aeiou"), value[0]) >= 0:
		return "an " + value
	}
	return "a " + value
}
