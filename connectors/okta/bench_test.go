package okta_test

import (
	"testing"
	"time"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/okta/oktatest"
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
