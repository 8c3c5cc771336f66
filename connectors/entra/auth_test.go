package entra_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/connectors/entra"
	"github.com/idpsync/idpsync/connectors/entra/graphtest"
	"github.com/idpsync/idpsync/reconcile"
)

// These tests sign in for real: azidentity's client secret and certificate
// credentials against a fake Microsoft identity platform over TLS, then Graph
// over TLS with the token it issued. Both fakes present httptest's
// certificate, which only ca_file makes trusted.

// issued is the access token the fake login issues and the only one the fake
// Graph accepts.
const issued = "token-issued-by-the-fake-login"

// tenant is a fake identity platform and a fake Graph behind it.
type tenant struct {
	login *graphtest.Login
	graph *graphtest.Server
	ca    string // PEM file of both fakes' TLS certificates
}

// newTenant starts the fakes. lo says which credentials the application
// has; the login issues tokens for the fake Graph's resource only.
func newTenant(t *testing.T, lo graphtest.LoginOptions) *tenant {
	t.Helper()
	// Pages of one: the nextLinks Graph sends are https too.
	graph := graphtest.NewTLS(connectorSmall(), graphtest.Options{Token: issued, PageSize: 1})
	t.Cleanup(graph.Close)
	u, err := url.Parse(graph.URL)
	if err != nil {
		t.Fatal(err)
	}
	lo.TenantID, lo.ClientID, lo.Scope = "tenant", "client", "https://"+u.Host+"/.default"
	if lo.Token == "" {
		lo.Token = issued
	}
	login := graphtest.NewLogin(lo)
	t.Cleanup(login.Close)
	ca := writeFile(t, "ca.pem", pemBlock("CERTIFICATE", login.Certificate().Raw), pemBlock("CERTIFICATE", graph.Certificate().Raw))
	return &tenant{login: login, graph: graph, ca: ca}
}

// config reads the fakes through ca_file; the credential is the caller's.
func (tn *tenant) config() entra.Config {
	c := entra.DefaultConfig()
	c.TenantID, c.ClientID = "tenant", "client"
	c.AuthorityHost, c.GraphURL, c.CAFile = tn.login.URL, tn.graph.URL, tn.ca
	c.Groups, c.ExternalID = []string{"ph-admin"}, "employeeId"
	c.MaxRetries = 2
	return c
}

// tokenRequests counts the requests to the token endpoint.
func (tn *tenant) tokenRequests() int {
	n := 0
	for _, r := range tn.login.Requests() {
		if strings.HasSuffix(r, "/oauth2/v2.0/token") {
			n++
		}
	}
	return n
}

func openReal(t *testing.T, c entra.Config) *entra.Connector {
	t.Helper()
	conn, err := c.OpenWith("entra-auth", nil, entra.WithBackoff(time.Millisecond))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return conn
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func writeFile(t *testing.T, name string, parts ...[]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, slices.Concat(parts...), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// clientCert is a self-signed certificate for an application.
type clientCert struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func newClientCert(t *testing.T) clientCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "idpsync test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return clientCert{cert: cert, key: key}
}

// file writes the certificate and its key as PEM, the key as PKCS#8 or,
// with pkcs1, as PKCS#1 and before the certificate.
func (c clientCert) file(t *testing.T, pkcs1 bool) string {
	t.Helper()
	cert := pemBlock("CERTIFICATE", c.cert.Raw)
	if pkcs1 {
		return writeFile(t, "client.pem", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(c.key)), cert)
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.key)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "client.pem", cert, pemBlock("PRIVATE KEY", der))
}

