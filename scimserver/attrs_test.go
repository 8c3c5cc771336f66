package scimserver_test

import (
	"net/http"
	"testing"

	"github.com/idpsync/idpsync/scimserver"
)

func TestLookupSetDelete(t *testing.T) {
	m := map[string]any{"DisplayName": "a", "userName": "b"}
	if k, v, ok := scimserver.Lookup(m, "displayName"); !ok || k != "DisplayName" || v != "a" {
		t.Errorf("Lookup(displayName) = %q %v %v", k, v, ok)
	}
	if _, _, ok := scimserver.Lookup(m, "title"); ok {
		t.Error("Lookup(title) found something")
	}
	scimserver.Set(m, "DISPLAYNAME", "c") // the resource's key is kept
	scimserver.Set(m, "title", "d")       // a new key as given
	sameJSON(t, m, `{"DisplayName":"c","userName":"b","title":"d"}`)
	m["USERNAME"] = "dup"
	scimserver.Delete(m, "username") // every case goes
	sameJSON(t, m, `{"DisplayName":"c","title":"d"}`)
	// An exact match wins over another case.
	m = map[string]any{"Value": "x", "value": "y"}
	if _, v, _ := scimserver.Lookup(m, "value"); v != "y" {
		t.Errorf("Lookup(value) = %v, want the exact key's y", v)
	}
}

func TestDecodeResource(t *testing.T) {
	m, err := scimserver.DecodeResource([]byte(`{"a":12345678901234567890,"b":[1.5]}`))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, m, `{"a":12345678901234567890,"b":[1.5]}`) // numbers kept exactly
	for name, body := range map[string]string{
		"Microsoft's junk": `{"acve": tre, "adadfdresses": [`,
		"an array":         `[{"userName":"a"}]`,
		"a string":         `"userName"`,
		"two objects":      `{"a":1} {"b":2}`,
		"empty":            ``,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := scimserver.DecodeResource([]byte(body))
			wantError(t, err, http.StatusBadRequest, scimserver.ScimInvalidSyntax)
		})
	}
}
