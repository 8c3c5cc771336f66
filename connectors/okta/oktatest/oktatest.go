// Package oktatest is a fake Okta org for tests: an httptest server that
// serves a reconcile.Directory through the endpoints the Okta connector reads,
// with JSON, paging (limit/after, one Link header line per rel) and
// rate-limit headers shaped like Okta's, and knobs for page size, throttling,
// errors, cut-off pages and latency.
//
// Okta groups do not nest: a group nested in another in the directory is
// flattened, its users served as direct members of every group it is nested
// in (Flatten).
//
// The API takes the API token Token (SSWS), or, with Options.OAuth, only
// access tokens from the fake's org authorization server (oauth.go).
package oktatest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Token is the API token the fake accepts (as "SSWS Token").
const Token = "00fake-okta-token"

// Fault is what the fake does to one request instead of answering it well.
type Fault int

// Faults.
const (
	None         Fault = iota
	TooMany            // 429 with rate-limit headers
	Unavailable        // 503
	ServerError        // 500
	CutOff             // 200 whose JSON body stops half-way
	NotFoundPage       // 404
)

// Options shape a fake org. The zero value serves everything, 200 to a page.
type Options struct {
	// MaxPageSize caps the limit a client may ask for (default 200). A
	// request without a limit gets this many.
	MaxPageSize int
	// RateLimit is the budget of one window (X-Rate-Limit-Limit, default
	// 600) and Window its length (default a minute; whole seconds).
	RateLimit int
	Window    time.Duration
	// Enforce answers 429 once a window's budget is spent.
	Enforce bool
	// TooManyEvery > 0 answers every TooManyEvery-th request with 429.
	TooManyEvery int
	// Fault, if set, decides the fate of request n (1-based, counting every
	// request the fake receives).
	Fault func(n int64, r *http.Request) Fault
	// Latency delays every answer.
	Latency time.Duration
	// AppID names the app whose assignments /api/v1/apps/{AppID}/… serve.
	AppID string
	// AppUsers are the ids of users assigned to the app directly; AllUsers
	// assigns every user. AppGroups are the ids of groups assigned to it
	// (their members are assigned through them, as in Okta).
	AppUsers  []string
	AllUsers  bool
	AppGroups []string
	// Status gives a user's Okta status; by default ACTIVE, or SUSPENDED
	// for an inactive user.
	Status func(u reconcile.User) string
	// EmptyLastPage sends a next link after a list's last page when that
	// page is full, leading to an empty page, as Okta sometimes does.
	EmptyLastPage bool
	// Static renders the directory once instead of on every request (big
	// directories that do not change).
	Static bool
	// OAuth, if set, makes the API take access tokens from the org
	// authorization server instead of the API token: see OAuth.
	OAuth *OAuth
}

// Server is a fake Okta org.
type Server struct {
	*httptest.Server
	opts Options
	dir  *reconcile.Directory

	mu      sync.Mutex
	idx     *index
	windows map[int64]int // requests per window, by window start (Unix seconds)

	requests atomic.Int64

	// OAuth mode (oauth.go); tokens, jtis and assertions under mu.
	tokens        map[string]accessToken
	jtis          map[string]bool
	assertions    []Assertion
	tokenRequests atomic.Int64
	tokensIssued  atomic.Int64
	sswsRequests  atomic.Int64
}

// New starts a fake org serving d (read again at every request unless
// o.Static) and stops it when t ends.
func New(t testing.TB, d *reconcile.Directory, o Options) *Server {
	t.Helper()
	if o.MaxPageSize <= 0 {
		o.MaxPageSize = 200
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 600
	}
	if o.Window < time.Second {
		o.Window = time.Minute
	}
	if o.Status == nil {
		o.Status = func(u reconcile.User) string {
			if u.Active {
				return "ACTIVE"
			}
			return "SUSPENDED"
		}
	}
	s := &Server{opts: o, dir: d, windows: make(map[int64]int), tokens: make(map[string]accessToken), jtis: make(map[string]bool)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Requests is the number of requests received, token requests included.
func (s *Server) Requests() int64 { return s.requests.Load() }

// WindowCounts returns the number of requests received in each rate-limit
// window, oldest first.
func (s *Server) WindowCounts() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]int64, 0, len(s.windows))
	for k := range s.windows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]int, len(keys))
	for i, k := range keys {
		out[i] = s.windows[k]
	}
	return out
}

