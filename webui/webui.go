// Package webui is idpsync's admin web UI: server-rendered pages to watch
// the sources, edit group → role mappings with an impact preview, look up
// users and why they hold their roles, approve held plans and read the
// change log.
//
// New returns an http.Handler serving paths relative to its mount point;
// the daemon mounts it with http.StripPrefix at Options.Prefix ("/ui").
// Templates and assets are embedded; there is no build step.
//
// Sessions live in memory only: they end when the process restarts, and
// each process has its own (run one idpsync per database anyway).
package webui

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// Queries are the store's reads the UI needs beyond reconcile.Store.
// *sqlite.Store implements it.
type Queries interface {
	// Tokens lists the push sources' bearer tokens, with their last use.
	Tokens(ctx context.Context, source string) ([]sqlite.Token, error)
	// ReportedGroups lists the groups the sources report, with member counts.
	ReportedGroups(ctx context.Context) ([]sqlite.ReportedGroup, error)
	// UserCounts counts app users by owner.
	UserCounts(ctx context.Context) ([]sqlite.SourceUsers, error)
	// ChangeLog pages through the change log, newest first.
	ChangeLog(ctx context.Context, q sqlite.ChangeQuery) ([]reconcile.ChangeRecord, error)
}

var _ Queries = (*sqlite.Store)(nil)

// Options configure the UI.
type Options struct {
	Engine  *reconcile.Engine
	Store   reconcile.Store
	Queries Queries
	// Control is the daemon's side. "Sync now" calls Control.Sync in a
	// goroutine of its own, with a context the request's end does not
	// cancel, and answers at once: the Control bounds the run (the daemon
	// runs it under the source's run lock, stops its fetch at shutdown and
	// lets an apply under way finish within its grace period).
	Control api.Control
	Log     *slog.Logger // scoped by the caller (e.g. With("component", "webui")); nil: discard

	// PasswordHash is the admin password's hash (config `[ui]
	// password_hash`): bcrypt ("$2b$…") or argon2id ("$argon2id$…", PHC
	// format); "" disables password sign-in.
	PasswordHash string
	// AdminToken looks up an API token by its SHA-256 hash (of the token
	// as typed, spaces trimmed) and reports its name and whether it is
	// valid with the admin scope; nil disables token sign-in. At least one
	// way must be set. A session started with a token checks it again at
	// most once a minute, and before every form it sends: the session ends
	// once the token is revoked or loses the admin scope.
	AdminToken func(ctx context.Context, hash []byte) (name string, ok bool, err error)
	// ConfigTokenActivity lists the SCIM tokens config.toml gives
	// (token_env, token_file), with their last use as the daemon saw it
	// (kept in memory only); nil: none are listed.
	ConfigTokenActivity func() []TokenActivity

	SessionTTL  time.Duration // how long a sign-in lasts, used or not (config `[ui] session_ttl`); default 12 hours
	SessionIdle time.Duration // a session unused this long ends sooner; default 30 minutes (at most SessionTTL)
	Secure      bool          // set the cookies' Secure attribute: served over TLS, here or at a proxy in front ([ui] secure_cookie)
	Prefix      string        // where the handler is mounted: links, redirects and the cookie path; default "/ui" ("/": the root)
	Now         func() time.Time
}

// TokenActivity is a SCIM token given in config.toml and its last use.
type TokenActivity struct {
	Source   string    // the SCIM source it writes as
	Key      string    // the config key it comes from: "token_env" or "token_file"
	LastUsed time.Time // zero: not used since the daemon started or last reloaded its configuration
}

// Actor names recorded with the plans the UI applies: the password, or
// an admin API token ("ui:api:" + its name).
const (
	actorPassword = "ui:password"
	actorTokenPfx = "ui:api:"
)

// recheckEvery is how often a token session's token is looked up again
// (and before every form sent).
const recheckEvery = time.Minute

// ui is the handler.
type ui struct {
	o        Options
	log      *slog.Logger
	pages    *pages
	sessions *sessions
	limiter  *limiter
	password passwordChecker // nil: no password sign-in
	checking chan struct{}   // bounds concurrent password checks (each costs CPU, argon2id memory too)
	mux      *http.ServeMux

	syncMu  sync.Mutex
	syncing map[string]bool // sources a "Sync now" of this UI is running
	bg      sync.WaitGroup  // those runs (tests wait for them)
}

