package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/idpsync/idpsync/metrics"
	"github.com/idpsync/idpsync/scimserver"
)

// HTTP server timeouts: a client has readTimeout to send a whole request
// (headers and body), and a keep-alive connection is closed after
// idleTimeout without a request.
const (
	readTimeout = 60 * time.Second
	idleTimeout = 120 * time.Second
)

// httpServer builds the daemon's HTTP server: SCIM under /scim/v2, the
// operators' endpoints (/healthz, /readyz, /metrics), every request counted
// and timed by route. With tls_cert/tls_key it serves the certificate in
// force, which a reload renews.
func (d *daemon) httpServer() (*http.Server, error) {
	scim := scimserver.New(d.db, d.engine, liveAuth{d}, d.log.With("component", "scim"), scimPrefix)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.Handle("GET /metrics", d.metrics.Handler())
	// SCIM routes by itself (paths compare case-insensitively): it names
	// each request's endpoint for the metrics ("GET /scim/v2/Users/{id}").
	mux.Handle(scimPrefix+"/", http.StripPrefix(scimPrefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		metrics.SetRoute(r.Context(), scim.Route(r))
		scim.ServeHTTP(w, r)
	})))
	if err := d.mountApps(mux); err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           d.metrics.Middleware(mux),
		ErrorLog:          slog.NewLogLogger(d.log.With("component", "http").Handler(), slog.LevelWarn),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		// No WriteTimeout: a change-feed long poll waits up to 60 s
		// (api.MaxWait) before it answers, and POST /sources/{name}/sync
		// answers when its run is over, which may take minutes.
		WriteTimeout: 0,
	}
	if d.cfg.TLS() {
		srv.TLSConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				return d.cert.Load(), nil
			},
		}
	}
	return srv, nil
}

// readyz answers 200 when the daemon is ready to serve: configuration
// loaded, listener up, store answering within 2 s; 503 otherwise.
func (d *daemon) readyz(w http.ResponseWriter, r *http.Request) {
	var problems []string
	if !d.ready.Load() {
		problems = append(problems, "not ready: starting or shutting down")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := d.db.Ping(ctx); err != nil {
		d.log.Warn("readiness: the store does not answer", "err", err)
		problems = append(problems, "store: not answering")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, p := range problems {
			fmt.Fprintln(w, p)
		}
		return
	}
	fmt.Fprintln(w, "ready")
}
