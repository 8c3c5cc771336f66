package entra

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"

	abs "github.com/microsoft/kiota-abstractions-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// object is a directory object of a page, as much of it as the connector
// reads: what tells users from groups, what a group needs, and the user
// properties a mapping may name (userProps). A null or absent property reads
// as "", an absent accountEnabled as false. Directory extensions mapped by
// the configuration are in ext.
type object struct {
	Type                        string `json:"@odata.type"`
	ID                          string `json:"id"`
	AccountEnabled              bool   `json:"accountEnabled"`
	UserPrincipalName           string `json:"userPrincipalName"`
	Mail                        string `json:"mail"`
	DisplayName                 string `json:"displayName"`
	GivenName                   string `json:"givenName"`
	Surname                     string `json:"surname"`
	EmployeeID                  string `json:"employeeId"`
	EmployeeType                string `json:"employeeType"`
	MailNickname                string `json:"mailNickname"`
	JobTitle                    string `json:"jobTitle"`
	Department                  string `json:"department"`
	CompanyName                 string `json:"companyName"`
	UserType                    string `json:"userType"`
	OnPremisesSamAccountName    string `json:"onPremisesSamAccountName"`
	OnPremisesImmutableID       string `json:"onPremisesImmutableId"`
	OnPremisesUserPrincipalName string `json:"onPremisesUserPrincipalName"`

	ext map[string]string
}

// The @odata.type of the members read.
const (
	odataUser  = "#microsoft.graph.user"
	odataGroup = "#microsoft.graph.group"
)

// links are a page's links: the next page of this read, or, on a delta
// query's last page, where the next delta query starts.
type links struct {
	NextLink  *string `json:"@odata.nextLink"`
	DeltaLink *string `json:"@odata.deltaLink"`
}

// page is one page of a Graph collection.
type page struct {
	Value []object `json:"value"`
	links
}

// pages reads a collection page by page and hands each page's objects to
// each. ext are the directory extensions to read too. It returns the last
// page's deltaLink, if any.
func (g *graph) pages(ctx context.Context, req *abs.RequestInformation, ext []string, each func([]object) error) (string, error) {
	return g.walk(ctx, req, func(body []byte) (links, error) {
		p, err := decodePage(body, ext)
		if err != nil {
			return links{}, err
		}
		return p.links, each(p.Value)
	})
}

// walk sends req and follows each page's @odata.nextLink to the end,
// handing each body to each, which returns the page's links. It returns the
// last page's @odata.deltaLink, if any. Every request goes through the SDK's
// adapter (base URL, auth, the middleware chain and its retries, error
// mapping) as with the SDK's page iterator, but the body comes back raw and
// is decoded with encoding/json: the SDK's models build a map of
// deserializers per object, which dominates a large read.
func (g *graph) walk(ctx context.Context, req *abs.RequestInformation, each func(body []byte) (links, error)) (string, error) {
	// As the request builders' Get, then as msgraphcore.PageIterator.
	mapping := abs.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}
	next, _ := msgraphcore.GetErrorFactoryFromRegistry(msgraphcore.PageIteratorErrorRegistryKey)
	for {
		res, err := g.adapter.SendPrimitive(ctx, req, "[]byte", mapping)
		if err != nil {
			return "", err
		}
		body, _ := res.([]byte)
		if body == nil {
			return "", errors.New("response cannot be nil")
		}
		l, err := each(body)
		if err != nil {
			return "", err
		}
		if l.NextLink == nil || *l.NextLink == "" {
			return deref(l.DeltaLink), nil
		}
		if req, err = getURL(*l.NextLink); err != nil {
			return "", errors.New("parsing nextLink url failed")
		}
		mapping = next
	}
}

// getURL is a GET of an absolute URL (a nextLink or deltaLink), verbatim.
func getURL(link string) (*abs.RequestInformation, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, err
	}
	req := abs.NewRequestInformation()
	req.Method = abs.GET
	req.SetUri(*u)
	return req, nil
}

// decodePage decodes a page, with the directory extensions ext of each
// object.
func decodePage(body []byte, ext []string) (*page, error) {
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("decoding a page: %w", err)
	}
	if len(ext) == 0 || len(p.Value) == 0 {
		return &p, nil
	}
	var raw struct {
		Value []map[string]json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || len(raw.Value) != len(p.Value) {
		return nil, fmt.Errorf("decoding a page: %w", cmp.Or(err, errors.New("value changed length")))
	}
	for i, r := range raw.Value {
		o := &p.Value[i]
		for _, k := range ext {
			v, ok := r[k]
			if !ok {
				continue
			}
			s, err := extValue(v)
			if err != nil {
				return nil, fmt.Errorf("decoding a page: %s: %w", k, err)
			}
			if o.ext == nil {
				o.ext = map[string]string{}
			}
			o.ext[k] = s
		}
	}
	return &p, nil
}

// extValue renders a directory extension's value: a string as itself, null
// as "", anything else as fmt.Sprint prints its JSON value.
func extValue(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	switch {
	case bytes.Equal(v, []byte("null")):
		return "", nil
	case len(v) > 0 && v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	}
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil {
		return "", err
	}
	return fmt.Sprint(x), nil
}
