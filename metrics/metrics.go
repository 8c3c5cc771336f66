// Package metrics keeps idpsync's Prometheus metrics in a registry of its
// own and serves them: sync runs, applied changes, held plans, HTTP
// requests, store errors and config reloads. The daemon feeds it from the
// engine's hooks (Ran, Applied), an HTTP middleware (Middleware) and the
// store's error hook (StoreError).
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/idpsync/idpsync/reconcile"
)

// Metrics is the daemon's metrics. Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	runs        *prometheus.CounterVec
	runDuration *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	changes     *prometheus.CounterVec
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	storeErrors prometheus.Counter
	reloads     *prometheus.CounterVec
	webhooks    *prometheus.CounterVec
}

// HeldPlans counts the plans waiting for an admin (the store's held plans).
type HeldPlans func(ctx context.Context) (int, error)

// New returns the metrics, registered with a registry of their own together
// with the Go runtime and process collectors. held is asked at each scrape
// (nil: no idpsync_held_plans).
func New(held HeldPlans) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idpsync_sync_runs_total",
			Help: "Pull runs, by source and outcome (applied, no-changes, held, failed).",
		}, []string{"source", "outcome"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "idpsync_sync_duration_seconds",
			Help:    "How long pull runs took, fetch to apply, by source and outcome.",
			Buckets: []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800},
		}, []string{"source", "outcome"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "idpsync_last_successful_sync_timestamp_seconds",
			Help: "When the source's last successful pull run (applied, or no changes) finished (Unix time); a held or failed run is not one.",
		}, []string{"source"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idpsync_changes_applied_total",
			Help: "Changes applied to app users and groups, by kind and source.",
		}, []string{"kind", "source"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idpsync_http_requests_total",
			Help: "HTTP requests, by handler (scim, api, ui, ops), route pattern, method and status code.",
		}, []string{"handler", "route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "idpsync_http_request_duration_seconds",
			Help:    "HTTP request latency, by handler, route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"handler", "route", "method"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "idpsync_store_errors_total",
			Help: "Database errors (I/O, locks that timed out, a full disk), not counting not-found or conflicts.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idpsync_config_reloads_total",
			Help: "Configuration reloads (SIGHUP), by outcome (applied, refused).",
		}, []string{"outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idpsync_webhook_attempts_total",
			Help: "Webhook delivery attempts, by webhook and outcome (delivered, failed).",
		}, []string{"webhook", "outcome"}),
	}
	m.reg.MustRegister(m.runs, m.runDuration, m.lastSuccess, m.changes, m.requests, m.latency, m.storeErrors, m.reloads, m.webhooks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if held != nil {
		m.reg.MustRegister(heldCollector{held})
	}
	return m
}

// Registry returns the registry (tests, and other packages' collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format. A metric that
// cannot be read (held plans, with the database locked) is left out; the
// others are still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Ran records a finished pull run: the engine's Ran hook.
func (m *Metrics) Ran(r *reconcile.Run) {
	m.runs.WithLabelValues(r.Source, r.Outcome).Inc()
	if !r.Started.IsZero() && !r.Finished.IsZero() {
		m.runDuration.WithLabelValues(r.Source, r.Outcome).Observe(r.Finished.Sub(r.Started).Seconds())
	}
	if succeeded(r) {
		m.setLastSuccess(r.Source, r.Finished)
	}
}

// succeeded reports whether a run counts as a successful sync: it applied
// its plan or found nothing to change. A held run brought the source's
// changes in no more than a failed one did.
func succeeded(r *reconcile.Run) bool {
	return r.Outcome == reconcile.RunApplied || r.Outcome == reconcile.RunNoChanges
}

// SeedLastSuccess sets the last successful sync of the runs' sources from
// stored runs, newest first (the daemon's at start, so that a restart does
// not reset it): the first successful run of each source.
func (m *Metrics) SeedLastSuccess(runs []reconcile.Run) {
	seen := map[string]bool{}
	for i := range runs {
		r := &runs[i]
		if !seen[r.Source] && succeeded(r) {
			seen[r.Source] = true
			m.setLastSuccess(r.Source, r.Finished)
		}
	}
}

func (m *Metrics) setLastSuccess(source string, t time.Time) {
	if !t.IsZero() {
		m.lastSuccess.WithLabelValues(source).Set(float64(t.UnixNano()) / 1e9)
	}
}

// Applied counts an applied plan's changes: the engine's Applied hook.
// Conflicts are not applied and not counted.
func (m *Metrics) Applied(p *reconcile.Plan) {
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Kind == reconcile.ChangeConflict {
			continue
		}
		source := c.Source
		if source == "" {
			source = p.Source
		}
		m.changes.WithLabelValues(c.Kind, source).Inc()
	}
}

// StoreError counts a database error: the store's OnError hook.
func (m *Metrics) StoreError(error) { m.storeErrors.Inc() }

// Reloaded counts a configuration reload, applied or refused.
func (m *Metrics) Reloaded(applied bool) {
	outcome := "applied"
	if !applied {
		outcome = "refused"
	}
	m.reloads.WithLabelValues(outcome).Inc()
}

// WebhookAttempt counts a webhook delivery attempt.
func (m *Metrics) WebhookAttempt(webhook string, delivered bool) {
	outcome := "delivered"
	if !delivered {
		outcome = "failed"
	}
	m.webhooks.WithLabelValues(webhook, outcome).Inc()
}

// heldCollector reports idpsync_held_plans, read from the store at scrape.
type heldCollector struct{ count HeldPlans }

var heldDesc = prometheus.NewDesc("idpsync_held_plans", "Plans held by the safety brake, waiting for an admin.", nil, nil)

func (heldCollector) Describe(ch chan<- *prometheus.Desc) { ch <- heldDesc }

func (h heldCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := h.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(heldDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(heldDesc, prometheus.GaugeValue, float64(n))
}
