package okta_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/okta"
	"github.com/idpsync/idpsync/connectors/okta/oktatest"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// BenchmarkOktaFetch100k is a full fetch of 100,000 users, 5,000 groups and
// 500,000 memberships from the fake at Okta's page size (200), unthrottled.
// Run it once: go test -run '^$' -bench OktaFetch100k -benchtime 1x ./connectors/okta/
func BenchmarkOktaFetch100k(b *testing.B) {
	d := connectortest.Synthetic(connectortest.Options{Users: 100_000, Groups: 5_000, Memberships: 500_000, InactiveEvery: 50, Seed: 1})
	srv := oktatest.New(b, d, oktatest.Options{Static: true, RateLimit: 1 << 30, Window: time.Minute})
	src := open(b, config(b, srv))
	b.ResetTimer()
	for b.Loop() {
		before := srv.Requests()
		got, err := src.Fetch(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(srv.Requests()-before), "requests/op")
		b.ReportMetric(float64(len(got.Users)), "users")
		b.ReportMetric(float64(len(got.Groups)), "groups")
	}
}

// BenchmarkOktaSync100k is a full sync of the directory through the engine
// into SQLite, then an unchanged one, with the fake in another process: the
// CPU time and peak RSS are the daemon's own. Run it with -benchtime=1x;
// see BENCHMARKS.md.
func BenchmarkOktaSync100k(b *testing.B) {
	url, requests := connectortest.FakeProcess(b, "okta-100k")
	token := filepath.Join(b.TempDir(), "token")
	if err := os.WriteFile(token, []byte(oktatest.Token+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	c := okta.Config{OrgURL: url + "/", TokenFile: token, Groups: []string{"*"}, ExternalID: "employeeNumber"}
	connectortest.BenchSync(b, open(b, c), func(tb testing.TB) reconcile.Store {
		st, err := sqlite.Open(b.Context(), filepath.Join(tb.TempDir(), "bench.db"))
		if err != nil {
			tb.Fatal(err)
		}
		return st
	}, requests)
}

func TestFakeProcess(t *testing.T) {
	connectortest.ServeFake(t, map[string]connectortest.Fake{
		"okta-100k": func(t testing.TB) (string, func() int64) {
			d := connectortest.Synthetic(connectortest.Options{Users: 100_000, Groups: 5_000, Memberships: 500_000, InactiveEvery: 50, Seed: 1})
			s := oktatest.New(t, d, oktatest.Options{Static: true, RateLimit: 1 << 30, Window: time.Minute})
			return s.URL, s.Requests
		},
	})
}