// index is the directory as Okta would hold it.
type index struct {
	users   []reconcile.User // by id
	userIDs map[string]int
	groups  []reconcile.Group // by id; Members: user ids only, flattened
	byID    map[string]int
}

func (s *Server) index() *index {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx != nil && s.opts.Static {
		return s.idx
	}
	f := Flatten(s.dir)
	x := &index{users: f.Users, groups: f.Groups, userIDs: make(map[string]int), byID: make(map[string]int)}
	slices.SortFunc(x.users, func(a, b reconcile.User) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(x.groups, func(a, b reconcile.Group) int { return cmp.Compare(a.ID, b.ID) })
	for i, u := range x.users {
		x.userIDs[u.ID] = i
	}
	for i, g := range x.groups {
		x.byID[g.ID] = i
	}
	s.idx = x
	return x
}

// Flatten returns a copy of d without nesting, as Okta would hold it: each
// group's members are the users in it directly or through groups nested in
// it at any depth, each once, in id order.
func Flatten(d *reconcile.Directory) *reconcile.Directory {
	out := &reconcile.Directory{Users: slices.Clone(d.Users), Groups: make([]reconcile.Group, len(d.Groups))}
	users := make(map[string]bool, len(d.Users))
	for _, u := range d.Users {
		users[u.ID] = true
	}
	byID := make(map[string]*reconcile.Group, len(d.Groups))
	for i := range d.Groups {
		byID[d.Groups[i].ID] = &d.Groups[i]
	}
	for i, g := range d.Groups {
		seen := map[string]bool{g.ID: true}
		var members []string
		var walk func(g *reconcile.Group)
		walk = func(g *reconcile.Group) {
			for _, m := range g.Members {
				if seen[m] {
					continue
				}
				seen[m] = true
				if users[m] {
					members = append(members, m)
				} else if sub := byID[m]; sub != nil {
					walk(sub)
				}
			}
		}
		walk(&d.Groups[i])
		slices.Sort(members)
		out.Groups[i] = reconcile.Group{ID: g.ID, DisplayName: g.DisplayName, Members: members}
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	if r.URL.Path == "/oauth2/v1/token" {
		s.tokenRequests.Add(1)
	}
	if s.opts.Latency > 0 {
		// Read the body first: only then does the server notice a client
		// that gives up (r.Context() ends).
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-time.After(s.opts.Latency):
		case <-r.Context().Done():
			return
		}
	}
	// Rate-limit window bookkeeping.
	now := time.Now()
	win := int64(s.opts.Window / time.Second)
	start := now.Unix() / win * win
	s.mu.Lock()
	s.windows[start]++
	used := s.windows[start]
	s.mu.Unlock()
	h := w.Header()
	h.Set("X-Rate-Limit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(max(s.opts.RateLimit-used, 0)))
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(start+win, 10))
	h.Set("X-Okta-Request-Id", "req-"+strconv.FormatInt(n, 10))
	h.Set("Date", now.UTC().Format(http.TimeFormat))

	fault := None
	switch {
	case s.opts.Enforce && used > s.opts.RateLimit:
		fault = TooMany
	case s.opts.TooManyEvery > 0 && n%int64(s.opts.TooManyEvery) == 0:
		fault = TooMany
	case s.opts.Fault != nil:
		fault = s.opts.Fault(n, r)
	}
	switch fault {
	case TooMany:
		oktaError(w, http.StatusTooManyRequests, "E0000047", "API call exceeded rate limit due to too many requests.")
		return
	case Unavailable:
		oktaError(w, http.StatusServiceUnavailable, "E0000010", "Service is in read only mode")
		return
	case ServerError:
		oktaError(w, http.StatusInternalServerError, "E0000009", "Internal Server Error")
		return
	case NotFoundPage:
		oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.URL.Path)
		return
	}
	if r.URL.Path == "/oauth2/v1/token" {
		s.oauthToken(w, r)
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if r.Method != http.MethodGet {
		oktaError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}

	x := s.index()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	var (
		items []any
		after string
		ok    = true
	)
	q := r.URL.Query()
	limit := s.opts.MaxPageSize
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 {
		limit = min(l, s.opts.MaxPageSize)
	}
	switch {
	case len(parts) == 3 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "users":
		items, after = page(x.users, q.Get("after"), limit, s.opts.EmptyLastPage, func(u reconcile.User) string { return u.ID },
			func(u reconcile.User) any { return s.user(u) })
	case len(parts) == 3 && parts[2] == "groups":
		prefix := strings.ToLower(q.Get("q"))
		gs := slices.DeleteFunc(slices.Clone(x.groups), func(g reconcile.Group) bool {
			return !strings.HasPrefix(strings.ToLower(g.DisplayName), prefix)
		})
		items, after = page(gs, q.Get("after"), limit, s.opts.EmptyLastPage, func(g reconcile.Group) string { return g.ID }, group)
	case len(parts) == 5 && parts[2] == "groups" && parts[4] == "users":
		i, found := x.byID[parts[3]]
		if !found {
			ok = false
			break
		}
		items, after = page(x.groups[i].Members, q.Get("after"), limit, s.opts.EmptyLastPage, func(id string) string { return id },
			func(id string) any { return s.user(x.users[x.userIDs[id]]) })
	case len(parts) == 5 && parts[2] == "apps" && parts[3] == s.opts.AppID && parts[4] == "users":
		expand := q.Get("expand") == "user"
		items, after = page(s.appUsers(x), q.Get("after"), limit, s.opts.EmptyLastPage, func(a appUser) string { return a.u.ID },
			func(a appUser) any {
				au := map[string]any{
					"id": a.u.ID, "externalId": nil, "created": "2024-01-02T03:04:05.000Z",
					"lastUpdated": "2024-01-02T03:04:05.000Z", "scope": a.scope, "status": "ACTIVE",
					"statusChanged": "2024-01-02T03:04:05.000Z", "syncState": "DISABLED",
					"credentials": map[string]any{"userName": a.u.UserName},
					"profile":     map[string]any{},
					"_links":      map[string]any{"user": map[string]any{"href": s.URL + "/api/v1/users/" + a.u.ID}},
				}
				if expand {
					au["_embedded"] = map[string]any{"user": s.user(a.u)}
				}
				return au
			})
	case len(parts) == 5 && parts[2] == "apps" && parts[3] == s.opts.AppID && parts[4] == "groups":
		var gs []reconcile.Group
		for _, id := range s.opts.AppGroups {
			if i, found := x.byID[id]; found {
				gs = append(gs, x.groups[i])
			}
		}
		slices.SortFunc(gs, func(a, b reconcile.Group) int { return cmp.Compare(a.ID, b.ID) })
		expand := q.Get("expand") == "group"
		items, after = page(gs, q.Get("after"), limit, s.opts.EmptyLastPage, func(g reconcile.Group) string { return g.ID },
			func(g reconcile.Group) any {
				a := map[string]any{"id": g.ID, "lastUpdated": "2024-01-02T03:04:05.000Z", "priority": 0,
					"_links": map[string]any{"group": map[string]any{"href": s.URL + "/api/v1/groups/" + g.ID}}}
				if expand {
					a["_embedded"] = map[string]any{"group": group(g)}
				}
				return a
			})
	default:
		ok = false
	}
	if !ok {
		oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+r.URL.Path)
		return
	}

	self := s.URL + r.URL.RequestURI()
	h.Add("Link", "<"+self+`>; rel="self"`)
	if after != "" {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("after", after)
		nq.Set("limit", strconv.Itoa(limit))
		h.Add("Link", "<"+s.URL+r.URL.Path+"?"+nq.Encode()+`>; rel="next"`)
	}
	body, err := json.Marshal(items)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if items == nil {
		body = []byte("[]")
	}
	h.Set("Content-Type", "application/json")
	if fault == CutOff {
		body = body[:len(body)/2]
	}
	_, _ = w.Write(body)
}

