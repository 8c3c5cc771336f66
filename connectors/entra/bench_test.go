package entra_test

import (
	"testing"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/entra"
	"github.com/idpsync/idpsync/connectors/entra/graphtest"
)

// BenchmarkEntraFetch100k reads 100,000 users, 5,000 groups and 500,000
// memberships from the fake at Graph's page size, unthrottled, every group
// and every user in scope. It reports the requests one fetch makes.
func BenchmarkEntraFetch100k(b *testing.B) {
	d := connectortest.Synthetic(connectortest.Options{Users: 100_000, Groups: 5_000, Memberships: 500_000,
		NestingDepth: 3, InactiveEvery: 20, Seed: 1})
	srv := serve(b, d, graphtest.Options{PageSize: 999})
	c := config(srv.URL, "*")
	c.Users = entra.UsersAll
	conn := open(b, c)
	b.ResetTimer()
	for b.Loop() {
		srv.ResetRequests()
		got, err := conn.Fetch(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		if len(got.Users) != len(d.Users) || len(got.Groups) != len(d.Groups) {
			b.Fatalf("got %d users and %d groups, want %d and %d", len(got.Users), len(got.Groups), len(d.Users), len(d.Groups))
		}
	}
	b.ReportMetric(float64(srv.Requests()), "requests/op")
}