// Each credential signs in, reads Graph with the token it got, and keeps
// using that token: one token request for two fetches of several Graph
// requests each, some of them concurrent.
func TestSignIn(t *testing.T) {
	const secret = "s3cr3t~value"
	cert := newClientCert(t)
	tests := []struct {
		name string
		lo   graphtest.LoginOptions
		set  func(t *testing.T, c *entra.Config)
	}{
		{name: "client_secret_env", lo: graphtest.LoginOptions{Secret: secret}, set: func(t *testing.T, c *entra.Config) {
			t.Setenv("IDPSYNC_TEST_ENTRA_SECRET", secret)
			c.ClientSecretEnv = "IDPSYNC_TEST_ENTRA_SECRET"
		}},
		{name: "client_secret_file", lo: graphtest.LoginOptions{Secret: secret}, set: func(t *testing.T, c *entra.Config) {
			c.ClientSecretFile = writeFile(t, "secret", []byte(secret+"\n"))
		}},
		{name: "certificate_file with a PKCS#8 key", lo: graphtest.LoginOptions{Certificate: cert.cert}, set: func(t *testing.T, c *entra.Config) {
			c.CertificateFile = cert.file(t, false)
		}},
		{name: "certificate_file with a PKCS#1 key first", lo: graphtest.LoginOptions{Certificate: cert.cert}, set: func(t *testing.T, c *entra.Config) {
			c.CertificateFile = cert.file(t, true)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, tt.lo)
			c := tn.config()
			tt.set(t, &c)
			conn := openReal(t, c)
			for range 2 {
				got, err := conn.Fetch(t.Context())
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if g, u := groupIDs(got), userIDs(got); !slices.Equal(g, []string{"g1", "g2", "g3"}) || !slices.Equal(u, []string{"u1", "u2", "u3"}) {
					t.Errorf("groups %v, users %v; want g1-g3 and u1-u3", g, u)
				}
			}
			if n := tn.login.TokensIssued(); n != 1 {
				t.Errorf("%d tokens issued for two fetches, want 1 (the token is reused)", n)
			}
			want := []string{"GET /tenant/v2.0/.well-known/openid-configuration", "POST /tenant/oauth2/v2.0/token"}
			if got := tn.login.Requests(); !slices.Equal(got, want) {
				t.Errorf("login requests = %q, want %q", got, want)
			}
			if n := tn.graph.Requests(); n != 12 {
				t.Errorf("graph requests = %d, want 12 (6 pages a fetch)", n)
			}
		})
	}
}

// A credential the platform refuses fails the fetch at once, with Entra's
// own explanation, no directory, and nothing sent to Graph. It is not
// retried: a refusal is not transient.
func TestSignInRefused(t *testing.T) {
	registered, other := newClientCert(t), newClientCert(t)
	secretEnv := func(v string) func(t *testing.T, c *entra.Config) {
		return func(t *testing.T, c *entra.Config) {
			t.Setenv("IDPSYNC_TEST_ENTRA_SECRET", v)
			c.ClientSecretEnv = "IDPSYNC_TEST_ENTRA_SECRET"
		}
	}
	tests := []struct {
		name  string
		lo    graphtest.LoginOptions
		set   func(t *testing.T, c *entra.Config)
		want  string
		token int // token requests
	}{
		{name: "wrong secret", lo: graphtest.LoginOptions{Secret: "right"}, set: secretEnv("wrong"),
			want: "AADSTS7000215: Invalid client secret", token: 1},
		{name: "secret for an app with a certificate only", lo: graphtest.LoginOptions{Certificate: registered.cert}, set: secretEnv("anything"),
			want: "AADSTS7000215", token: 1},
		{name: "certificate not registered", lo: graphtest.LoginOptions{Certificate: registered.cert},
			set: func(t *testing.T, c *entra.Config) {
				c.CertificateFile = other.file(t, false)
			}, want: "AADSTS700027", token: 1},
		{name: "unknown client id", lo: graphtest.LoginOptions{Secret: "right"}, set: func(t *testing.T, c *entra.Config) {
			secretEnv("right")(t, c)
			c.ClientID = "someone-else"
		}, want: "AADSTS700016", token: 1},
		{name: "unknown tenant", lo: graphtest.LoginOptions{Secret: "right"}, set: func(t *testing.T, c *entra.Config) {
			secretEnv("right")(t, c)
			c.TenantID = "other-tenant"
		}, want: "AADSTS90002", token: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, tt.lo)
			c := tn.config()
			tt.set(t, &c)
			start := time.Now()
			got, err := openReal(t, c).Fetch(t.Context())
			if err == nil || got != nil {
				t.Fatalf("Fetch = %v, %v; want no directory and an error", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Fetch error = %v\nwant one saying %q", err, tt.want)
			}
			if n := tn.tokenRequests(); n != tt.token {
				t.Errorf("%d token requests, want %d (no retry)", n, tt.token)
			}
			if n := tn.login.TokensIssued(); n != 0 {
				t.Errorf("%d tokens issued, want none", n)
			}
			if n := tn.graph.Requests(); n != 0 {
				t.Errorf("%d Graph requests, want none without a token", n)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("failing took %v", took)
			}
		})
	}
}

