package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	absauth "github.com/microsoft/kiota-abstractions-go/authentication"
	kazure "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	kjson "github.com/microsoft/kiota-serialization-json-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// graph is what the connector keeps of the Graph SDK: an adapter and the
// two request builders it reads through. It imports only the users and
// groups sub-packages, not the whole GraphServiceClient (see DEPENDENCIES.md).
type graph struct {
	adapter *msgraphcore.GraphRequestAdapterBase
	users   *users.UsersRequestBuilder
	groups  *groups.GroupsRequestBuilder
}

// newGraph builds the Graph client: the credential (or a static token), and
// an HTTP client whose Kiota middleware chain ends in rt instead of Kiota's
// own retry handler.
func newGraph(c Config, o options, base http.RoundTripper, rt http.RoundTripper) (*graph, error) {
	gu, err := url.Parse(strings.TrimRight(c.GraphURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("graph_url: %w", err)
	}
	var tokens absauth.AccessTokenProvider
	if o.token != "" {
		hosts := append([]string{gu.Hostname()}, o.allowedHosts...)
		v, err := absauth.NewAllowedHostsValidatorErrorCheck(hosts)
		if err != nil {
			return nil, fmt.Errorf("allowed hosts: %w", err)
		}
		tokens = staticToken{token: o.token, hosts: v}
	} else {
		cred, err := credential(c, o, base)
		if err != nil {
			return nil, err
		}
		scope := gu.Scheme + "://" + gu.Host + "/.default"
		tokens, err = kazure.NewAzureIdentityAccessTokenProviderWithScopesAndValidHosts(cred, []string{scope}, []string{gu.Hostname()})
		if err != nil {
			return nil, fmt.Errorf("graph_url: %w", err)
		}
	}
	auth := absauth.NewBaseBearerTokenAuthenticationProvider(tokens)

	opts := msgraphcore.GraphClientOptions{GraphServiceVersion: "v1.0", GraphServiceLibraryVersion: "idpsync"}
	client := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(rt,
			msgraphcore.NewGraphTelemetryHandler(&opts),
			khttp.NewRedirectHandler(),
			khttp.NewParametersNameDecodingHandler(),
			khttp.NewUserAgentHandler(),
		),
		// Redirects are the redirect handler's business, as in Kiota's client.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// Explicit factories rather than the SDK's global registry: opening a
	// connector sets no package state.
	adapter, err := msgraphcore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, opts, kjson.NewJsonParseNodeFactory(), kjson.NewJsonSerializationWriterFactory(), client)
	if err != nil {
		return nil, err
	}
	baseURL := gu.String()
	adapter.SetBaseUrl(baseURL)
	params := func() map[string]string { return map[string]string{"baseurl": baseURL} }
	return &graph{
		adapter: adapter,
		users:   users.NewUsersRequestBuilderInternal(params(), adapter),
		groups:  groups.NewGroupsRequestBuilderInternal(params(), adapter),
	}, nil
}

// credential signs in with a client secret or a certificate, through base
// (which trusts ca_file).
//
// Sign-in requests get the same bounds as Graph's: timeout per attempt,
// max_retries, the backoff and max_retry_wait (azcore's defaults would let a
// login endpoint that never answers hold a run forever, and would wait
// 800ms·2ⁿ between retries of, say, an untrusted certificate).
//
// Instance discovery is off: MSAL sends it to login.microsoftonline.com for
// any authority host not on its built-in list, so a private cloud, a proxy
// or a fake as authority_host failed with "unable to resolve an endpoint".
// The authority host is the operator's own configuration; for the hosts on
// MSAL's list, discovery never ran anyway.
func credential(c Config, o options, base http.RoundTripper) (azcore.TokenCredential, error) {
	timeout, _ := time.ParseDuration(c.Timeout)
	maxWait, _ := time.ParseDuration(c.MaxRetryWait)
	co := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: c.AuthorityHost},
		Transport: &http.Client{Transport: base},
		Retry: policy.RetryOptions{
			MaxRetries:    int32(c.MaxRetries), // ≥ 1 after withDefaults: 0 would mean azcore's 3
			TryTimeout:    timeout,
			RetryDelay:    o.backoff,
			MaxRetryDelay: maxWait,
		},
	}
	if c.CertificateFile != "" {
		pem, err := os.ReadFile(c.CertificateFile)
		if err != nil {
			return nil, fmt.Errorf("certificate_file: %w", err)
		}
		certs, key, err := azidentity.ParseCertificates(pem, nil)
		if err != nil {
			return nil, fmt.Errorf("certificate_file: %w", err)
		}
		cred, err := azidentity.NewClientCertificateCredential(c.TenantID, c.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
		if err != nil {
			return nil, fmt.Errorf("certificate_file: %w", err)
		}
		return cred, nil
	}
	var secret, key string
	if c.ClientSecretFile != "" {
		key = "client_secret_file"
		b, err := os.ReadFile(c.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		secret = strings.TrimSpace(string(b))
	} else {
		key = "client_secret_env"
		secret = strings.TrimSpace(os.Getenv(c.ClientSecretEnv))
	}
	if secret == "" {
		return nil, fmt.Errorf("%s: the secret is empty", key)
	}
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return cred, nil
}

// staticToken is an AccessTokenProvider with a fixed token, for tests and
// fakes. Like the real one, it hands the token only to allowed hosts.
type staticToken struct {
	token string
	hosts *absauth.AllowedHostsValidator
}

func (s staticToken) GetAuthorizationToken(_ context.Context, u *url.URL, _ map[string]any) (string, error) {
	if !s.hosts.IsUrlHostValid(u) {
		return "", nil
	}
	return s.token, nil
}

func (s staticToken) GetAllowedHostsValidator() *absauth.AllowedHostsValidator { return s.hosts }

// statusOf returns the HTTP status of a Graph error, or 0.
func statusOf(err error) int {
	var se interface{ GetStatusCode() int }
	if errors.As(err, &se) {
		return se.GetStatusCode()
	}
	return 0
}
