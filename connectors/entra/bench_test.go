package entra_test

import (
	"path/filepath"
	"testing"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/entra"
	"github.com/idpsync/idpsync/connectors/entra/graphtest"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// bench100k is the directory of the benchmarks: 100,000 users, 5,000
// groups, 500,000 memberships, nested three deep.
var bench100k = connectortest.Options{Users: 100_000, Groups: 5_000, Memberships: 500_000,
	NestingDepth: 3, InactiveEvery: 20, Seed: 1}

// BenchmarkEntraFetch100k reads the directory from the fake (in the same
// process) at Graph's page size, unthrottled, every group and every user in
// scope. It reports the requests one fetch makes.
func BenchmarkEntraFetch100k(b *testing.B) {
	d := connectortest.Synthetic(bench100k)
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

// BenchmarkEntraSync100k is a full sync of the directory through the engine
// into SQLite, then an unchanged (delta) run, with the fake in another
// process: the CPU time and peak RSS are the daemon's own. Run it with
// -benchtime=1x; see BENCHMARKS.md.
func BenchmarkEntraSync100k(b *testing.B) {
	url, requests := connectortest.FakeProcess(b, "graph-100k")
	c := config(url, "*")
	c.Users = entra.UsersAll
	connectortest.BenchSync(b, open(b, c), func(tb testing.TB) reconcile.Store {
		st, err := sqlite.Open(b.Context(), filepath.Join(tb.TempDir(), "bench.db"))
		if err != nil {
			tb.Fatal(err)
		}
		return st
	}, requests)
}
