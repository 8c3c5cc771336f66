package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func httpGet(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /metrics parses with the Prometheus text parser and carries the runs,
// changes, held plans, last success, HTTP and store metrics; /healthz and
// /readyz answer; every applied change is logged with source and actor.
func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t)
	e.write("config.toml", testConfig+"[[source]]\nname = \"scim\"\ntype = \"scim\"\n")
	p := startInProcess(t, e)
	p.log.wait(t, 0, 20*time.Second, "sync done", "trigger=start")
	base := "http://" + p.addr()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := httpGet(t, http.DefaultClient, base+path); code != 200 {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	for _, path := range []string{"/scim/v2/Users/123", "/scim/v2/users/456", "/scim/v2/ServiceProviderConfig", "/scim/v2/Bulk"} {
		if code, _ := httpGet(t, http.DefaultClient, base+path); code != http.StatusUnauthorized {
			t.Errorf("SCIM %s without a token: %d, want 401", path, code)
		}
	}
	code, body := httpGet(t, http.DefaultClient, base+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	p2 := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p2.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   float64 // -1: any value
	}{
		{"idpsync_sync_runs_total", map[string]string{"source": "hr", "outcome": "applied"}, 1},
		{"idpsync_sync_duration_seconds", map[string]string{"source": "hr", "outcome": "applied"}, 1},
		{"idpsync_last_successful_sync_timestamp_seconds", map[string]string{"source": "hr"}, -1},
		{"idpsync_changes_applied_total", map[string]string{"kind": "create", "source": "hr"}, 4},
		{"idpsync_changes_applied_total", map[string]string{"kind": "group-create", "source": "hr"}, 4},
		{"idpsync_held_plans", nil, 0},
		{"idpsync_store_errors_total", nil, 0},
		// SCIM requests by their endpoint, whatever the case of the path; what SCIM does not serve by the prefix.
		{"idpsync_http_requests_total", map[string]string{"handler": "scim", "route": "GET /scim/v2/Users/{id}", "method": "GET", "code": "401"}, 2},
		{"idpsync_http_requests_total", map[string]string{"handler": "scim", "route": "GET /scim/v2/ServiceProviderConfig", "code": "401"}, 1},
		{"idpsync_http_requests_total", map[string]string{"handler": "scim", "route": "/scim/v2/", "method": "GET", "code": "401"}, 1},
		{"idpsync_http_requests_total", map[string]string{"handler": "ops", "route": "GET /readyz", "code": "200"}, 1},
		{"idpsync_http_request_duration_seconds", map[string]string{"handler": "scim", "route": "GET /scim/v2/Users/{id}"}, 2},
	} {
		got, ok := sample(fams, tt.name, tt.labels)
		if !ok || (tt.want >= 0 && got != tt.want) || (tt.want < 0 && got <= 0) {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	for _, raw := range []string{"123", "456"} {
		if _, ok := sample(fams, "idpsync_http_requests_total", map[string]string{"route": "/scim/v2/Users/" + raw}); ok {
			t.Errorf("a raw SCIM path is a route label: /scim/v2/Users/%s", raw)
		}
	}
	p.log.wait(t, 0, time.Second, `msg="change applied"`, "kind=create", "source=hr", "actor=schedule", "user=ann@example.com")

	// Not ready once shutting down (the handler, without a listener).
	p.d.ready.Store(false)
	rec := &responseRecorder{header: http.Header{}}
	p.d.readyz(rec, (&http.Request{}).WithContext(context.Background()))
	if rec.code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while not ready: %d, want 503", rec.code)
	}
	p.d.ready.Store(true)
}

type responseRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *responseRecorder) Header() http.Header         { return r.header }
func (r *responseRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *responseRecorder) WriteHeader(code int)        { r.code = code }

func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
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

// writeCert writes a self-signed certificate for 127.0.0.1 named cn.
func writeCert(t *testing.T, certPath, keyPath, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	cert, _ := x509.ParseCertificate(der)
	return cert
}

// HTTPS with tls_cert/tls_key, and a renewed certificate picked up by a reload.
func TestTLS(t *testing.T) {
	e := newEnv(t)
	first := writeCert(t, filepath.Join(e.dir, "cert.pem"), filepath.Join(e.dir, "key.pem"), "first")
	e.write("config.toml", "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n"+testConfig)
	p := startInProcess(t, e)
	client := func(c *x509.Certificate) *http.Client {
		pool := x509.NewCertPool()
		pool.AddCert(c)
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	if code, body := httpGet(t, client(first), "https://"+p.addr()+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("GET https /healthz: %d %q", code, body)
	}

	second := writeCert(t, filepath.Join(e.dir, "cert.pem"), filepath.Join(e.dir, "key.pem"), "second")
	if line, _ := p.reload(t, 0); !strings.Contains(line, "configuration reloaded") {
		t.Fatalf("reload: %s", line)
	}
	if code, _ := httpGet(t, client(second), "https://"+p.addr()+"/healthz"); code != 200 {
		t.Fatalf("GET with the renewed certificate: %d", code)
	}
	if _, err := client(first).Get("https://" + p.addr() + "/healthz"); err == nil {
		t.Error("the old certificate is still served after the reload")
	}

	// A certificate that does not load is refused at start, naming the key.
	e2 := newEnv(t)
	e2.write("config.toml", "tls_cert = \"nope.pem\"\ntls_key = \"nope.key\"\n"+testConfig)
	_, err := e2.run("serve")
	if err == nil || !strings.Contains(err.Error(), "tls_cert: loading the certificate") {
		t.Errorf("serve with a missing certificate: %v", err)
	}
}