// New checks the options and returns the UI's handler.
func New(o Options) (http.Handler, error) {
	var missing []string
	for _, opt := range []struct {
		name  string
		isNil bool
	}{{"Engine", o.Engine == nil}, {"Store", o.Store == nil}, {"Queries", o.Queries == nil}, {"Control", o.Control == nil}} {
		if opt.isNil {
			missing = append(missing, opt.name)
		}
	}
	if len(missing) > 0 {
		return nil, reconcile.Errorf(reconcile.EINVALID, "webui: missing %s", strings.Join(missing, ", "))
	}
	if o.PasswordHash == "" && o.AdminToken == nil {
		return nil, reconcile.Errorf(reconcile.EINVALID, "webui: no way to sign in: set a password hash ([ui] password_hash) or admin tokens")
	}
	var password passwordChecker
	if o.PasswordHash != "" {
		var err error
		if password, err = parsePasswordHash(o.PasswordHash); err != nil {
			return nil, reconcile.Errorf(reconcile.EINVALID, "webui: [ui] password_hash: %w", err)
		}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 30 * time.Minute
	}
	o.SessionIdle = min(o.SessionIdle, o.SessionTTL)
	if o.Prefix == "" {
		o.Prefix = "/ui"
	}
	o.Prefix = strings.TrimSuffix("/"+strings.Trim(o.Prefix, "/"), "/") // "/ui"; "" at the root
	pg, err := loadPages(o.Prefix, o.Now)
	if err != nil {
		return nil, err
	}
	u := &ui{
		o:        o,
		log:      o.Log,
		pages:    pg,
		sessions: newSessions(o.Now, o.SessionIdle, o.SessionTTL),
		limiter:  newLimiter(o.Now, 10, 10*time.Minute),
		password: password,
		checking: make(chan struct{}, 2),
		mux:      http.NewServeMux(),
		syncing:  map[string]bool{},
	}
	u.routes()
	return u, nil
}

func (u *ui) routes() {
	m := u.mux
	m.Handle("GET /assets/", http.StripPrefix("/assets", assetHandler()))
	m.HandleFunc("GET /signin", u.signinPage)
	m.HandleFunc("POST /signin", u.signin)
	m.HandleFunc("POST /signout", u.authed(u.signout))

	m.HandleFunc("GET /{$}", u.authed(u.overview))
	m.HandleFunc("POST /sources/{name}/sync", u.authed(u.syncNow))
	m.HandleFunc("POST /sources/{name}/enabled", u.authed(u.setEnabled))

	m.HandleFunc("GET /mappings", u.authed(u.mappings))
	m.HandleFunc("POST /mappings/preview", u.authed(u.previewMapping))
	m.HandleFunc("POST /mappings/apply", u.authed(u.applyMapping))

	m.HandleFunc("GET /users", u.authed(u.users))
	m.HandleFunc("GET /users/{id}", u.authed(u.user))

	m.HandleFunc("GET /plans", u.authed(u.plans))
	m.HandleFunc("GET /plans/{id}", u.authed(u.plan))
	m.HandleFunc("GET /plans/{id}/report", u.authed(u.planReport))
	m.HandleFunc("POST /plans/{id}/approve", u.authed(u.approvePlan))
	m.HandleFunc("POST /plans/{id}/discard", u.authed(u.discardPlan))

	m.HandleFunc("GET /changes", u.authed(u.changes))
	m.HandleFunc("/", u.notFound)
}

// ServeHTTP sets the headers every response carries and refuses cross-site
// writes before routing.
func (u *ui) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if !strings.HasPrefix(r.URL.Path, "/assets/") {
		h.Set("Cache-Control", "no-store")
	}
	if r.Method == http.MethodPost {
		// A browser says where a request comes from (Sec-Fetch-Site,
		// Origin): refuse cross-site posts before the form's CSRF token
		// is even read.
		if err := crossOrigin.Check(r); err != nil {
			u.forbidden(w, r, "This form was sent from another site.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	}
	u.mux.ServeHTTP(w, r)
}

var crossOrigin = http.NewCrossOriginProtection()

// url returns the absolute path of a UI page.
func (u *ui) url(path string) string { return u.o.Prefix + path }

// redirect answers a form with 303 See Other to a UI page.
func (u *ui) redirect(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, u.url(path), http.StatusSeeOther)
}

// fail renders an error: its kind decides the status.
func (u *ui) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	msg := "Something went wrong; the server log has the details."
	switch reconcile.ErrorKind(err) {
	case reconcile.EINVALID:
		status, msg = http.StatusBadRequest, err.Error()
	case reconcile.ENOTFOUND:
		status, msg = http.StatusNotFound, err.Error()
	case reconcile.ECONFLICT, reconcile.EHELD:
		status, msg = http.StatusConflict, err.Error()
	default:
		if errors.Is(err, context.Canceled) {
			return
		}
		u.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	u.errorPage(w, r, status, msg)
}

func (u *ui) forbidden(w http.ResponseWriter, r *http.Request, msg string) {
	u.log.Warn("request refused", "method", r.Method, "path", r.URL.Path, "reason", msg)
	u.errorPage(w, r, http.StatusForbidden, msg)
}

func (u *ui) notFound(w http.ResponseWriter, r *http.Request) {
	u.errorPage(w, r, http.StatusNotFound, "There is no such page.")
}
