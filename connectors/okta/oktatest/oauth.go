package oktatest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// OAuth puts a fake org in OAuth mode: its API takes only access tokens
// from its org authorization server (Authorization: Bearer), never an API
// token, and the token endpoint, POST /oauth2/v1/token, grants
// client_credentials to a client authenticating with private_key_jwt, as a
// service app set up for idpsync would:
//
//   - grant_type=client_credentials, client_assertion_type
//     urn:ietf:params:oauth:client-assertion-type:jwt-bearer and a
//     client_assertion, in the form body or the query (okta-sdk-golang v2
//     sends them in the query);
//   - the assertion signed RS256 with the registered key, its kid (when it
//     has one) the registered KeyID, iss = sub = ClientID, aud = the org's
//     URL + "/oauth2/v1/token", exp in the future but at most an hour from
//     now on the org's clock (Okta refuses more: "expiration too far into
//     the future"), a jti used once;
//   - scope: Okta scopes the app was granted (Granted), space-separated.
//
// Each API endpoint needs its scope (okta.groups.read for groups and their
// members, okta.users.read for users, okta.apps.read for an app's
// assignments): a token without it gets 403 insufficient_scope. Errors are
// Okta's: {"error", "error_description"} from the token endpoint, a
// WWW-Authenticate: Bearer challenge from the API.
type OAuth struct {
	// ClientID is the service app's client id.
	ClientID string
	// Key is the public key registered for the app, and KeyID its kid.
	Key   *rsa.PublicKey
	KeyID string
	// Granted are the scopes the app was granted (default okta.users.read,
	// okta.groups.read, okta.apps.read).
	Granted []string
	// ExpiresIn is the tokens' lifetime in seconds (default 3600).
	ExpiresIn int
	// ClockBehind sets the org's clock behind the client's, for the
	// assertion's exp.
	ClockBehind time.Duration
	// RequireDPoP refuses token requests without a DPoP proof, as Okta does
	// for an app whose "Require Demonstrating Proof of Possession" box is
	// checked. (The fake checks no proof: the connector sends none.)
	RequireDPoP bool
}

// accessToken is a token the fake issued.
type accessToken struct {
	scopes  []string
	expires time.Time
}

// TokenRequests is the number of requests to the token endpoint, faults
// included. Requests counts them too.
func (s *Server) TokenRequests() int64 { return s.tokenRequests.Load() }

// TokensIssued is the number of access tokens issued.
func (s *Server) TokensIssued() int64 { return s.tokensIssued.Load() }

// SSWSRequests is the number of API requests that carried an API token
// (SSWS) while the org is in OAuth mode.
func (s *Server) SSWSRequests() int64 { return s.sswsRequests.Load() }

// Assertions returns the header (alg, kid) and scope of each token request
// whose assertion the fake could read, in order.
func (s *Server) Assertions() []Assertion {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.assertions)
}

// Assertion is what a token request said.
type Assertion struct {
	Alg, KeyID string
	Scope      string
	InQuery    bool // the parameters came in the URL, not the body
}

// RevokeTokens makes every token issued so far invalid.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// oauthToken serves POST /oauth2/v1/token.
func (s *Server) oauthToken(w http.ResponseWriter, r *http.Request) {
	o := s.opts.OAuth
	if o == nil {
		oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "The request method is not supported.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is malformed.")
		return
	}
	f := r.Form
	switch {
	case f.Get("grant_type") != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials].")
		return
	case f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || f.Get("client_assertion") == "":
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The client_assertion_type is invalid or the client_assertion is missing.")
		return
	case o.RequireDPoP && r.Header.Get("DPoP") == "":
		oauthError(w, http.StatusBadRequest, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
		return
	case f.Get("client_id") != "" && f.Get("client_id") != o.ClientID:
		oauthError(w, http.StatusUnauthorized, "invalid_client", "The client_id does not match the client_assertion.")
		return
	}
	if refusal := s.checkAssertion(o, f.Get("client_assertion"), f.Get("scope"), r.URL.Query().Has("client_assertion")); refusal != "" {
		oauthError(w, http.StatusUnauthorized, "invalid_client", refusal)
		return
	}

	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "The authorization server resource does not have any configured default scopes, 'scope' must be provided.")
		return
	}
	granted := o.Granted
	if granted == nil {
		granted = []string{"okta.users.read", "okta.groups.read", "okta.apps.read"}
	}
	var refused []string
	for _, sc := range scopes {
		if !slices.Contains(granted, sc) {
			refused = append(refused, sc)
		}
	}
	if len(refused) > 0 {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "The following scopes are not allowed: ["+strings.Join(refused, ", ")+"].")
		return
	}

	expiresIn := o.ExpiresIn
	if expiresIn <= 0 {
		expiresIn = 3600
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	token := "eyJfake." + hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[token] = accessToken{scopes: scopes, expires: time.Now().Add(time.Duration(expiresIn) * time.Second)}
	s.mu.Unlock()
	s.tokensIssued.Add(1)
	writeOAuthJSON(w, http.StatusOK, map[string]any{
		"token_type":   "Bearer",
		"expires_in":   expiresIn,
		"access_token": token,
		"scope":        strings.Join(scopes, " "),
	})
}

