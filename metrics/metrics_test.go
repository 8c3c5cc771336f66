package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/idpsync/idpsync/metrics"
	"github.com/idpsync/idpsync/reconcile"
)

// scrape serves /metrics and parses it with the Prometheus text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of the sample of family name whose labels
// include want; ok is false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (v float64, ok bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	held := 2
	m := metrics.New(func(context.Context) (int, error) { return held, nil })
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	m.Ran(&reconcile.Run{Source: "hr", Outcome: reconcile.RunApplied, Started: start, Finished: start.Add(3 * time.Second)})
	m.Ran(&reconcile.Run{Source: "hr", Outcome: reconcile.RunFailed, Started: start, Finished: start.Add(5 * time.Second)})
	m.Ran(&reconcile.Run{Source: "okta", Outcome: reconcile.RunHeld, Started: start, Finished: start.Add(time.Second)})
	m.Ran(&reconcile.Run{Source: "hr", Outcome: reconcile.RunHeld, Started: start, Finished: start.Add(7 * time.Second)})
	m.Ran(&reconcile.Run{Source: "entra", Outcome: reconcile.RunNoChanges, Started: start, Finished: start.Add(2 * time.Second)})
	m.Applied(&reconcile.Plan{Source: "hr", Changes: []reconcile.Change{
		{Kind: reconcile.ChangeCreate}, {Kind: reconcile.ChangeCreate}, {Kind: reconcile.ChangeGrant},
		{Kind: reconcile.ChangeConflict}, {Kind: reconcile.ChangeRevoke, Source: "okta"},
	}})
	m.StoreError(errors.New("disk I/O error"))
	m.Reloaded(true)
	m.Reloaded(false)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/scim/v2/", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) })
	mux.HandleFunc("GET /api/v1/users/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	// A handler that routes by itself names the route it serves.
	mux.Handle("/self/", http.StripPrefix("/self", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		metrics.SetRoute(r.Context(), "GET /self/Users/{id}")
		w.WriteHeader(http.StatusCreated)
	})))
	h := m.Middleware(mux)
	for _, path := range []string{"/healthz", "/scim/v2/Users/1", "/scim/v2/Users/2", "/api/v1/users/abc", "/nowhere", "/self/Users/1", "/self/Users/2"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}

	fams := scrape(t, m.Handler())
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"idpsync_sync_runs_total", map[string]string{"source": "hr", "outcome": "applied"}, 1},
		{"idpsync_sync_runs_total", map[string]string{"source": "hr", "outcome": "failed"}, 1},
		{"idpsync_sync_runs_total", map[string]string{"source": "okta", "outcome": "held"}, 1},
		{"idpsync_sync_duration_seconds", map[string]string{"source": "hr", "outcome": "failed"}, 1},
		// The failed run and the held one after it do not move the last success.
		{"idpsync_last_successful_sync_timestamp_seconds", map[string]string{"source": "hr"}, float64(start.Add(3 * time.Second).Unix())},
		{"idpsync_last_successful_sync_timestamp_seconds", map[string]string{"source": "entra"}, float64(start.Add(2 * time.Second).Unix())},
		{"idpsync_changes_applied_total", map[string]string{"kind": "create", "source": "hr"}, 2},
		{"idpsync_changes_applied_total", map[string]string{"kind": "revoke", "source": "okta"}, 1},
		{"idpsync_held_plans", nil, 2},
		{"idpsync_store_errors_total", nil, 1},
		{"idpsync_config_reloads_total", map[string]string{"outcome": "refused"}, 1},
		{"idpsync_http_requests_total", map[string]string{"handler": "scim", "route": "/scim/v2/", "code": "403"}, 2},
		{"idpsync_http_requests_total", map[string]string{"handler": "api", "route": "GET /api/v1/users/{id}", "code": "404"}, 1},
		{"idpsync_http_requests_total", map[string]string{"handler": "ops", "route": "GET /healthz", "code": "200"}, 1},
		{"idpsync_http_requests_total", map[string]string{"route": "unmatched", "code": "404"}, 1},
		{"idpsync_http_request_duration_seconds", map[string]string{"handler": "scim", "route": "/scim/v2/"}, 2},
		{"idpsync_http_requests_total", map[string]string{"handler": "ops", "route": "GET /self/Users/{id}", "code": "201"}, 2},
	}
	for _, tt := range tests {
		if got, ok := value(fams, tt.name, tt.labels); !ok || got != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if v, ok := value(fams, "idpsync_last_successful_sync_timestamp_seconds", map[string]string{"source": "okta"}); ok {
		t.Errorf("a held run is a successful sync: okta's last success = %v", v)
	}
	if _, ok := value(fams, "idpsync_http_requests_total", map[string]string{"route": "/self/"}); ok {
		t.Error("a route named by the handler is labelled with the mux's pattern")
	}
	if _, ok := value(fams, "idpsync_changes_applied_total", map[string]string{"kind": "conflict"}); ok {
		t.Error("conflicts (not applied) are counted as applied changes")
	}
	if _, ok := value(fams, "idpsync_http_requests_total", map[string]string{"route": "/scim/v2/Users/1"}); ok {
		t.Error("a raw path is a route label")
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// A held-plans count that cannot be read leaves that metric out, not the rest.
func TestHeldPlansError(t *testing.T) {
	m := metrics.New(func(context.Context) (int, error) { return 0, errors.New("database is locked") })
	m.StoreError(errors.New("database is locked"))
	fams := scrape(t, m.Handler())
	if _, ok := fams["idpsync_held_plans"]; ok {
		t.Error("idpsync_held_plans served without a count")
	}
	if v, ok := value(fams, "idpsync_store_errors_total", nil); !ok || v != 1 {
		t.Errorf("idpsync_store_errors_total = %v (found %v), want 1", v, ok)
	}
}

// SeedLastSuccess takes each source's newest successful run (applied, or
// no changes) from stored runs, newest first: a held or failed run is none.
func TestSeedLastSuccess(t *testing.T) {
	m := metrics.New(nil)
	at := func(s int) time.Time { return time.Date(2026, 11, 27, 9, 0, s, 0, time.UTC) }
	m.SeedLastSuccess([]reconcile.Run{
		{Source: "hr", Outcome: reconcile.RunHeld, Finished: at(50)},
		{Source: "okta", Outcome: reconcile.RunFailed, Finished: at(40)},
		{Source: "hr", Outcome: reconcile.RunFailed, Finished: at(30)},
		{Source: "okta", Outcome: reconcile.RunNoChanges, Finished: at(20)},
		{Source: "hr", Outcome: reconcile.RunApplied, Finished: at(10)},
		{Source: "okta", Outcome: reconcile.RunApplied, Finished: at(5)},
		{Source: "entra", Outcome: reconcile.RunHeld, Finished: at(1)},
	})
	fams := scrape(t, m.Handler())
	for _, tc := range []struct {
		source string
		want   time.Time // zero: no sample
	}{
		{"hr", at(10)},
		{"okta", at(20)},
		{"entra", time.Time{}},
	} {
		got, ok := value(fams, "idpsync_last_successful_sync_timestamp_seconds", map[string]string{"source": tc.source})
		switch {
		case tc.want.IsZero() && ok:
			t.Errorf("%s: last success %v, want none (only a held run)", tc.source, got)
		case !tc.want.IsZero() && (!ok || got != float64(tc.want.Unix())):
			t.Errorf("%s: last success %v (found %v), want %v", tc.source, got, ok, tc.want.Unix())
		}
	}
}
