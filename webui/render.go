package webui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets
var assetFiles embed.FS

// assetHandler serves the embedded CSS and JS. They change only with the
// binary, so browsers may keep them for a day.
func assetHandler() http.Handler {
	sub, _ := fs.Sub(assetFiles, "assets")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}

// pages holds one template set per page, each the layout plus the page.
type pages struct {
	set map[string]*template.Template
}

// pageNames are the templates/NAME.html files that are whole pages.
var pageNames = []string{"signin", "error", "overview", "mappings", "preview", "users", "user", "plans", "plan", "changes"}

func loadPages(prefix string, now func() time.Time) (*pages, error) {
	funcs := template.FuncMap{
		"url": func(parts ...any) string {
			var b strings.Builder
			b.WriteString(prefix)
			for _, p := range parts {
				b.WriteString(fmt.Sprint(p))
			}
			return b.String()
		},
		"seg":     url.PathEscape,
		"when":    when,
		"ago":     func(t time.Time) string { return ago(now(), t) },
		"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"join":    strings.Join,
		"add":     func(a, b int) int { return a + b },
		"count":   plural,
		"summary": summaryText,
		"effect":  effect,
		"detail":  func(c reconcile.Change) string { return c.Detail() },
		"deref":   func(t *time.Time) time.Time { return *t },
		"moveArgs": func(csrf string, item any, dir string) map[string]any {
			return map[string]any{"CSRF": csrf, "Item": item, "Dir": dir}
		},
		"dash": func(s string) string {
			if s == "" {
				return "—"
			}
			return s
		},
	}
	p := &pages{set: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles,
			"templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("webui: template %s: %w", name, err)
		}
		p.set[name] = t
	}
	return p, nil
}

// view is what the layout renders around a page's data.
type view struct {
	Title  string
	Nav    string // the current section, for aria-current
	Signed bool
	Actor  string
	CSRF   string
	Flash  flash
	Data   any
}

// navOf maps a page to its section of the navigation.
var navOf = map[string]string{
	"overview": "overview", "mappings": "mappings", "preview": "mappings",
	"users": "users", "user": "users", "plans": "plans", "plan": "plans", "changes": "changes",
}

// render writes a page. It renders into a buffer first, so a template
// error becomes a clean 500 rather than half a page.
func (u *ui) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	v := view{Title: title, Nav: navOf[name], Data: data}
	if s := current(r); s != nil {
		v.Signed, v.Actor, v.CSRF = true, s.actor, s.csrf
		v.Flash = u.sessions.takeFlash(s)
	}
	var buf bytes.Buffer
	if err := u.pages.set[name].Execute(&buf, v); err != nil {
		u.log.Error("render page", "page", name, "err", err)
		http.Error(w, "internal error: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

type errorData struct {
	Status  int
	Text    string
	Message string
}

func (u *ui) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	u.render(w, r, status, "error", http.StatusText(status), errorData{Status: status, Text: http.StatusText(status), Message: msg})
}

// when formats a time for people, in UTC.
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// ago says how long before now t was, or how long after ("in 5 min").
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	suffix := " ago"
	switch {
	case d < 0 && d > -time.Minute: // clocks a moment apart
		d = 0
	case d < 0:
		d, suffix = -d, ""
	}
	var s string
	switch {
	case d < time.Minute:
		s = "less than a minute"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	default:
		s = plural(int(d/(24*time.Hour)), "day")
	}
	if suffix == "" {
		return "in " + s
	}
	return s + suffix
}

// plural writes "1 user", "3 users".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// summaryText tells a plan's counts in a few words. An applied plan's in
// the past ("2 created, 3 granted"); any other's (held, dry-run,
// discarded) in the future, as the CLI's report does ("would create 2,
// grant 3"): nothing of it happened.
func summaryText(s reconcile.Summary, status string) string {
	done := status == reconcile.StatusApplied
	parts := changeCounts(s, done)
	text := "no changes"
	switch {
	case len(parts) > 0 && done:
		text = strings.Join(parts, ", ")
	case len(parts) > 0:
		text = "would " + strings.Join(parts, ", ")
	}
	if s.Conflict > 0 {
		text += fmt.Sprintf(", %d in conflict", s.Conflict)
	}
	return text
}

// effect says what applying a plan does: "create 2, grant 3".
func effect(s reconcile.Summary) string {
	if parts := changeCounts(s, false); len(parts) > 0 {
		return strings.Join(parts, ", ")
	}
	return "no changes"
}

// changeCounts tells each kind of change a plan has: done ("2 created") or
// to do ("create 2").
func changeCounts(s reconcile.Summary, done bool) []string {
	var parts []string
	for _, c := range []struct {
		n          int
		done, todo string
	}{
		{s.Create, "created", "create"}, {s.Update, "updated", "update"},
		{s.Reactivate, "reactivated", "reactivate"}, {s.Deactivate, "deactivated", "deactivate"},
		{s.Grant, "granted", "grant"}, {s.Revoke, "revoked", "revoke"}, {s.Adopt, "adopted", "adopt"},
	} {
		switch {
		case c.n == 0:
		case done:
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.done))
		default:
			parts = append(parts, fmt.Sprintf("%s %d", c.todo, c.n))
		}
	}
	switch g := s.GroupCreate + s.GroupUpdate + s.GroupDelete; {
	case g == 0:
	case done:
		parts = append(parts, plural(g, "group change"))
	default:
		parts = append(parts, "change "+plural(g, "group"))
	}
	return parts
}

// urlQueryEscape escapes a query value.
func urlQueryEscape(s string) string { return url.QueryEscape(s) }
