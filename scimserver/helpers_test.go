package scimserver_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/idpsync/idpsync/scimserver"
)

// obj decodes a JSON object the way the server does.
func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	m, err := scimserver.DecodeResource([]byte(s))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// canonical re-encodes a value (or JSON text) with sorted keys, for
// comparison and readable failures.
func canonical(t *testing.T, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		v = obj(t, s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %v: %v", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		t.Fatal(err)
	}
	out, _ := json.MarshalIndent(x, "", "  ")
	return string(out)
}

// sameJSON fails unless got encodes to the same JSON as want.
func sameJSON(t *testing.T, got any, want string) {
	t.Helper()
	if g, w := canonical(t, got), canonical(t, want); g != w {
		t.Errorf("got\n%s\nwant\n%s", g, w)
	}
}

// wantError fails unless err is a *scimserver.Error with this status and
// scimType.
func wantError(t *testing.T, err error, status int, scimType string) {
	t.Helper()
	var se *scimserver.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *scimserver.Error %d %s", err, err, status, scimType)
	}
	if se.Status != status || se.ScimType != scimType {
		t.Errorf("err = %d %q (%s), want %d %q", se.Status, se.ScimType, se.Detail, status, scimType)
	}
	if se.Detail == "" {
		t.Errorf("err %d %q has no detail", se.Status, se.ScimType)
	}
}
