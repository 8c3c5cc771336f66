package graphtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LoginOptions shape a fake Microsoft identity platform.
type LoginOptions struct {
	// TenantID is the only tenant the fake knows (default "tenant").
	TenantID string
	// ClientID is the only application registered in it (default "client").
	ClientID string
	// Secret, if set, is a client secret the application accepts.
	Secret string
	// Certificate, if set, is a certificate registered for the application:
	// a client assertion must name it (x5t or x5t#S256) and be signed with
	// its key.
	Certificate *x509.Certificate
	// Scope, if set, is the only resource scope tokens are issued for, e.g.
	// "https://graph.microsoft.com/.default".
	Scope string
	// Token is the access token issued (default: a random one) and
	// ExpiresIn its lifetime in seconds (default 3599).
	Token     string
	ExpiresIn int
	// Latency delays every answer.
	Latency time.Duration
}

// Login is a running fake Microsoft identity platform (login.microsoftonline.com)
// over TLS, as azidentity requires an https authority. It serves what a
// confidential client reads when instance discovery is off: the tenant's
// OpenID configuration, /{tenant}/v2.0/.well-known/openid-configuration, and
// its token endpoint, /{tenant}/oauth2/v2.0/token, which grants
// client_credentials to a client secret or to a client assertion (a JWT
// signed RS256 or PS256 with the registered certificate's key, checked as
// Entra does: signature, thumbprint header, aud, iss, sub, exp, nbf).
// Errors are Entra's: {"error", "error_description": "AADSTS…", "error_codes"}.
//
// Anything else, instance discovery included (MSAL sends it to
// login.microsoftonline.com, never to a custom authority), is a 404 that
// Requests records.
type Login struct {
	// URL is the authority host, "https://127.0.0.1:port/".
	URL string

	srv    *httptest.Server
	opts   LoginOptions
	issued atomic.Int64

	mu       sync.Mutex
	requests []string
}

// NewLogin starts a fake identity platform. Close it when done.
func NewLogin(o LoginOptions) *Login {
	if o.TenantID == "" {
		o.TenantID = "tenant"
	}
	if o.ClientID == "" {
		o.ClientID = "client"
	}
	if o.Token == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		o.Token = "fake-entra-token-" + hex.EncodeToString(b)
	}
	if o.ExpiresIn == 0 {
		o.ExpiresIn = 3599
	}
	l := &Login{opts: o}
	l.srv = startTLS(http.HandlerFunc(l.serve))
	l.URL = l.srv.URL + "/"
	return l
}

// Close shuts the server down.
func (l *Login) Close() { l.srv.Close() }

// Certificate is the TLS certificate the server presents (httptest's, which
// no system trusts).
func (l *Login) Certificate() *x509.Certificate { return l.srv.Certificate() }

// Client is an HTTP client that trusts the server's certificate.
func (l *Login) Client() *http.Client { return l.srv.Client() }

// Token is the access token the fake issues.
func (l *Login) Token() string { return l.opts.Token }

// TokensIssued is the number of tokens issued so far.
func (l *Login) TokensIssued() int64 { return l.issued.Load() }

// Requests lists the requests received, as "METHOD /path", in order.
func (l *Login) Requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests)
}

var (
	discoveryPath = regexp.MustCompile(`^/([^/]+)/v2\.0/\.well-known/openid-configuration$`)
	tokenPath     = regexp.MustCompile(`^/([^/]+)/oauth2/v2\.0/token$`)
)

func (l *Login) serve(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.requests = append(l.requests, r.Method+" "+r.URL.Path)
	l.mu.Unlock()
	if l.opts.Latency > 0 {
		select {
		case <-time.After(l.opts.Latency):
		case <-r.Context().Done():
			// The client gave up: drop the connection rather than
			// answer an empty 200 it might yet read.
			panic(http.ErrAbortHandler)
		}
	}
	if m := discoveryPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
		l.discovery(w, r, m[1])
		return
	}
	if m := tokenPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodPost {
		l.token(w, r, m[1])
		return
	}
	aadError(w, http.StatusNotFound, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a "+r.Method+" request.")
}

// authority is the tenant's authority URL as the client reached it.
func (l *Login) authority(r *http.Request, tenant string) string {
	return "https://" + r.Host + "/" + tenant
}

func (l *Login) discovery(w http.ResponseWriter, r *http.Request, tenant string) {
	if tenant != l.opts.TenantID {
		aadError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	a := l.authority(r, tenant)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        a + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              "https://" + r.Host + "/" + tenant + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                a + "/v2.0",
		"authorization_endpoint":                a + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         a + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  a + "/oauth2/v2.0/logout",
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
		"msgraph_host":                          "graph.microsoft.com",
	})
}