// The fake Graph takes only the token the fake login issued: a token for
// something else gets 401, and the fetch fails.
func TestGraphRefusesOtherTokens(t *testing.T) {
	tn := newTenant(t, graphtest.LoginOptions{Secret: "right", Token: "a-token-for-something-else"})
	c := tn.config()
	c.ClientSecretFile = writeFile(t, "secret", []byte("right"))
	got, err := openReal(t, c).Fetch(t.Context())
	if err == nil || got != nil {
		t.Fatalf("Fetch = %v, %v; want no directory and an error", got, err)
	}
	if !strings.Contains(err.Error(), "Access token is empty or invalid") {
		t.Errorf("Fetch error = %v, want Graph's 401", err)
	}
	if tn.login.TokensIssued() != 1 || tn.graph.Requests() == 0 {
		t.Errorf("tokens issued %d, Graph requests %d; want 1 and some", tn.login.TokensIssued(), tn.graph.Requests())
	}
}

// The fakes' certificates are trusted through ca_file only: without it, or
// with a file of another CA, the TLS handshake fails and no request is made.
func TestSignInCAFile(t *testing.T) {
	tests := []struct {
		name string
		ca   func(t *testing.T) string
	}{
		{name: "no ca_file", ca: func(*testing.T) string { return "" }},
		{name: "another CA", ca: func(t *testing.T) string {
			return writeFile(t, "other-ca.pem", pemBlock("CERTIFICATE", newClientCert(t).cert.Raw))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTenant(t, graphtest.LoginOptions{Secret: "right"})
			c := tn.config()
			c.ClientSecretFile = writeFile(t, "secret", []byte("right"))
			c.CAFile = tt.ca(t)
			got, err := openReal(t, c).Fetch(t.Context())
			if err == nil || got != nil {
				t.Fatalf("Fetch = %v, %v; want no directory and a TLS error", got, err)
			}
			if !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
				t.Errorf("Fetch error = %v, want the TLS verification failure", err)
			}
			if r, n := tn.login.Requests(), tn.graph.Requests(); len(r) != 0 || n != 0 {
				t.Errorf("login saw %q, Graph %d requests; want none past the handshake", r, n)
			}
		})
	}
	t.Run("not a certificate", func(t *testing.T) {
		c := newTenant(t, graphtest.LoginOptions{}).config()
		c.ClientSecretEnv = "UNUSED"
		c.CAFile = writeFile(t, "junk.pem", []byte("not PEM"))
		if _, err := c.Open("x", nil); err == nil || !strings.Contains(err.Error(), "ca_file") {
			t.Errorf("Open = %v, want an error naming ca_file", err)
		}
	})
}

// Sign-in requests are bounded like Graph's: a login endpoint that does not
// answer fails the fetch after timeout × (1 + max_retries), not never.
func TestSignInTimeout(t *testing.T) {
	tn := newTenant(t, graphtest.LoginOptions{Secret: "right", Latency: 5 * time.Second})
	c := tn.config()
	c.ClientSecretFile = writeFile(t, "secret", []byte("right"))
	c.Timeout, c.MaxRetries = "100ms", 2
	start := time.Now()
	got, err := openReal(t, c).Fetch(t.Context())
	took := time.Since(start)
	if err == nil || got != nil {
		t.Fatalf("Fetch = %v, %v; want no directory and a timeout", got, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("Fetch error = %v, want a timeout", err)
	}
	if took > 2*time.Second {
		t.Errorf("Fetch took %v, want about 3 × 100ms", took)
	}
	// Each attempt that times out takes its connection with it; one whose
	// new TLS handshake outlasts the timeout never reaches the handler.
	if n := len(tn.login.Requests()); n < 1 || n > 3 {
		t.Errorf("login got %d requests, want 1 to 3 (1 + max_retries attempts)", n)
	}
}

// Cancelling a fetch stops a sign-in in progress.
func TestSignInCancel(t *testing.T) {
	tn := newTenant(t, graphtest.LoginOptions{Secret: "right", Latency: 10 * time.Second})
	c := tn.config()
	c.ClientSecretFile = writeFile(t, "secret", []byte("right"))
	conn := openReal(t, c)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		got, err := conn.Fetch(ctx)
		if got != nil {
			err = errors.New("got a directory")
		}
		done <- err
	}()
	for len(tn.login.Requests()) == 0 { // signing in
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch error = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Fetch did not stop within 2s of the cancel")
	}
}

// azidentity signs in only over https: an http authority_host is a
// configuration error that names the key.
func TestAuthorityHostHTTP(t *testing.T) {
	c := config("https://graph.microsoft.com/v1.0", "ph-admin")
	c.AuthorityHost = "http://login.example/"
	if errs := fmt.Sprint(c.Validate()); !strings.Contains(errs, "authority_host") {
		t.Errorf("Validate = %s, want an error naming authority_host", errs)
	}
}

