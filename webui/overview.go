package webui

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

type overviewData struct {
	Sources []sourceRow
	Manual  sqlite.SourceUsers
	Tokens  []tokenRow
	Config  bool // some rows are config.toml's tokens
	Held    []reconcile.Plan
}

type sourceRow struct {
	api.SourceStatus
	Push     bool               // a SCIM source: pushed to, never pulled
	Users    sqlite.SourceUsers // its app users
	LastPush time.Time          // a push source's latest request, from its tokens' last use
	LastPlan *reconcile.Plan    // a push source's latest applied change
	// The last run's outcome now: a run held by the safety brake shows
	// what became of its plan since ("applied" once approved,
	// "discarded"), and WasHeld says it was held.
	Outcome string
	WasHeld bool
}

// tokenRow is one SCIM token: the store's, or one config.toml gives.
type tokenRow struct {
	ID       string // the store's token id; "" for a config token
	Key      string // a config token's key: token_env or token_file
	Source   string
	Created  time.Time // zero for a config token
	LastUsed time.Time
	Revoked  time.Time
}

// heldLookback is how many of a source's latest plans are searched for
// the plan of its last run: a later run of it would be the last one.
const heldLookback = 10

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
	d := overviewData{Held: held, Manual: sqlite.SourceUsers{Source: reconcile.Manual}}
	for _, t := range tokens {
		d.Tokens = append(d.Tokens, tokenRow{ID: t.ID, Source: t.Source, Created: t.Created, LastUsed: t.LastUsed, Revoked: t.Revoked})
	}
	if u.o.ConfigTokenActivity != nil {
		config := u.o.ConfigTokenActivity()
		slices.SortFunc(config, func(a, b TokenActivity) int {
			return cmp.Or(strings.Compare(a.Source, b.Source), strings.Compare(a.Key, b.Key))
		})
		for _, t := range config {
			d.Tokens = append(d.Tokens, tokenRow{Key: t.Key, Source: t.Source, LastUsed: t.LastUsed})
			d.Config = true
		}
	}
	byOwner := map[string]sqlite.SourceUsers{}
	for _, c := range counts {
		byOwner[c.Source] = c
	}
	if c, ok := byOwner[reconcile.Manual]; ok {
		d.Manual = c
	}
	for _, s := range statuses {
		row := sourceRow{SourceStatus: s, Push: s.Type == "scim", Users: byOwner[s.Name]}
		row.Running = row.Running || u.isSyncing(s.Name)
		for _, t := range d.Tokens {
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
		if run := s.LastRun; run != nil {
			row.Outcome = run.Outcome
			if run.Outcome == reconcile.RunHeld && run.PlanID != 0 && !slices.ContainsFunc(held, func(p reconcile.Plan) bool { return p.ID == run.PlanID }) {
				// Approved or discarded since: say which.
				recent, err := u.o.Store.Plans(ctx, reconcile.PlanFilter{Source: s.Name, Limit: heldLookback})
				if err != nil {
					u.fail(w, r, err)
					return
				}
				if i := slices.IndexFunc(recent, func(p reconcile.Plan) bool { return p.ID == run.PlanID }); i >= 0 {
					row.Outcome, row.WasHeld = recent[i].Status, true
				}
			}
		}
		d.Sources = append(d.Sources, row)
	}
	u.render(w, r, http.StatusOK, "overview", "Overview", d)
}

// isSyncing reports whether a "Sync now" of this UI is running name.
func (u *ui) isSyncing(name string) bool {
	u.syncMu.Lock()
	defer u.syncMu.Unlock()
	return u.syncing[name]
}

// syncNow starts a pull of one source and answers at once: the overview
// shows it running, and its outcome comes as a message on the session's
// next page. The run goes on when the browser leaves: it gets a context
// the request's end does not cancel, and Control bounds it (see Options).
// Requests the Control would refuse at once are refused here, so that
// "started" is never said of a run that cannot start.
func (u *ui) syncNow(w http.ResponseWriter, r *http.Request) {
	s, name := current(r), r.PathValue("name")
	defer u.redirect(w, r, "/")
	statuses, err := u.o.Control.Sources(r.Context())
	if err != nil {
		u.sessions.setFlash(s, fmt.Sprintf("Sync of %s failed to start: %v", name, err), true)
		return
	}
	i := slices.IndexFunc(statuses, func(st api.SourceStatus) bool { return st.Name == name })
	switch {
	case i < 0:
		u.sessions.setFlash(s, fmt.Sprintf("Sync of %s refused: there is no such source.", name), true)
		return
	case statuses[i].Type == "scim":
		u.sessions.setFlash(s, fmt.Sprintf("Sync of %s refused: it is a SCIM source, pushed to by the IdP; nothing pulls it.", name), true)
		return
	case !statuses[i].Enabled:
		u.sessions.setFlash(s, fmt.Sprintf("Sync of %s refused: the source is switched off.", name), true)
		return
	}
	u.syncMu.Lock()
	busy := u.syncing[name] || statuses[i].Running
	if !busy {
		u.syncing[name] = true
		u.bg.Add(1)
	}
	u.syncMu.Unlock()
	if busy {
		u.sessions.setFlash(s, fmt.Sprintf("A sync of %s is already running: its outcome shows here when it ends.", name), false)
		return
	}
	u.log.Info("sync started from the UI", "source", name, "actor", s.actor)
	u.sessions.setFlash(s, fmt.Sprintf("Sync of %s started: its outcome shows here when it ends.", name), false)
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer u.bg.Done()
		p, err := u.o.Control.Sync(ctx, name, s.actor)
		u.sessions.put(s, syncFlash(name, p, err))
		if err != nil && reconcile.ErrorKind(err) == reconcile.EINTERNAL {
			u.log.Warn("sync from the UI failed", "source", name, "err", err)
		}
		u.syncMu.Lock()
		delete(u.syncing, name)
		u.syncMu.Unlock()
	}()
}

// syncFlash tells how a sync ended.
func syncFlash(name string, p *reconcile.Plan, err error) flash {
	switch {
	case err != nil && reconcile.ErrorKind(err) == reconcile.EINTERNAL:
		return flash{Text: fmt.Sprintf("Sync of %s failed, nothing was applied: %v", name, err), Error: true}
	case err != nil:
		return flash{Text: fmt.Sprintf("Sync of %s refused: %v", name, err), Error: true}
	case p == nil || p.Status == "":
		return flash{Text: fmt.Sprintf("Synced %s: no changes.", name)}
	case p.Status == reconcile.StatusHeld:
		return flash{Text: fmt.Sprintf("Sync of %s is held by the safety brake (%s):", name, p.HeldReason), Error: true,
			Link: fmt.Sprintf("/plans/%d", p.ID), LinkText: fmt.Sprintf("review plan %d", p.ID)}
	}
	return flash{Text: fmt.Sprintf("Synced %s (plan %d). %s", name, p.ID, p.Totals())}
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
