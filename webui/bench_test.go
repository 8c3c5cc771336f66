package webui_test

import (
	"net/http"
	"testing"

	"github.com/idpsync/idpsync/connectors/connectortest"
)

// BenchmarkPages100k serves the pages that read many users, over a
// directory of 100,000 users in 5,000 groups: the users list, searched and
// filtered in the store a page at a time; a user's page (its explanation
// reads its source's state); the mappings page with its group picker; and
// an impact preview, which re-derives every user's roles. Setting it up
// syncs the directory once (tens of seconds).
func BenchmarkPages100k(b *testing.B) {
	dir := connectortest.Synthetic(connectortest.Options{Users: 100_000, Groups: 5_000, Memberships: 500_000,
		NestingDepth: 3, InactiveEvery: 50, Seed: 1})
	f := newFixtureWith(b, dir)
	c := f.client().signIn(password)
	mid, err := f.store.User(b.Context(), "user050001@example.com")
	if err != nil {
		b.Fatal(err)
	}
	get := func(path string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				if p := c.get(path); p.status != http.StatusOK {
					b.Fatalf("GET %s: %d", path, p.status)
				}
			}
		}
	}
	b.Run("users", get("/ui/users"))
	b.Run("users-page-1000", get("/ui/users?page=1000"))
	b.Run("users-search", get("/ui/users?q=ødegård"))
	b.Run("users-search-rare", get("/ui/users?q=user099999"))
	b.Run("users-role", get("/ui/users?role=Viewer&active=active"))
	b.Run("user", get("/ui/users/"+mid.ID))
	b.Run("mappings", get("/ui/mappings"))
	b.Run("changes", get("/ui/changes?kind=create"))
	b.Run("overview", get("/ui/"))
	b.Run("preview", func(b *testing.B) {
		for b.Loop() {
			p := c.post("/ui/mappings/preview", c.form("op", "add", "group", "group-00001", "role", "CSM"))
			if p.status != http.StatusOK {
				b.Fatalf("preview: %d", p.status)
			}
		}
	})
}
