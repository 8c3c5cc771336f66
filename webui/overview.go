package webui

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

type overviewData struct {
	Sources []sourceRow
	Manual  sqlite.SourceUsers
	Tokens  []sqlite.Token
	Held    []reconcile.Plan
}

type sourceRow struct {
	api.SourceStatus
	Push     bool               // a SCIM source: pushed to, never pulled
	Users    sqlite.SourceUsers // its app users
	LastPush time.Time          // a push source's latest request, from its tokens' last use
	LastPlan *reconcile.Plan    // a push source's latest applied change
}

func (u *ui) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	statuses, err := u.o.Control.Sources(ctx)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	counts, err := u.o.Queries.UserCounts(ctx)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	tokens, err := u.o.Queries.Tokens(ctx, "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	held, err := u.o.Store.Plans(ctx, reconcile.PlanFilter{Status: reconcile.StatusHeld})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := overviewData{Tokens: tokens, Held: held, Manual: sqlite.SourceUsers{Source: reconcile.Manual}}
	byOwner := map[string]sqlite.SourceUsers{}
	for _, c := range counts {
		byOwner[c.Source] = c
	}
	if c, ok := byOwner[reconcile.Manual]; ok {
		d.Manual = c
	}
	for _, s := range statuses {
		row := sourceRow{SourceStatus: s, Push: s.Type == "scim", Users: byOwner[s.Name]}
		for _, t := range tokens {
			if t.Source == s.Name && t.LastUsed.After(row.LastPush) {
				row.LastPush = t.LastUsed
			}
		}
		if row.Push {
			last, err := u.o.Store.Plans(ctx, reconcile.PlanFilter{Status: reconcile.StatusApplied, Source: s.Name, Limit: 1})
			if err != nil {
				u.fail(w, r, err)
				return
			}
			if len(last) > 0 {
				row.LastPlan = &last[0]
			}
		}
		d.Sources = append(d.Sources, row)
	}
	u.render(w, r, http.StatusOK, "overview", "Overview", d)
}

// syncNow runs a pull of one source and waits for it. The run goes on to
// its end even if the browser leaves: a run cut short applies nothing.
func (u *ui) syncNow(w http.ResponseWriter, r *http.Request) {
	s, name := current(r), r.PathValue("name")
	p, err := u.o.Control.Sync(context.WithoutCancel(r.Context()), name, s.actor)
	switch {
	case err != nil && reconcile.ErrorKind(err) == reconcile.EINTERNAL:
		u.log.Warn("sync from the UI failed", "source", name, "err", err)
		u.sessions.setFlash(s, fmt.Sprintf("Sync of %s failed, nothing was applied: %v", name, err), true)
	case err != nil:
		u.sessions.setFlash(s, fmt.Sprintf("Sync of %s refused: %v", name, err), true)
	case p == nil || p.Status == "":
		u.sessions.setFlash(s, fmt.Sprintf("Synced %s: no changes.", name), false)
	case p.Status == reconcile.StatusHeld:
		u.sessions.setFlash(s, fmt.Sprintf("Sync of %s is held by the safety brake (%s): review plan %d.", name, p.HeldReason, p.ID), true)
	default:
		u.sessions.setFlash(s, fmt.Sprintf("Synced %s (plan %d). %s", name, p.ID, p.Totals()), false)
	}
	u.redirect(w, r, "/")
}

// setEnabled switches a source's provisioning on or off.
func (u *ui) setEnabled(w http.ResponseWriter, r *http.Request) {
	s, name := current(r), r.PathValue("name")
	var on bool
	switch r.PostFormValue("enabled") {
	case "true":
		on = true
	case "false":
	default:
		u.fail(w, r, reconcile.Errorf(reconcile.EINVALID, "enabled must be true or false"))
		return
	}
	if err := u.o.Control.SetEnabled(r.Context(), name, on, s.actor); err != nil {
		u.fail(w, r, err)
		return
	}
	u.log.Info("source switched from the UI", "source", name, "enabled", on, "actor", s.actor)
	state := "disabled: its pulls are paused and its SCIM pushes refused"
	if on {
		state = "enabled"
	}
	u.sessions.setFlash(s, fmt.Sprintf("Source %s is %s.", name, state), false)
	u.redirect(w, r, "/")
}
