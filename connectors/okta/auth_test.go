package okta_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/connectors/okta"
	"github.com/idpsync/idpsync/connectors/okta/oktatest"
	"github.com/idpsync/idpsync/reconcile"
)

// These tests sign in with OAuth 2.0 client credentials and a private key
// (private_key_jwt) against the fake org's authorization server, which then
// takes only the access tokens it issued.

const (
	clientID = "0oa1idpsync"
	keyID    = "kid-registered"
)

func newKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// keyFile writes key as PEM: PKCS#8 ("PRIVATE KEY", what openssl genpkey
// and OpenSSL 3's genrsa write) or PKCS#1 ("RSA PRIVATE KEY").
func keyFile(t *testing.T, key *rsa.PrivateKey, pkcs8 bool) string {
	t.Helper()
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	if pkcs8 {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// oauthOrg is a fake org in OAuth mode with key registered for clientID.
func oauthOrg(t *testing.T, d *reconcile.Directory, o oktatest.Options, key *rsa.PrivateKey) *oktatest.Server {
	t.Helper()
	if o.OAuth == nil {
		o.OAuth = &oktatest.OAuth{}
	}
	o.OAuth.ClientID, o.OAuth.Key, o.OAuth.KeyID = clientID, &key.PublicKey, keyID
	return oktatest.New(t, d, o)
}

func oauthConfig(srv *oktatest.Server, keyFile string) okta.Config {
	return okta.Config{OrgURL: srv.URL + "/", ClientID: clientID, PrivateKeyFile: keyFile, Groups: []string{"*"}, ExternalID: "employeeNumber"}
}

// apiRequests is the number of requests the fake's API (not its token
// endpoint) received.
func apiRequests(srv *oktatest.Server) int64 { return srv.Requests() - srv.TokenRequests() }

// A fetch signs in once and reads the org with the token it got, for as
// long as the token lasts: one token for two fetches. No API token is ever
// sent, even with one in the SDK's environment variables.
func TestOAuth(t *testing.T) {
	key := newKey(t)
	d := manyGroups(6)
	tests := []struct {
		name       string
		pkcs8      bool
		keyID      string
		app        bool
		opts       oktatest.Options
		wantScope  string
		wantTokens int64 // token requests
	}{
		{name: "PKCS#1 key", wantScope: "okta.users.read okta.groups.read", wantTokens: 1},
		{name: "PKCS#8 key", pkcs8: true, wantScope: "okta.users.read okta.groups.read", wantTokens: 1},
		{name: "private_key_id is the kid", keyID: keyID, wantScope: "okta.users.read okta.groups.read", wantTokens: 1},
		{name: "app_id asks for okta.apps.read", app: true, wantScope: "okta.users.read okta.groups.read okta.apps.read", wantTokens: 1,
			opts: oktatest.Options{AppID: appID, AppGroups: []string{"g-00001"}}},
		// An assertion good for exactly an hour, as okta-sdk-golang v2
		// signs it, is refused by an org whose clock is behind.
		{name: "org clock 5s behind", opts: oktatest.Options{OAuth: &oktatest.OAuth{ClockBehind: 5 * time.Second}},
			wantScope: "okta.users.read okta.groups.read", wantTokens: 1},
		{name: "token endpoint unavailable once", wantScope: "okta.users.read okta.groups.read", wantTokens: 2,
			opts: oktatest.Options{Fault: func(n int64, r *http.Request) oktatest.Fault {
				if n == 1 && r.URL.Path == "/oauth2/v1/token" {
					return oktatest.Unavailable
				}
				return oktatest.None
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The SDK reads these before its options: none may leak in.
			t.Setenv("OKTA_CLIENT_TOKEN", oktatest.Token)
			t.Setenv("OKTA_CLIENT_PRIVATEKEYID", "kid-from-the-environment")
			t.Setenv("OKTA_CLIENT_AUTHORIZATIONMODE", "SSWS")
			srv := oauthOrg(t, d, tt.opts, key)
			c := oauthConfig(srv, keyFile(t, key, tt.pkcs8))
			c.PrivateKeyID = tt.keyID
			if tt.app {
				c.AppID, c.Groups = appID, nil
			}
			conn := open(t, c)
			for range 2 {
				got, err := conn.Fetch(t.Context())
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if !tt.app {
					if diff := connectortest.Diff(got, d); diff != "" {
						t.Fatalf("fetched directory differs:\n%s", diff)
					}
				} else if len(got.Groups) != 1 || got.Groups[0].ID != "g-00001" {
					t.Fatalf("groups = %+v, want the app's g-00001", got.Groups)
				}
			}
			if n := srv.TokenRequests(); n != tt.wantTokens {
				t.Errorf("%d token requests, want %d", n, tt.wantTokens)
			}
			if n := srv.TokensIssued(); n != 1 {
				t.Errorf("%d tokens issued for two fetches, want 1", n)
			}
			if n := srv.SSWSRequests(); n != 0 {
				t.Errorf("%d requests carried an API token", n)
			}
			as := srv.Assertions()
			if len(as) == 0 {
				t.Fatal("no token request")
			}
			a := as[len(as)-1]
			if a.Scope != tt.wantScope || a.KeyID != tt.keyID || a.Alg != "RS256" {
				t.Errorf("assertion %+v; want scope %q, kid %q, RS256", a, tt.wantScope, tt.keyID)
			}
			// The assertion is a credential until it expires: in the URL,
			// proxies and access logs would keep it.
			if a.InQuery {
				t.Error("the client assertion was sent in the URL, not the body")
			}
		})
	}
}

// A client the org does not accept fails the fetch with Okta's reason, no
// directory and no API request. The refusal is not retried.
func TestOAuthRefused(t *testing.T) {
	key, other := newKey(t), newKey(t)
	tests := []struct {
		name   string
		opts   oktatest.Options
		change func(c *okta.Config)
		key    *rsa.PrivateKey
		want   string
	}{
		{name: "key not registered", key: other, want: "The client_assertion signature is invalid"},
		{name: "kid not registered", key: key, change: func(c *okta.Config) { c.PrivateKeyID = "kid-other" }, want: "not registered"},
		{name: "another client", key: key, change: func(c *okta.Config) { c.ClientID = "0oa1other" }, want: "invalid issuer"},
		{name: "okta.apps.read not granted", key: key, change: func(c *okta.Config) { c.AppID = appID },
			opts: oktatest.Options{AppID: appID, OAuth: &oktatest.OAuth{Granted: []string{"okta.users.read", "okta.groups.read"}}},
			want: "okta.apps.read"},
		// The connector does not do DPoP: the app must not require it.
		{name: "app requires DPoP", key: key, opts: oktatest.Options{OAuth: &oktatest.OAuth{RequireDPoP: true}},
			want: "invalid_dpop_proof: The DPoP proof JWT header is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := oauthOrg(t, scoped(), tt.opts, key)
			c := oauthConfig(srv, keyFile(t, tt.key, false))
			if tt.change != nil {
				tt.change(&c)
			}
			start := time.Now()
			got, err := open(t, c).Fetch(t.Context())
			if err == nil || got != nil {
				t.Fatalf("Fetch = %v, %v; want no directory and an error", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Fetch error = %v\nwant one saying %q", err, tt.want)
			}
			t.Logf("error: %v", err)
			if n := srv.TokenRequests(); n != 1 {
				t.Errorf("%d token requests, want 1 (a refusal is not retried)", n)
			}
			if n := apiRequests(srv); n != 0 {
				t.Errorf("%d API requests without a token", n)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("failing took %v", took)
			}
		})
	}
}

// A token the org stops accepting (revoked, or expired early by clock skew)
// is replaced: the request is retried once with a new token.
func TestOAuthTokenRevoked(t *testing.T) {
	key := newKey(t)
	srv := oauthOrg(t, manyGroups(4), oktatest.Options{}, key)
	conn := open(t, oauthConfig(srv, keyFile(t, key, false)))
	if _, err := conn.Fetch(t.Context()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	srv.RevokeTokens()
	if _, err := conn.Fetch(t.Context()); err != nil {
		t.Fatalf("Fetch after the token was revoked: %v", err)
	}
	if n := srv.TokensIssued(); n != 2 {
		t.Errorf("%d tokens issued, want 2", n)
	}
}

// Cancelling a fetch stops a sign-in in progress.
func TestOAuthCancel(t *testing.T) {
	key := newKey(t)
	srv := oauthOrg(t, manyGroups(4), oktatest.Options{Latency: 5 * time.Second}, key)
	conn := open(t, oauthConfig(srv, keyFile(t, key, false)))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	got, err := conn.Fetch(ctx)
	if took := time.Since(start); took > time.Second {
		t.Errorf("Fetch took %v, want it to stop promptly after the cancel", took)
	}
	if !errors.Is(err, context.Canceled) || got != nil {
		t.Errorf("Fetch = %v, %v; want no directory and context.Canceled", got, err)
	}
}

// A private_key_file Okta could not use is refused at Open.
func TestOAuthBadKey(t *testing.T) {
	ec := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(ec, []byte("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := okta.Config{OrgURL: "https://example.okta.com", ClientID: clientID, PrivateKeyFile: ec, Groups: []string{"*"}}
	if _, err := c.Open("o", nil); reconcile.ErrorKind(err) != reconcile.EINVALID || !strings.Contains(err.Error(), "private_key_file") {
		t.Errorf("Open = %v, want EINVALID naming private_key_file", err)
	}
}
