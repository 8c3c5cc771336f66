package sqlite_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/idpsync/idpsync/reconcile"
)

// Searching users in SQL must find exactly what lowering every user in Go
// (strings.ToLower, as the query is lowered) and looking for the query finds.
func TestUserSearchFoldsLikeGo(t *testing.T) {
	s := openTemp(t)
	type user struct{ userName, displayName, email string }
	users := []user{
		{"ilker", "İlker Yılmaz", "ilker@example.com"},
		{"kelvin", "273 \u212Aelvin", "KELVIN@EXAMPLE.COM"},
		{"Straße", "Groß STRASSE", "strasse@example.com"},
		{"sigma", "ΟΔΥΣΣΕΥΣ", "odysseus@example.com"},
		{"Émile", "ÉMILE ZOLA", "emile@example.com"},
		{"oneil", "Conan O'Neil", "o_neil@example.com"},
		{"percent", "100% sure", `back\slash@example.com`},
		{"glob", "star*[x]?", "glob@example.com"},
		{"dz", "ǅemal Ⓐ", "dz@example.com"},
		{"  padded  ", "Padded Name", "padded@example.com"},
		{"ødegård", "Kari Ødegård", "kari@example.com"},
		{"plain", "Ann Lee", "ann.lee@example.com"},
	}
	p := &reconcile.Plan{Kind: reconcile.KindManual, Source: reconcile.Manual}
	for _, u := range users {
		after := map[string]any{"userName": u.userName, "displayName": u.displayName, "email": u.email, "active": true}
		p.Changes = append(p.Changes, reconcile.Change{Kind: reconcile.ChangeCreate, User: u.userName, Source: reconcile.Manual, After: after})
	}
	if err := s.Apply(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	queries := []string{
		"ilker", "İLKER", "i", "I", "İ", "ı", "yil", "k", "K", "\u212A", "kelvin", "273 k",
		"ß", "SS", "strasse", "straße", "σ", "ς", "Σ", "οδυσσευσ",
		"é", "É", "émile z", "emile", "o'n", "o_n", "_", "%", "100%", `\`, `k\s`,
		"*", "?", "[", "]", "[x]", "r*[", "ǆ", "ǅ", "Ǆ", "ⓐ", "Ⓐ",
		" ", "  padded", "padded  ", "d n", "ded na", "ødegård", "ØDEGÅRD", "ann lee", "zzz",
		"\x00", strings.Repeat("é", 30_000),
	}
	for _, q := range queries {
		got, err := s.Users(t.Context(), reconcile.UserFilter{Query: q})
		if err != nil {
			t.Fatalf("Users(%q): %v", q, err)
		}
		ql := strings.ToLower(q)
		var want []string
		for _, u := range users {
			if strings.Contains(strings.ToLower(u.userName), ql) || strings.Contains(strings.ToLower(u.displayName), ql) ||
				strings.Contains(strings.ToLower(u.email), ql) {
				want = append(want, u.userName)
			}
		}
		var names []string
		for _, u := range got {
			names = append(names, u.UserName)
		}
		slices.Sort(names)
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("Users(%.20q) = %q, want %q", q, names, want)
		}
		if n, err := s.CountUsers(t.Context(), reconcile.UserFilter{Query: q}); err != nil || n != len(want) {
			t.Errorf("CountUsers(%.20q) = %d, %v; want %d", q, n, err, len(want))
		}
	}
}