// checkAssertion verifies a client assertion as Okta does and records it. It
// returns why Okta would refuse it, or "".
func (s *Server) checkAssertion(o *OAuth, jwt, scope string, inQuery bool) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "The client_assertion is not a valid JWT."
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims struct {
		Iss string   `json:"iss"`
		Sub string   `json:"sub"`
		Aud any      `json:"aud"`
		Exp *float64 `json:"exp"`
		Iat *float64 `json:"iat"`
		Jti string   `json:"jti"`
	}
	if decode(parts[0], &header) != nil || decode(parts[1], &claims) != nil {
		return "The client_assertion is not a valid JWT."
	}
	s.mu.Lock()
	s.assertions = append(s.assertions, Assertion{Alg: header.Alg, KeyID: header.Kid, Scope: scope, InQuery: inQuery})
	s.mu.Unlock()

	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || header.Alg != "RS256" {
		return "The client_assertion signature is invalid."
	}
	if header.Kid != "" && header.Kid != o.KeyID {
		return fmt.Sprintf("The client_assertion was signed with a key (kid %q) that is not registered for the client.", header.Kid)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if o.Key == nil || rsa.VerifyPKCS1v15(o.Key, crypto.SHA256, digest[:], sig) != nil {
		return "The client_assertion signature is invalid."
	}

	now := time.Now().Add(-o.ClockBehind)
	aud, _ := claims.Aud.(string)
	switch {
	case claims.Iss != o.ClientID || claims.Sub != o.ClientID:
		return "The client_assertion token has an invalid issuer or subject: both must be the client_id."
	case aud != s.URL+"/oauth2/v1/token":
		return fmt.Sprintf("The audience claim for client_assertion must be the endpoint invoked for the request (%s/oauth2/v1/token).", s.URL)
	case claims.Exp == nil:
		return "The client_assertion token must have an expiration."
	case unix(*claims.Exp).Before(now):
		return "The client_assertion token is expired."
	case unix(*claims.Exp).Sub(now) > time.Hour:
		return "The client_assertion token has an expiration too far into the future."
	case claims.Iat != nil && unix(*claims.Iat).Sub(now) > time.Minute:
		return "The client_assertion token was issued in the future."
	}
	if claims.Jti != "" {
		s.mu.Lock()
		used := s.jtis[claims.Jti]
		s.jtis[claims.Jti] = true
		s.mu.Unlock()
		if used {
			return "The client_assertion token has already been used (jti)."
		}
	}
	return ""
}

func unix(sec float64) time.Time {
	return time.Unix(0, int64(sec*float64(time.Second)))
}

func decode(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// authorized checks an API request's Authorization header: the API token in
// SSWS mode, an unexpired access token with the endpoint's scope in OAuth
// mode. It answers the request when it is not.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	o := s.opts.OAuth
	if o == nil {
		if auth != "SSWS "+Token {
			oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
			return false
		}
		return true
	}
	if strings.HasPrefix(auth, "SSWS ") {
		s.sswsRequests.Add(1)
	}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	s.mu.Lock()
	t, known := s.tokens[token]
	s.mu.Unlock()
	if !ok || !known || time.Now().After(t.expires) {
		challenge(w, r, `error="invalid_token", error_description="The token is not valid or has expired."`)
		oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return false
	}
	need := "okta.groups.read"
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/v1/apps"):
		need = "okta.apps.read"
	case strings.HasPrefix(r.URL.Path, "/api/v1/users"):
		need = "okta.users.read"
	}
	if !slices.Contains(t.scopes, need) {
		challenge(w, r, fmt.Sprintf(`scope=%q, error="insufficient_scope", error_description="The access token provided does not contain the required scopes."`, need))
		oktaError(w, http.StatusForbidden, "E0000006", "You do not have permission to perform the requested action")
		return false
	}
	return true
}

// challenge sets Okta's WWW-Authenticate: Bearer header.
func challenge(w http.ResponseWriter, r *http.Request, params string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s/oauth2/v1/authorize", realm="%s", %s, resource="%s"`,
		"http://"+r.Host, "http://"+r.Host, params, r.URL.Path))
}

// oauthError writes an error the way Okta's authorization servers do.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeOAuthJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeOAuthJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
