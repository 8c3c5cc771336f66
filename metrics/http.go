package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Middleware counts and times the requests next serves, labelled by their
// route pattern, never the raw path, so ids in paths do not make new
// series: the one a handler named with SetRoute, else the one the
// http.ServeMux matched (r.Pattern: "/scim/v2/", "GET /healthz"). Wrap the
// ServeMux itself: it sets the pattern on the request it is given. A
// request no pattern matched is labelled "unmatched".
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		slot := new(string)
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, slot))
		defer func() {
			route := *slot
			if route == "" {
				route = r.Pattern
			}
			if route == "" {
				route = "unmatched"
			}
			handler := handlerOf(route)
			m.requests.WithLabelValues(handler, route, r.Method, strconv.Itoa(sw.status())).Inc()
			m.latency.WithLabelValues(handler, route, r.Method).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// routeKey is the context key of the route a handler names with SetRoute.
type routeKey struct{}

// SetRoute names the route pattern of the request whose context ctx is,
// for Middleware's labels, where the ServeMux's pattern is too coarse: a
// handler under one prefix pattern that routes by itself (SCIM, under
// "/scim/v2/") names the endpoint it serves ("GET /scim/v2/Users/{id}").
// Give a pattern, never a raw path. Outside Middleware it does nothing.
func SetRoute(ctx context.Context, route string) {
	if slot, ok := ctx.Value(routeKey{}).(*string); ok {
		*slot = route
	}
}

// handlerOf names the part of idpsync a route belongs to.
func handlerOf(route string) string {
	if _, path, ok := strings.Cut(route, " "); ok {
		route = path // "GET /healthz" → "/healthz"
	}
	if i := strings.IndexByte(route, '/'); i > 0 {
		route = route[i:] // a host pattern: "example.com/scim/v2/"
	}
	switch {
	case strings.HasPrefix(route, "/scim/"):
		return "scim"
	case strings.HasPrefix(route, "/api/"):
		return "api"
	case route == "/ui" || strings.HasPrefix(route, "/ui/"):
		return "ui"
	}
	return "ops"
}

// statusWriter remembers the status code written. It passes Flush on (the
// change feed's long polls flush) and unwraps for http.ResponseController.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK // nothing written: net/http sends 200
	}
	return w.code
}
