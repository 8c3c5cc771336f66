package webui

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// signinCookie carries the sign-in form's CSRF token (double submit): a
// page of another site cannot sign a browser in with the attacker's
// password.
const signinCookie = "idpsync_signin"

type signinData struct {
	Token    string
	Next     string
	Error    string
	Password bool // password sign-in is on
	AdminTok bool // admin-token sign-in is on
}

func (u *ui) signinPage(w http.ResponseWriter, r *http.Request) {
	d := signinData{Next: localNext(r.FormValue("next"))}
	switch {
	case r.FormValue("revoked") != "":
		d.Error = "Your session ended: the admin API token it was started with is revoked or no longer has the admin scope. Nothing was changed."
	case r.FormValue("expired") != "":
		d.Error = "Your session ended. Sign in again."
	}
	u.renderSignin(w, r, http.StatusOK, d)
}

func (u *ui) renderSignin(w http.ResponseWriter, r *http.Request, status int, d signinData) {
	d.Token = randomToken()
	d.Password, d.AdminTok = u.password != nil, u.o.AdminToken != nil
	http.SetCookie(w, u.cookie(signinCookie, d.Token, 3600))
	u.render(w, r, status, "signin", "Sign in", d)
}

func (u *ui) signin(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(signinCookie)
	form := r.PostFormValue("csrf")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		u.forbidden(w, r, "The sign-in form's security token is missing or wrong: reload the page and try again.")
		return
	}
	next := localNext(r.PostFormValue("next"))
	client := clientIP(r)
	if wait := u.limiter.blocked(client); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		u.renderSignin(w, r, http.StatusTooManyRequests, signinData{Next: next,
			Error: "Too many failed sign-ins from your address. Try again in a few minutes."})
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("secret"))
	actor, tokenHash, err := u.check(r, secret)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if actor == "" {
		u.limiter.fail(client)
		u.log.Warn("sign-in refused", "client", client)
		u.renderSignin(w, r, http.StatusUnauthorized, signinData{Next: next,
			Error: "That password or admin token is not accepted."})
		return
	}
	id := u.sessions.create(actor, tokenHash)
	u.log.Info("signed in", "actor", actor, "client", client)
	http.SetCookie(w, u.cookie(signinCookie, "", -1))
	http.SetCookie(w, u.cookie(sessionCookie, id, 0))
	http.Redirect(w, r, u.o.Prefix+next, http.StatusSeeOther)
}

// check returns the actor the secret signs in as, or "" when it is neither
// the password nor an admin token; for a token, also its hash, which the
// session keeps to look the token up again.
func (u *ui) check(r *http.Request, secret string) (actor string, tokenHash []byte, err error) {
	if secret == "" {
		return "", nil, nil
	}
	if u.password != nil {
		select {
		case u.checking <- struct{}{}:
		case <-r.Context().Done():
			return "", nil, r.Context().Err()
		}
		ok := u.password(secret)
		<-u.checking
		if ok {
			return actorPassword, nil, nil
		}
	}
	if u.o.AdminToken != nil {
		h := sha256.Sum256([]byte(secret))
		name, ok, err := u.o.AdminToken(r.Context(), h[:])
		if err != nil || !ok {
			return "", nil, err
		}
		return actorTokenPfx + name, h[:], nil
	}
	return "", nil, nil
}

func (u *ui) signout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		u.sessions.end(c.Value)
	}
	http.SetCookie(w, u.cookie(sessionCookie, "", -1))
	u.redirect(w, r, "/signin")
}

// localNext keeps a post-sign-in target only when it is a path of the UI:
// never another site ("//evil.example", "https://…").
func localNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

// clientIP is the address failed sign-ins are counted under. Behind a
// reverse proxy every client shares the proxy's address: the limit then
// holds for all of them together.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter counts failed sign-ins per client address over a sliding window.
type limiter struct {
	now    func() time.Time
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time
}

func newLimiter(now func() time.Time, max int, window time.Duration) *limiter {
	return &limiter{now: now, max: max, window: window, fails: map[string][]time.Time{}}
}

// recent returns the client's failures within the window. The caller holds mu.
func (l *limiter) recent(client string, now time.Time) []time.Time {
	ts := l.fails[client]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, client)
		return nil
	}
	l.fails[client] = ts
	return ts
}

// blocked returns how long the client must wait before trying again, or 0.
func (l *limiter) blocked(client string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.recent(client, now)
	if len(ts) < l.max {
		return 0
	}
	return l.window - now.Sub(ts[len(ts)-l.max])
}

// fail records a failed sign-in.
func (l *limiter) fail(client string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > 10000 { // a flood of addresses: forget the stale ones
		for c := range l.fails {
			l.recent(c, now)
		}
	}
	l.fails[client] = append(l.recent(client, now), now)
}
