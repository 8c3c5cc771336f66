package sqlite

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// TestChangeJSON keeps changeJSON, which the plan encoder writes, in step
// with reconcile.Change: every field, the same JSON.
func TestChangeJSON(t *testing.T) {
	if got, want := reflect.TypeFor[changeJSON]().NumField(), reflect.TypeFor[reconcile.Change]().NumField(); got != want {
		t.Fatalf("changeJSON has %d fields, reconcile.Change %d: update changeJSON", got, want)
	}
	for _, c := range []reconcile.Change{
		{Kind: reconcile.ChangeCreate}, // every optional field empty
		{
			Kind: reconcile.ChangeGrant, User: "alice <a&b>", UserID: "id-1", Source: "okta", SourceID: "o-1",
			Group: "Eng", Role: "viewer", Groups: []string{"Eng", "Ops"},
			Grants: []reconcile.Grant{{Role: "viewer", Reason: reconcile.ReasonGroup, Groups: []string{"Eng"}}},
			Reason: "member of Eng", Before: map[string]any{"active": false, "n": 2}, After: map[string]any{"roles": []string{"a"}},
		},
	} {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		blob, err := encodeChanges([]reconcile.Change{c})
		if err != nil {
			t.Fatal(err)
		}
		var back []json.RawMessage
		if err := gunzipJSON(blob, &back); err != nil {
			t.Fatal(err)
		}
		var g, w any
		json.Unmarshal(back[0], &g)
		json.Unmarshal(want, &w)
		if len(back) != 1 || !reflect.DeepEqual(g, w) {
			t.Errorf("encoded change:\n got %s\nwant %s", back[0], want)
		}
	}
}
