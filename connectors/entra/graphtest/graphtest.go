// Package graphtest is a fake Microsoft Graph serving a reconcile.Directory:
// users, groups (with $filter on displayName), a group's members and
// transitiveMembers, in pages shaped like Graph's (@odata.context, value,
// @odata.nextLink as an absolute URL on the fake's own host, @odata.type on
// every object), with knobs for page size, throttling, transient and
// permanent errors, cut-off pages and latency, and a request counter.
//
// Delta queries (/users/delta(), /groups/delta()) serve the changes between
// the versions SetDirectory makes; see delta.go.
//
// A user's fields are served as Graph properties: UserName as
// userPrincipalName, Email as mail, DisplayName as displayName, GivenName as
// givenName, FamilyName as surname, ExternalID as employeeId, Active as
// accountEnabled. Empty values are left out, as Graph sends null. $select is
// honoured.
package graphtest

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Options are the fake's knobs. The zero value serves every request, at
// Graph's page size.
type Options struct {
	// PageSize caps a page (default 999); a smaller $top wins.
	PageSize int
	// Token, if set, is the only bearer token accepted; otherwise any
	// non-empty one is.
	Token string
	// ThrottleEvery > 0 answers every ThrottleEvery-th request 429 with
	// Retry-After: RetryAfter seconds.
	ThrottleEvery int
	RetryAfter    int
	// TransientEvery > 0 answers every TransientEvery-th request
	// TransientStatus (default 502).
	TransientEvery  int
	TransientStatus int
	// FailPath: requests whose path contains it get 500, always.
	FailPath string
	// CutOffEvery > 0 cuts the body of every CutOffEvery-th request off
	// midway; requests whose path contains CutOffPath are always cut off.
	CutOffEvery int
	CutOffPath  string
	// Latency is added to every response.
	Latency time.Duration
}

// Server is a running fake Graph. Its URL is Graph's base URL: the server's
// address and "/v1.0".
type Server struct {
	srv      *httptest.Server
	URL      string
	mu       sync.Mutex
	opts     Options
	idx      *index
	history  []*index // every version served, for delta queries; idx is the last
	expired  int      // delta tokens of versions below it get 410
	requests atomic.Int64
}

// New starts a fake serving d (copied: later changes to d are not seen until
// SetDirectory) over plain http, which Graph clients allow on loopback. Close
// it when done.
func New(d *reconcile.Directory, o Options) *Server {
	s := newServer(d, o)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/v1.0"
	return s
}

