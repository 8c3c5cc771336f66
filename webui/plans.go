package webui

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// recentPlans is how many applied and discarded plans the plans page lists.
const recentPlans = 20

type plansData struct {
	Pending []reconcile.Plan // held and dry-run plans
	Recent  []reconcile.Plan // the latest plans of any status
}

func (u *ui) plans(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var d plansData
	for _, status := range []string{reconcile.StatusHeld, reconcile.StatusDryRun} {
		ps, err := u.o.Store.Plans(ctx, reconcile.PlanFilter{Status: status})
		if err != nil {
			u.fail(w, r, err)
			return
		}
		d.Pending = append(d.Pending, ps...)
	}
	recent, err := u.o.Store.Plans(ctx, reconcile.PlanFilter{Limit: recentPlans})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Recent = recent
	u.render(w, r, http.StatusOK, "plans", "Plans", d)
}

type planData struct {
	Plan    *reconcile.Plan
	Report  string // the text report, as the CLI prints it
	Pending bool   // held or dry-run: it can be approved or discarded
}

// loadPlan reads the plan named in the path.
func (u *ui) loadPlan(r *http.Request) (*reconcile.Plan, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, reconcile.Errorf(reconcile.ENOTFOUND, "%q is not a plan id", r.PathValue("id"))
	}
	return u.o.Store.Plan(r.Context(), id)
}

func (u *ui) plan(w http.ResponseWriter, r *http.Request) {
	p, err := u.loadPlan(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var report bytes.Buffer
	if err := reconcile.WriteText(&report, p); err != nil {
		u.fail(w, r, err)
		return
	}
	d := planData{Plan: p, Report: clip(report.String()),
		Pending: p.Status == reconcile.StatusHeld || p.Status == reconcile.StatusDryRun}
	u.render(w, r, http.StatusOK, "plan", fmt.Sprintf("Plan %d", p.ID), d)
}

// planReport serves a plan's whole report as a download: text, json or markdown.
func (u *ui) planReport(w http.ResponseWriter, r *http.Request) {
	p, err := u.loadPlan(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	ext, ctype := "txt", "text/plain; charset=utf-8"
	switch format {
	case reconcile.FormatJSON:
		ext, ctype = "json", "application/json"
	case reconcile.FormatMarkdown:
		ext, ctype = "md", "text/markdown; charset=utf-8"
	case "", reconcile.FormatText:
		format = reconcile.FormatText
	default:
		u.fail(w, r, reconcile.Errorf(reconcile.EINVALID, "unknown format %q (want text, json or markdown)", format))
		return
	}
	var buf bytes.Buffer
	if err := reconcile.Render(&buf, p, format); err != nil {
		u.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"plan-%d.%s\"", p.ID, ext))
	_, _ = buf.WriteTo(w)
}

// approvePlan applies a held or dry-run plan; the engine refuses a stale one.
func (u *ui) approvePlan(w http.ResponseWriter, r *http.Request) {
	s := current(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.fail(w, r, reconcile.Errorf(reconcile.ENOTFOUND, "%q is not a plan id", r.PathValue("id")))
		return
	}
	p, err := u.o.Engine.Approve(r.Context(), id, s.actor)
	switch kind := reconcile.ErrorKind(err); {
	case err == nil:
		u.log.Info("plan approved from the UI", "plan", id, "actor", s.actor)
		u.sessions.setFlash(s, fmt.Sprintf("Plan %d applied. %s", id, p.Totals()), false)
	case kind == reconcile.ECONFLICT || kind == reconcile.EINVALID:
		u.sessions.setFlash(s, "Nothing was applied: "+err.Error(), true)
	default:
		u.fail(w, r, err)
		return
	}
	u.redirect(w, r, fmt.Sprintf("/plans/%d", id))
}

func (u *ui) discardPlan(w http.ResponseWriter, r *http.Request) {
	s := current(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.fail(w, r, reconcile.Errorf(reconcile.ENOTFOUND, "%q is not a plan id", r.PathValue("id")))
		return
	}
	switch err := u.o.Engine.Discard(r.Context(), id, s.actor); {
	case err == nil:
		u.log.Info("plan discarded from the UI", "plan", id, "actor", s.actor)
		u.sessions.setFlash(s, fmt.Sprintf("Plan %d discarded: nothing was applied.", id), false)
	case reconcile.ErrorKind(err) == reconcile.EINVALID:
		u.sessions.setFlash(s, err.Error(), true)
	default:
		u.fail(w, r, err)
		return
	}
	u.redirect(w, r, fmt.Sprintf("/plans/%d", id))
}

type changesData struct {
	Changes []reconcile.ChangeRecord
	Kinds   []string
	Kind    string
	Source  string
	Actor   string
	User    string
	Plan    string
	Error   string
	Older   string // link to the next page (older changes), or ""
}

// changes pages through the change log, newest first, with filters.
func (u *ui) changes(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := changesData{Kinds: reconcile.ChangeKinds, Kind: q.Get("kind"), Source: strings.TrimSpace(q.Get("source")),
		Actor: strings.TrimSpace(q.Get("actor")), User: strings.TrimSpace(q.Get("user")), Plan: strings.TrimSpace(q.Get("plan"))}
	cq := sqlite.ChangeQuery{Kind: d.Kind, Source: d.Source, Actor: d.Actor, Limit: changesPerPage + 1}
	cq.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	cq.Before = max(cq.Before, 0)
	if d.Plan != "" {
		if cq.PlanID, _ = strconv.ParseInt(d.Plan, 10, 64); cq.PlanID <= 0 {
			d.Error = fmt.Sprintf("%q is not a plan id.", d.Plan)
		}
	}
	if d.User != "" {
		// By id or userName: the log is indexed by user id.
		switch usr, err := u.o.Store.User(ctx, d.User); {
		case err == nil:
			cq.UserID = usr.ID
		case reconcile.ErrorKind(err) == reconcile.ENOTFOUND:
			d.Error = fmt.Sprintf("No user %q (give a userName or a user id).", d.User)
		default:
			u.fail(w, r, err)
			return
		}
	}
	if d.Error == "" {
		changes, err := u.o.Queries.ChangeLog(ctx, cq)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		if len(changes) > changesPerPage {
			changes = changes[:changesPerPage]
			v := url.Values{}
			for k, s := range map[string]string{"kind": d.Kind, "source": d.Source, "actor": d.Actor, "user": d.User, "plan": d.Plan} {
				if s != "" {
					v.Set(k, s)
				}
			}
			v.Set("before", strconv.FormatInt(changes[len(changes)-1].Seq, 10))
			d.Older = "?" + v.Encode()
		}
		d.Changes = changes
	}
	u.render(w, r, http.StatusOK, "changes", "Changes", d)
}
