package okta

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// oauth is the http.RoundTripper between the SDK and the pacer when the
// source signs in with OAuth 2.0 client credentials and a private key
// (private_key_jwt): it gets an access token from the org authorization
// server, {org}/oauth2/v1/token, and sends it as "Authorization: Bearer"
// on every request, until it expires or the org refuses it.
//
// It replaces okta-sdk-golang v2's "PrivateKey" mode, which
//   - signs its client assertion good for exactly an hour, which Okta
//     refuses ("expiration too far into the future") whenever the org's clock
//     is a second behind ours (okta/okta-sdk-golang#573);
//   - requests the token without the fetch's context, so a cancelled run
//     waited for the token request and its retries;
//   - sends the assertion, a credential until it expires, in the URL query,
//     where proxies and access logs keep it;
//   - takes only PKCS#1 keys, failing every fetch (not Open) with the PKCS#8
//     PEM that openssl genpkey and OpenSSL 3 write;
//   - reads the kid from OKTA_CLIENT_PRIVATEKEYID when private_key_id is not
//     set;
//   - keeps a refused token until its expiry, up to an hour of failed runs.
//
// The token request goes through the pacer like any other: paced, retried on
// 429/5xx, timed out per attempt, abandoned when the request's context ends.
type oauth struct {
	next     http.RoundTripper
	tokenURL string // {org}/oauth2/v1/token
	clientID string
	key      *rsa.PrivateKey
	keyID    string
	scope    string // space-separated

	// sem, a one-slot semaphore, lets one request at a time get a token;
	// it guards token and expires.
	sem     chan struct{}
	token   string
	expires time.Time
}

// assertionLifetime is how long a client assertion is good for: well under
// the hour Okta allows, so clock skew does not matter.
const assertionLifetime = 5 * time.Minute

func newOAuth(next http.RoundTripper, c Config, key *rsa.PrivateKey) *oauth {
	return &oauth{
		next:     next,
		tokenURL: c.OrgURL + "/oauth2/v1/token",
		clientID: c.ClientID,
		key:      key,
		keyID:    c.PrivateKeyID,
		scope:    strings.Join(c.scopes(), " "),
		sem:      make(chan struct{}, 1),
	}
}

func (a *oauth) RoundTrip(req *http.Request) (*http.Response, error) {
	token, fresh, err := a.get(req.Context(), "")
	if err != nil {
		return nil, err
	}
	resp, err := a.send(req, token)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || fresh || (req.Body != nil && req.GetBody == nil) {
		return resp, err
	}
	// The org no longer takes a token we kept (revoked, or expired early):
	// once, with a new one.
	drain(resp)
	if token, _, err = a.get(req.Context(), token); err != nil {
		return nil, err
	}
	return a.send(req, token)
}

// send sends a copy of req bearing token.
func (a *oauth) send(req *http.Request, token string) (*http.Response, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	r.Header.Set("Authorization", "Bearer "+token)
	return a.next.RoundTrip(r)
}

// get returns a token that has not expired and is not stale, requesting a
// new one if need be; fresh tells whether it was just issued.
func (a *oauth) get(ctx context.Context, stale string) (token string, fresh bool, err error) {
	select {
	case a.sem <- struct{}{}:
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
	defer func() { <-a.sem }()
	if a.token != "" && a.token != stale && time.Now().Before(a.expires) {
		return a.token, false, nil
	}
	a.token = ""
	token, expiresIn, err := a.request(ctx)
	if err != nil {
		return "", false, err
	}
	// Renew a little before Okta's expiry: a minute, or a tenth of a short
	// lifetime.
	a.token, a.expires = token, time.Now().Add(expiresIn-min(time.Minute, expiresIn/10))
	return token, true, nil
}

// request asks the token endpoint for a token.
func (a *oauth) request(ctx context.Context) (string, time.Duration, error) {
	assertion, err := a.assertion()
	if err != nil {
		return "", 0, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"scope":                 {a.scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := a.next.RoundTrip(req)
	if err != nil {
		return "", 0, fmt.Errorf("okta: requesting an access token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("okta: requesting an access token: %w", err)
	}
	var t struct {
		TokenType   string `json:"token_type"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &t)
	switch {
	case resp.StatusCode != http.StatusOK && t.Error != "":
		return "", 0, fmt.Errorf("okta: the org refused client_id %s an access token (%s): %s: %s", a.clientID, resp.Status, t.Error, t.Description)
	case resp.StatusCode != http.StatusOK:
		return "", 0, fmt.Errorf("okta: the token endpoint answered %s", resp.Status)
	case jerr != nil:
		return "", 0, fmt.Errorf("okta: the token endpoint's answer: %w", jerr)
	case !strings.EqualFold(t.TokenType, "Bearer") || t.AccessToken == "" || t.ExpiresIn <= 0:
		return "", 0, fmt.Errorf("okta: the token endpoint's answer holds no bearer token (token_type %q, expires_in %d)", t.TokenType, t.ExpiresIn)
	}
	return t.AccessToken, time.Duration(t.ExpiresIn) * time.Second, nil
}

// assertion is a client assertion (RFC 7523) signed RS256 with the key.
func (a *oauth) assertion() (string, error) {
	now := time.Now()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if a.keyID != "" {
		header["kid"] = a.keyID
	}
	claims := map[string]any{
		"iss": a.clientID,
		"sub": a.clientID,
		"aud": a.tokenURL,
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
		"jti": hex.EncodeToString(jti),
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, a.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// privateKey reads private_key_file: a PEM RSA key, PKCS#1 or PKCS#8.
func (c Config) privateKey() (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(c.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("private_key_file: %v", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("private_key_file: %s holds no PEM block", c.PrivateKeyFile)
	}
	var key any
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		err = fmt.Errorf("a %q block, not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("private_key_file: %s: %v", c.PrivateKeyFile, err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private_key_file: %s: a %T, not an RSA key", c.PrivateKeyFile, key)
	}
	if err := rk.Validate(); err != nil {
		return nil, fmt.Errorf("private_key_file: %s: %v", c.PrivateKeyFile, err)
	}
	return rk, nil
}