// NewTLS is New over https, with httptest's certificate, which no system
// trusts: see Certificate.
func NewTLS(d *reconcile.Directory, o Options) *Server {
	s := newServer(d, o)
	s.srv = startTLS(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/v1.0"
	return s
}

func newServer(d *reconcile.Directory, o Options) *Server {
	s := &Server{opts: o, idx: newIndex(d)}
	s.history = []*index{s.idx}
	return s
}

// startTLS starts an https server that does not log the handshakes clients
// refuse (tests of untrusted certificates make them on purpose).
func startTLS(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}

// Certificate is the TLS certificate the server presents, nil when it
// serves plain http.
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// SetDirectory replaces the directory served: a new version for delta
// queries.
func (s *Server) SetDirectory(d *reconcile.Directory) {
	idx := newIndex(d)
	s.mu.Lock()
	s.idx = idx
	s.history = append(s.history, idx)
	s.mu.Unlock()
}

// SetOptions replaces the knobs.
func (s *Server) SetOptions(o Options) {
	s.mu.Lock()
	s.opts = o
	s.mu.Unlock()
}

// Requests is the number of requests served so far, errors included.
func (s *Server) Requests() int64 { return s.requests.Load() }

// ResetRequests sets the counter back to zero.
func (s *Server) ResetRequests() { s.requests.Store(0) }

type index struct {
	users  map[string]*reconcile.User
	groups map[string]*reconcile.Group
	uorder []string
	gorder []string
}

func newIndex(d *reconcile.Directory) *index {
	x := &index{users: map[string]*reconcile.User{}, groups: map[string]*reconcile.Group{}}
	if d == nil {
		return x
	}
	for _, u := range d.Users {
		u := u
		x.users[u.ID] = &u
		x.uorder = append(x.uorder, u.ID)
	}
	for _, g := range d.Groups {
		g := g
		g.Members = append([]string(nil), g.Members...)
		x.groups[g.ID] = &g
		x.gorder = append(x.gorder, g.ID)
	}
	return x
}

var groupPath = regexp.MustCompile(`^/v1\.0/groups/([^/]+)(/members|/transitiveMembers)?$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	s.mu.Lock()
	o, idx := s.opts, s.idx
	s.mu.Unlock()
	if o.Latency > 0 {
		select {
		case <-time.After(o.Latency):
		case <-r.Context().Done():
			return
		}
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || auth == "Bearer " || (o.Token != "" && auth != "Bearer "+o.Token) {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		return
	}
	switch {
	case o.ThrottleEvery > 0 && n%int64(o.ThrottleEvery) == 0:
		w.Header().Set("Retry-After", strconv.Itoa(o.RetryAfter))
		graphError(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
		return
	case o.TransientEvery > 0 && n%int64(o.TransientEvery) == 0:
		graphError(w, cmpOr(o.TransientStatus, http.StatusBadGateway), "UnknownError", "Transient failure.")
		return
	case o.FailPath != "" && strings.Contains(r.URL.Path, o.FailPath):
		graphError(w, http.StatusInternalServerError, "UnknownError", "Permanent failure.")
		return
	}
	cut := (o.CutOffEvery > 0 && n%int64(o.CutOffEvery) == 0) || (o.CutOffPath != "" && strings.Contains(r.URL.Path, o.CutOffPath))

	q := r.URL.Query()
	p := page{o: o, r: r, q: q, sel: selection(q.Get("$select"))}
	switch path := r.URL.Path; {
	case isDelta(path, "users"):
		s.serveDelta(w, r, "users", p, cut)
	case isDelta(path, "groups"):
		s.serveDelta(w, r, "groups", p, cut)
	case path == "/v1.0/users":
		ids, err := idFilter(q.Get("$filter"))
		if err != nil {
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
			return
		}
		if ids == nil {
			ids = idx.uorder
		}
		objs := make([]any, 0, len(ids))
		for _, id := range ids {
			if u := idx.users[id]; u != nil {
				objs = append(objs, u)
			}
		}
		p.write(w, "users", objs, cut)
	case path == "/v1.0/groups":
		match, err := groupFilter(q.Get("$filter"))
		if err != nil {
			graphError(w, http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
			return
		}
		var objs []any
		for _, id := range idx.gorder {
			if g := idx.groups[id]; match(g.DisplayName) {
				objs = append(objs, g)
			}
		}
		p.write(w, "groups", objs, cut)
	default:
		m := groupPath.FindStringSubmatch(path)
		if m == nil {
			graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "No such resource: "+path)
			return
		}
		g := idx.groups[m[1]]
		if g == nil {
			graphError(w, http.StatusNotFound, "Request_ResourceNotFound",
				fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", m[1]))
			return
		}
		switch m[2] {
		case "":
			b, _ := json.Marshal(p.object(g))
			writeBody(w, http.StatusOK, b, cut)
		case "/members":
			p.write(w, "directoryObjects", idx.objects(g.Members), cut)
		default:
			p.write(w, "directoryObjects", idx.objects(idx.transitive(g)), cut)
		}
	}
}

// objects turns member ids into users and groups, skipping unknown ids.
func (x *index) objects(ids []string) []any {
	objs := make([]any, 0, len(ids))
	for _, id := range ids {
		if u := x.users[id]; u != nil {
			objs = append(objs, u)
		} else if g := x.groups[id]; g != nil {
			objs = append(objs, g)
		}
	}
	return objs
}

// transitive lists the members of g at any depth, each once.
func (x *index) transitive(g *reconcile.Group) []string {
	seen := map[string]bool{g.ID: true}
	var out []string
	queue := []*reconcile.Group{g}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, m := range cur.Members {
			if seen[m] {
				continue
			}
			seen[m] = true
			out = append(out, m)
			if ng := x.groups[m]; ng != nil {
				queue = append(queue, ng)
			}
		}
	}
	return out
}

// idFilter understands "id in ('a','b')", as Graph takes up to 15 values;
// "" is no filter (nil).
func idFilter(f string) ([]string, error) {
	if f == "" {
		return nil, nil
	}
	m := inFilter.FindStringSubmatch(f)
	if m == nil {
		return nil, fmt.Errorf("unsupported $filter %q", f)
	}
	ids := []string{}
	for _, v := range strings.Split(m[1], ",") {
		v = strings.TrimSpace(v)
		if len(v) < 2 || v[0] != '\'' || v[len(v)-1] != '\'' {
			return nil, fmt.Errorf("malformed value %s in $filter", v)
		}
		ids = append(ids, v[1:len(v)-1])
	}
	if len(ids) > 15 {
		return nil, fmt.Errorf("too many values (%d) in the in operator; at most 15", len(ids))
	}
	return ids, nil
}

var (
	inFilter    = regexp.MustCompile(`^id in \((.*)\)$`)
	eqFilter    = regexp.MustCompile(`^displayName eq '((?:[^']|'')*)'$`)
	startFilter = regexp.MustCompile(`^startswith\(displayName,\s*'((?:[^']|'')*)'\)$`)
)

