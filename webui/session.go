package webui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

const (
	sessionCookie = "idpsync_session"
	maxSessions   = 1000 // past this, signing in ends the least recently used session
	maxPreviews   = 4    // impact previews a session keeps (the newest): a plan over 100,000 users is tens of MB
)

// session is one signed-in admin. Only a hash of its id is kept: a memory
// dump does not hand out live cookies.
type session struct {
	actor     string
	csrf      string
	tokenHash []byte // the admin API token it was started with (its SHA-256), or nil (the password)
	created   time.Time
	lastSeen  time.Time
	checked   time.Time           // when tokenHash was last found valid, with the admin scope
	flash     flash               // a message for the next page shown
	previews  map[string]*preview // impact previews waiting for confirmation, by id
	order     []string            // preview ids, oldest first
}

// preview is a planned mapping edit, kept until it is confirmed: the plan
// confirmed is exactly the plan shown.
type preview struct {
	plan    *reconcile.Plan
	edit    string // what the edit does, for people
	summary string // its impact, as the preview told it
}

// sessions holds the sessions in memory. They end when the process stops.
type sessions struct {
	now          func() time.Time
	idle, maxAge time.Duration

	mu   sync.Mutex
	byID map[[32]byte]*session
}

func newSessions(now func() time.Time, idle, maxAge time.Duration) *sessions {
	return &sessions{now: now, idle: idle, maxAge: maxAge, byID: map[[32]byte]*session{}}
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func hashID(id string) [32]byte { return sha256.Sum256([]byte(id)) }

// create starts a session for actor and returns its id, for the cookie.
// tokenHash is the admin token's hash it was started with, or nil.
func (s *sessions) create(actor string, tokenHash []byte) string {
	id := randomToken()
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(now)
	if len(s.byID) >= maxSessions {
		var oldest [32]byte
		var seen time.Time
		for k, v := range s.byID {
			if seen.IsZero() || v.lastSeen.Before(seen) {
				oldest, seen = k, v.lastSeen
			}
		}
		delete(s.byID, oldest)
	}
	s.byID[hashID(id)] = &session{actor: actor, csrf: randomToken(), tokenHash: tokenHash, created: now, lastSeen: now,
		checked: now, previews: map[string]*preview{}}
	return id
}

// prune drops expired sessions. The caller holds mu.
func (s *sessions) prune(now time.Time) {
	for k, v := range s.byID {
		if s.expired(v, now) {
			delete(s.byID, k)
		}
	}
}

func (s *sessions) expired(v *session, now time.Time) bool {
	return now.Sub(v.lastSeen) > s.idle || now.Sub(v.created) > s.maxAge
}

// get returns the live session with this id and marks it used, or nil.
func (s *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	now := s.now()
	k := hashID(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.byID[k]
	if v == nil {
		return nil
	}
	if s.expired(v, now) {
		delete(s.byID, k)
		return nil
	}
	v.lastSeen = now
	return v
}

// end ends the session with this id.
func (s *sessions) end(id string) {
	s.mu.Lock()
	delete(s.byID, hashID(id))
	s.mu.Unlock()
}

// checkCSRF compares a form's token with the session's in constant time.
// (A session's actor, CSRF token and token hash never change: they are
// read without the lock.)
func checkCSRF(v *session, token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(v.csrf)) == 1
}

// flash is a message shown once, on the page after a form's redirect:
// Text, then a link if Link is set.
type flash struct {
	Text     string
	Error    bool
	Link     string // a UI path, or ""
	LinkText string
}

// setFlash keeps a message for the session's next page; takeFlash reads it once.
func (s *sessions) setFlash(v *session, text string, isErr bool) {
	s.put(v, flash{Text: text, Error: isErr})
}

// put keeps a flash for the session's next page.
func (s *sessions) put(v *session, f flash) {
	s.mu.Lock()
	v.flash = f
	s.mu.Unlock()
}

// due reports whether a token session's token should be looked up again:
// on every form sent, and otherwise once recheckEvery has passed.
func (s *sessions) due(v *session, post bool) bool {
	if v.tokenHash == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return post || s.now().Sub(v.checked) >= recheckEvery
}

// confirmed records that a token session's token was found still valid.
func (s *sessions) confirmed(v *session) {
	now := s.now()
	s.mu.Lock()
	v.checked = now
	s.mu.Unlock()
}

func (s *sessions) takeFlash(v *session) flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := v.flash
	v.flash = flash{}
	return f
}

// keepPreview stores a preview and returns its id.
func (s *sessions) keepPreview(v *session, p *preview) string {
	id := randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	v.previews[id] = p
	v.order = append(v.order, id)
	if len(v.order) > maxPreviews {
		delete(v.previews, v.order[0])
		v.order = v.order[1:]
	}
	return id
}

// takePreview removes and returns a preview: each is confirmed at most once.
func (s *sessions) takePreview(v *session, id string) *preview {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := v.previews[id]
	delete(v.previews, id)
	for i, x := range v.order {
		if x == id {
			v.order = append(v.order[:i], v.order[i+1:]...)
			break
		}
	}
	return p
}

// cookie returns the session cookie (an empty value and MaxAge < 0 clears it).
func (u *ui) cookie(name, value string, maxAge int) *http.Cookie {
	path := u.o.Prefix
	if path == "" {
		path = "/"
	}
	return &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: u.o.Secure, SameSite: http.SameSiteStrictMode}
}

type ctxKey struct{}

// current returns the request's session (set by authed).
func current(r *http.Request) *session {
	v, _ := r.Context().Value(ctxKey{}).(*session)
	return v
}

// authed lets a request through only with a live session, and a POST only
// with the session's CSRF token. Without a session the browser is sent to
// sign in (after a POST, nothing was done).
func (u *ui) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var id string
		if c, err := r.Cookie(sessionCookie); err == nil {
			id = c.Value
		}
		v := u.sessions.get(id)
		if v == nil {
			if id != "" {
				http.SetCookie(w, u.cookie(sessionCookie, "", -1))
			}
			target := "/signin"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + urlQueryEscape(r.URL.RequestURI())
			} else if id != "" {
				target += "?expired=1"
			}
			u.redirect(w, r, target)
			return
		}
		post := r.Method == http.MethodPost
		if post && !checkCSRF(v, r.PostFormValue("csrf")) {
			u.forbidden(w, r, "The form's security token is missing or wrong: reload the page and try again. Nothing was changed.")
			return
		}
		if u.sessions.due(v, post) {
			_, ok, err := u.o.AdminToken(r.Context(), v.tokenHash)
			if err != nil {
				u.fail(w, r, err)
				return
			}
			if !ok {
				u.sessions.end(id)
				u.log.Warn("session ended: its admin token is revoked or no longer has the admin scope", "actor", v.actor)
				http.SetCookie(w, u.cookie(sessionCookie, "", -1))
				u.redirect(w, r, "/signin?revoked=1")
				return
			}
			u.sessions.confirmed(v)
		}
		next(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, v)))
	}
}