// page returns the items after the one whose key is after (all from the
// start when after is ""), at most limit of them, rendered, and the key to
// ask for the next page with ("" on the last page).
func page[T any](all []T, after string, limit int, emptyLast bool, key func(T) string, render func(T) any) ([]any, string) {
	i := 0
	if after != "" {
		i, _ = slices.BinarySearchFunc(all, after, func(t T, k string) int { return strings.Compare(key(t), k) })
		if i < len(all) && key(all[i]) == after {
			i++
		}
	}
	end := min(i+limit, len(all))
	out := make([]any, 0, end-i)
	for _, t := range all[i:end] {
		out = append(out, render(t))
	}
	if end < len(all) || (emptyLast && end > i && end-i == limit) {
		return out, key(all[end-1])
	}
	return out, ""
}

type appUser struct {
	u     reconcile.User
	scope string // USER or GROUP
}

// appUsers are the users assigned to the app, directly or through a group, in id order.
func (s *Server) appUsers(x *index) []appUser {
	scope := make(map[string]string)
	for _, gid := range s.opts.AppGroups {
		if i, ok := x.byID[gid]; ok {
			for _, m := range x.groups[i].Members {
				scope[m] = "GROUP"
			}
		}
	}
	for _, id := range s.opts.AppUsers {
		scope[id] = "USER"
	}
	if s.opts.AllUsers {
		for _, u := range x.users {
			scope[u.ID] = "USER"
		}
	}
	var out []appUser
	for _, u := range x.users {
		if sc, ok := scope[u.ID]; ok {
			out = append(out, appUser{u, sc})
		}
	}
	return out
}