// groupFilter understands the filters the connector sends.
func groupFilter(f string) (func(string) bool, error) {
	unq := func(s string) string { return strings.ReplaceAll(s, "''", "'") }
	switch {
	case f == "":
		return func(string) bool { return true }, nil
	case eqFilter.MatchString(f):
		v := unq(eqFilter.FindStringSubmatch(f)[1])
		return func(n string) bool { return strings.EqualFold(n, v) }, nil
	case startFilter.MatchString(f):
		v := unq(startFilter.FindStringSubmatch(f)[1])
		return func(n string) bool { return len(n) >= len(v) && strings.EqualFold(n[:len(v)], v) }, nil
	}
	return nil, fmt.Errorf("unsupported $filter %q", f)
}

func selection(s string) map[string]bool {
	if s == "" {
		return nil
	}
	m := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		m[strings.TrimSpace(p)] = true
	}
	return m
}

type page struct {
	o   Options
	r   *http.Request
	q   url.Values
	sel map[string]bool // nil: everything
}

type userJSON struct {
	Type           string  `json:"@odata.type"`
	ID             string  `json:"id"`
	UPN            *string `json:"userPrincipalName,omitempty"`
	Mail           *string `json:"mail,omitempty"`
	DisplayName    *string `json:"displayName,omitempty"`
	GivenName      *string `json:"givenName,omitempty"`
	Surname        *string `json:"surname,omitempty"`
	EmployeeID     *string `json:"employeeId,omitempty"`
	AccountEnabled *bool   `json:"accountEnabled,omitempty"`
}

type groupJSON struct {
	Type        string  `json:"@odata.type"`
	ID          string  `json:"id"`
	DisplayName *string `json:"displayName,omitempty"`
}

func (p page) str(prop, v string) *string {
	if v == "" || (p.sel != nil && !p.sel[prop]) {
		return nil
	}
	return &v
}

func (p page) object(o any) any {
	switch v := o.(type) {
	case *reconcile.User:
		j := userJSON{Type: "#microsoft.graph.user", ID: v.ID,
			UPN: p.str("userPrincipalName", v.UserName), Mail: p.str("mail", v.Email),
			DisplayName: p.str("displayName", v.DisplayName), GivenName: p.str("givenName", v.GivenName),
			Surname: p.str("surname", v.FamilyName), EmployeeID: p.str("employeeId", v.ExternalID)}
		if p.sel == nil || p.sel["accountEnabled"] {
			j.AccountEnabled = &v.Active
		}
		return j
	case *reconcile.Group:
		return groupJSON{Type: "#microsoft.graph.group", ID: v.ID, DisplayName: p.str("displayName", v.DisplayName)}
	}
	panic(fmt.Sprintf("graphtest: cannot render %T", o))
}

// base is the fake's Graph base URL as the client reached it, for the
// absolute links Graph sends.
func (p page) base() string {
	scheme := "http"
	if p.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + p.r.Host + "/v1.0/"
}

// write serves one page of objs, from $skiptoken, with a nextLink when more
// follow.
func (p page) write(w http.ResponseWriter, entity string, objs []any, cut bool) {
	size := p.o.PageSize
	if size <= 0 {
		size = 999
	}
	if t, err := strconv.Atoi(p.q.Get("$top")); err == nil && t > 0 && t < size {
		size = t
	}
	from, _ := strconv.Atoi(p.q.Get("$skiptoken"))
	from = max(0, min(from, len(objs)))
	to := min(from+size, len(objs))

	var b bytes.Buffer
	base := p.base()
	fmt.Fprintf(&b, `{"@odata.context":%q,"value":[`, base+"$metadata#"+entity)
	for i, o := range objs[from:to] {
		if i > 0 {
			b.WriteByte(',')
		}
		j, _ := json.Marshal(p.object(o))
		b.Write(j)
	}
	b.WriteByte(']')
	if to < len(objs) {
		q := url.Values{}
		for k, v := range p.q {
			q[k] = v
		}
		q.Set("$skiptoken", strconv.Itoa(to))
		next, _ := json.Marshal(base + strings.TrimPrefix(p.r.URL.Path, "/v1.0/") + "?" + q.Encode())
		b.WriteString(`,"@odata.nextLink":`)
		b.Write(next)
	}
	b.WriteByte('}')
	writeBody(w, http.StatusOK, b.Bytes(), cut)
}

// writeBody writes b; cut off, it announces all of b but sends half, and the
// client sees the connection end early.
func writeBody(w http.ResponseWriter, status int, b []byte, cut bool) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if cut {
		w.Write(b[:len(b)/2])
		return
	}
	w.Write(b)
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"date": time.Now().UTC().Format(time.RFC3339), "request-id": "00000000-0000-0000-0000-000000000000"}}})
	writeBody(w, status, b, false)
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