// A certificate_file whose key is not the certificate's is refused at Open.
func TestCertificateKeyMismatch(t *testing.T) {
	a, b := newClientCert(t), newClientCert(t)
	der, err := x509.MarshalPKCS8PrivateKey(b.key)
	if err != nil {
		t.Fatal(err)
	}
	c := newTenant(t, graphtest.LoginOptions{Certificate: a.cert}).config()
	c.CertificateFile = writeFile(t, "mismatch.pem", pemBlock("CERTIFICATE", a.cert.Raw), pemBlock("PRIVATE KEY", der))
	if _, err := c.Open("x", nil); reconcile.ErrorKind(err) != reconcile.EINVALID || !strings.Contains(err.Error(), "certificate_file") {
		t.Errorf("Open = %v, want EINVALID naming certificate_file", err)
	}
}

// The fake login checks a client assertion as Entra does, so that the
// certificate sign-ins above prove something: only a JWT signed with the
// registered certificate's key, naming it, for this token endpoint and
// client, and not expired, gets a token.
func TestFakeLoginChecksAssertions(t *testing.T) {
	registered, other := newClientCert(t), newClientCert(t)
	login := graphtest.NewLogin(graphtest.LoginOptions{Certificate: registered.cert})
	t.Cleanup(login.Close)
	endpoint := login.URL + "tenant/oauth2/v2.0/token"
	s1, s256 := sha1.Sum(registered.cert.Raw), sha256.Sum256(registered.cert.Raw)
	o256 := sha256.Sum256(other.cert.Raw)
	x5t := base64.StdEncoding.EncodeToString(s1[:])
	x5tS256 := base64.StdEncoding.EncodeToString(s256[:])
	claims := func(change func(map[string]any)) map[string]any {
		now := time.Now().Unix()
		c := map[string]any{"aud": endpoint, "iss": "client", "sub": "client", "jti": "j1", "nbf": now, "exp": now + 600}
		if change != nil {
			change(c)
		}
		return c
	}
	tests := []struct {
		name   string
		alg    string
		key    *rsa.PrivateKey
		header map[string]any
		claims map[string]any
		ok     bool
	}{
		{name: "PS256 with x5t#S256, as MSAL signs", alg: "PS256", key: registered.key, header: map[string]any{"x5t#S256": x5tS256}, claims: claims(nil), ok: true},
		{name: "RS256 with x5t", alg: "RS256", key: registered.key, header: map[string]any{"x5t": x5t}, claims: claims(nil), ok: true},
		{name: "another key", alg: "PS256", key: other.key, header: map[string]any{"x5t#S256": x5tS256}, claims: claims(nil)},
		{name: "another certificate's thumbprint", alg: "PS256", key: registered.key, header: map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(o256[:])}, claims: claims(nil)},
		{name: "no thumbprint", alg: "PS256", key: registered.key, header: map[string]any{}, claims: claims(nil)},
		{name: "another audience", alg: "PS256", key: registered.key, header: map[string]any{"x5t#S256": x5tS256},
			claims: claims(func(c map[string]any) { c["aud"] = "https://login.microsoftonline.com/tenant/oauth2/v2.0/token" })},
		{name: "another issuer", alg: "PS256", key: registered.key, header: map[string]any{"x5t#S256": x5tS256},
			claims: claims(func(c map[string]any) { c["iss"] = "intruder" })},
		{name: "expired", alg: "PS256", key: registered.key, header: map[string]any{"x5t#S256": x5tS256},
			claims: claims(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })},
		{name: "unsigned", alg: "none", header: map[string]any{"x5t#S256": x5tS256}, claims: claims(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := login.TokensIssued()
			form := url.Values{
				"grant_type":            {"client_credentials"},
				"client_id":             {"client"},
				"scope":                 {"https://graph.example/.default"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"client_assertion":      {signJWT(t, tt.alg, tt.key, tt.header, tt.claims)},
			}
			resp, err := login.Client().PostForm(endpoint, form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := resp.StatusCode == http.StatusOK; got != tt.ok {
				t.Fatalf("status %d (%s), want ok = %v", resp.StatusCode, body, tt.ok)
			}
			if !tt.ok && !strings.Contains(string(body), "AADSTS700027") {
				t.Errorf("body = %s, want AADSTS700027", body)
			}
			if n := login.TokensIssued() - before; n != map[bool]int64{true: 1, false: 0}[tt.ok] {
				t.Errorf("%d tokens issued", n)
			}
		})
	}
}

// signJWT signs a compact JWS (alg "none": unsigned).
func signJWT(t *testing.T, alg string, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": alg, "typ": "JWT"}
	maps.Copy(h, header)
	seg := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := seg(h) + "." + seg(claims)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch alg {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