// oktaUser is a user as Okta renders it; nil pointers are JSON nulls.
type oktaUser struct {
	ID              string      `json:"id"`
	Status          string      `json:"status"`
	Created         string      `json:"created"`
	Activated       *string     `json:"activated"`
	StatusChanged   string      `json:"statusChanged"`
	LastLogin       *string     `json:"lastLogin"`
	LastUpdated     string      `json:"lastUpdated"`
	PasswordChanged *string     `json:"passwordChanged"`
	Type            idRef       `json:"type"`
	Profile         userProfile `json:"profile"`
	Credentials     credentials `json:"credentials"`
	Links           links       `json:"_links"`
}

type userProfile struct {
	Login          string  `json:"login"`
	Email          *string `json:"email"`
	FirstName      *string `json:"firstName"`
	LastName       *string `json:"lastName"`
	DisplayName    *string `json:"displayName"`
	EmployeeNumber *string `json:"employeeNumber"`
	MobilePhone    *string `json:"mobilePhone"`
	SecondEmail    *string `json:"secondEmail"`
}

type idRef struct {
	ID string `json:"id"`
}

type credentials struct {
	Provider struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"provider"`
}

type links struct {
	Self struct {
		Href string `json:"href"`
	} `json:"self"`
}

// user renders a user as Okta does. The external id travels in
// profile.employeeNumber.
func (s *Server) user(u reconcile.User) any {
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	const ts = "2024-01-02T03:04:05.000Z"
	o := &oktaUser{
		ID: u.ID, Status: s.opts.Status(u), Created: ts, StatusChanged: ts, LastUpdated: ts,
		Type: idRef{"oty1fake"},
		Profile: userProfile{Login: u.UserName, Email: opt(u.Email), FirstName: opt(u.GivenName),
			LastName: opt(u.FamilyName), DisplayName: opt(u.DisplayName), EmployeeNumber: opt(u.ExternalID)},
	}
	o.Credentials.Provider.Type, o.Credentials.Provider.Name = "OKTA", "OKTA"
	o.Links.Self.Href = s.URL + "/api/v1/users/" + u.ID
	return o
}

// group renders a group as Okta does.
func group(g reconcile.Group) any {
	return map[string]any{
		"id":                    g.ID,
		"created":               "2024-01-02T03:04:05.000Z",
		"lastUpdated":           "2024-01-02T03:04:05.000Z",
		"lastMembershipUpdated": "2024-01-02T03:04:05.000Z",
		"objectClass":           []string{"okta:user_group"},
		"type":                  "OKTA_GROUP",
		"profile":               map[string]any{"name": g.DisplayName, "description": nil},
	}
}

// oktaError writes an error the way Okta does.
func oktaError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": fmt.Sprintf("oae%d", time.Now().UnixNano()), "errorCauses": []any{},
	})
}
