package scimserver_test

import (
	"reflect"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/scimserver"
)

func TestUserFromResource(t *testing.T) {
	tests := []struct {
		name string
		res  string
		want reconcile.User
	}{
		{
			name: "Entra user",
			res:  entraUser,
			want: reconcile.User{ID: "id1", UserName: "jyoung@contoso.com", DisplayName: "Jo Young", Email: "jyoung@contoso.com",
				GivenName: "Jo", FamilyName: "Young", ExternalID: "jyoung", Active: true},
		},
		{
			name: "Microsoft keys in other cases; primary email wins over work",
			res: `{"UserName":"UserName123","Active":"False","DisplayName":"BobIsAmazing","ExternalId":"e1",
				"Name":{"FamilyName":"Leenay","GivenName":"Ryan"},
				"emails":[{"Primary":false,"type":"work","value":"testing@bob.com"},{"Primary":true,"type":"home","value":"testinghome@bob.com"}]}`,
			want: reconcile.User{ID: "id1", UserName: "UserName123", DisplayName: "BobIsAmazing", Email: "testinghome@bob.com",
				GivenName: "Ryan", FamilyName: "Leenay", ExternalID: "e1", Active: false},
		},
		{
			name: "no displayName: name.formatted; no primary: the work email",
			res: `{"userName":"a","name":{"formatted":"Ann Lee","givenName":"Ann"},
				"emails":[{"type":"home","value":"h@x"},{"type":"Work","value":"w@x"}]}`,
			want: reconcile.User{ID: "id1", UserName: "a", DisplayName: "Ann Lee", Email: "w@x", GivenName: "Ann", Active: true},
		},
		{
			name: "no formatted name: given and family; else the first email",
			res:  `{"userName":"a","displayName":"","name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":""},{"type":"home","value":"h@x"}]}`,
			want: reconcile.User{ID: "id1", UserName: "a", DisplayName: "Ann Lee", Email: "h@x", GivenName: "Ann", FamilyName: "Lee", Active: true},
		},
		{
			name: "bare user: active by default",
			res:  `{"userName":"a"}`,
			want: reconcile.User{ID: "id1", UserName: "a", Active: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scimserver.UserFromResource("id1", obj(t, tt.res)); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestGroupFromResource(t *testing.T) {
	got := scimserver.GroupFromResource("g1", obj(t, group))
	want := reconcile.Group{ID: "g1", DisplayName: "Engineering", Members: []string{"u1", "u2", "u3"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := scimserver.GroupFromResource("g2", obj(t, `{"displayName":"Empty"}`)); got.Members != nil {
		t.Errorf("members of an empty group = %#v", got.Members)
	}
}
