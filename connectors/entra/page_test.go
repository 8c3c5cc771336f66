package entra

import (
	"testing"
)

// The fake serves neither directory extensions nor devices; decodePage and
// toUser are checked on Graph's shapes directly.
func TestDecodePage(t *testing.T) {
	body := []byte(`{"@odata.context":"x","value":[
		{"@odata.type":"#microsoft.graph.user","id":"u1","userPrincipalName":"a@x","mail":null,"accountEnabled":true,
		 "extension_abc_badge":"B1","extension_abc_n":42,"extension_abc_f":true},
		{"@odata.type":"#microsoft.graph.device","id":"d1","accountEnabled":true},
		{"@odata.type":"#microsoft.graph.group","id":"g1","displayName":"G"}],
		"@odata.nextLink":"https://graph.microsoft.com/v1.0/users?$skiptoken=a%2Bb"}`)
	c := DefaultConfig().withDefaults()
	c.ExternalID, c.DisplayName = "extension_abc_badge", "extension_abc_n"
	p, err := decodePage(body, c.extensions())
	if err != nil {
		t.Fatal(err)
	}
	if p.NextLink == nil || *p.NextLink != "https://graph.microsoft.com/v1.0/users?$skiptoken=a%2Bb" {
		t.Errorf("nextLink = %v", p.NextLink)
	}
	if len(p.Value) != 3 || p.Value[0].Type != odataUser || p.Value[1].Type != "#microsoft.graph.device" || p.Value[2].Type != odataGroup || p.Value[2].DisplayName != "G" {
		t.Fatalf("value = %+v", p.Value)
	}
	u, err := c.toUser(&p.Value[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "u1" || u.UserName != "a@x" || u.Email != "" || !u.Active || u.ExternalID != "B1" || u.DisplayName != "42" {
		t.Errorf("user = %+v", u)
	}
	if _, err := c.toUser(&object{}); err == nil {
		t.Error("a user without an id was mapped")
	}
	if _, err := decodePage([]byte(`{"value":[{"id":1}]}`), nil); err == nil {
		t.Error("a numeric id was decoded")
	}
}