// oidcScopes are the scopes MSAL adds to every request; a client
// credentials grant ignores them.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true}

func (l *Login) token(w http.ResponseWriter, r *http.Request, tenant string) {
	if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		aadError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	o := l.opts
	switch {
	case tenant != o.TenantID:
		aadError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
		return
	case f.Get("grant_type") != "client_credentials":
		aadError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", f.Get("grant_type")))
		return
	case f.Get("client_id") != o.ClientID:
		aadError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", f.Get("client_id"), tenant))
		return
	}
	var resources []string
	for _, s := range strings.Fields(f.Get("scope")) {
		if !oidcScopes[s] {
			resources = append(resources, s)
		}
	}
	if len(resources) != 1 || !strings.HasSuffix(resources[0], "/.default") {
		aadError(w, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", f.Get("scope")))
		return
	}
	if o.Scope != "" && resources[0] != o.Scope {
		aadError(w, http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s.", strings.TrimSuffix(resources[0], "/.default"), tenant))
		return
	}

	switch secret, assertion := f.Get("client_secret"), f.Get("client_assertion"); {
	case secret != "" && assertion != "":
		aadError(w, http.StatusBadRequest, "invalid_request", 90015, "Requested query string is too long or the request carries two credentials.")
		return
	case secret != "":
		if o.Secret == "" || secret != o.Secret {
			aadError(w, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", o.ClientID))
			return
		}
	case assertion != "":
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			aadError(w, http.StatusBadRequest, "invalid_request", 50027, "Invalid client_assertion_type.")
			return
		}
		if err := l.checkAssertion(assertion, l.authority(r, tenant)+"/oauth2/v2.0/token"); err != nil {
			aadError(w, http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation: "+err.Error())
			return
		}
	default:
		aadError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	l.issued.Add(1)
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"expires_in":     o.ExpiresIn,
		"ext_expires_in": o.ExpiresIn,
		"access_token":   o.Token,
	})
}

// checkAssertion verifies a client assertion as Entra does.
func (l *Login) checkAssertion(jwt, audience string) error {
	cert := l.opts.Certificate
	if cert == nil {
		return errors.New("no certificate is registered for the application")
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("not a compact JWS")
	}
	var header struct {
		Alg     string `json:"alg"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud string   `json:"aud"`
		Iss string   `json:"iss"`
		Sub string   `json:"sub"`
		Jti string   `json:"jti"`
		Exp *float64 `json:"exp"`
		Nbf *float64 `json:"nbf"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}

	// The header names the certificate by its thumbprint.
	sha1sum, sha256sum := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
	switch {
	case header.X5tS256 != "":
		if !thumbprintIs(header.X5tS256, sha256sum[:]) {
			return errors.New("x5t#S256 names a certificate that is not registered")
		}
	case header.X5t != "":
		if !thumbprintIs(header.X5t, sha1sum[:]) {
			return errors.New("x5t names a certificate that is not registered")
		}
	default:
		return errors.New("the header names no certificate (x5t or x5t#S256)")
	}

	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errors.New("the registered certificate has no RSA key")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch header.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	default:
		return fmt.Errorf("unsupported alg %q", header.Alg)
	}
	if err != nil {
		return fmt.Errorf("%s signature does not verify with the registered certificate's key", header.Alg)
	}

	now := float64(time.Now().Unix())
	const skew = 300 // seconds, as Entra allows
	switch {
	case claims.Aud != audience:
		return fmt.Errorf("aud is %q, want the token endpoint %q", claims.Aud, audience)
	case claims.Iss != l.opts.ClientID || claims.Sub != l.opts.ClientID:
		return fmt.Errorf("iss %q and sub %q must both be the client id %q", claims.Iss, claims.Sub, l.opts.ClientID)
	case claims.Jti == "":
		return errors.New("no jti")
	case claims.Exp == nil || *claims.Exp+skew < now:
		return errors.New("expired, or no exp")
	case claims.Nbf != nil && *claims.Nbf-skew > now:
		return errors.New("not valid yet (nbf)")
	}
	return nil
}

// thumbprintIs compares a JOSE thumbprint header with sum. RFC 7515 says
// base64url; MSAL sends standard base64: either is accepted.
func thumbprintIs(header string, sum []byte) bool {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(header); err == nil && bytes.Equal(b, sum) {
			return true
		}
	}
	return false
}

func decodeSegment(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// aadError writes an error the way Entra's token service does.
func aadError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	now := time.Now().UTC()
	writeJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: 00000000-0000-0000-0000-000000000000 Correlation ID: 00000000-0000-0000-0000-000000000000 Timestamp: %s", aadsts, desc, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          "00000000-0000-0000-0000-000000000000",
		"correlation_id":    "00000000-0000-0000-0000-000000000000",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
