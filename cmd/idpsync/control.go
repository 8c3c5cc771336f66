package main

import (
	"context"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/reconcile"
)

// The daemon's sources at run time, for the API and the admin UI.
var _ api.Control = (*daemon)(nil)

// Sources lists the configured sources, in configuration order.
func (d *daemon) Sources(ctx context.Context) ([]api.SourceStatus, error) {
	d.mu.RLock()
	cfg, paused := d.cfg, d.pausedCopy()
	d.mu.RUnlock()
	out := make([]api.SourceStatus, 0, len(cfg.Sources))
	for _, s := range cfg.Sources {
		st := api.SourceStatus{Name: s.Name, Type: s.Type, Enabled: s.IsEnabled() && !paused[s.Name], Schedule: s.Schedule}
		if st.Enabled {
			st.NextRun = d.sched.next(s.Name)
		}
		if l, ok := d.locks.Load(s.Name); ok {
			st.Running = l.(*runLock).running.Load()
		}
		if s.Type != "scim" {
			runs, err := d.store.Runs(ctx, s.Name, 1)
			if err != nil {
				return nil, err
			}
			if len(runs) > 0 {
				st.LastRun = &runs[0]
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// Sync runs a pull of the named source now, through the same lock as the
// schedule, waits for it and returns its plan. The run goes on if the
// caller goes away: it is cancelled only as shutdown cancels runs.
func (d *daemon) Sync(_ context.Context, name, actor string) (*reconcile.Plan, error) {
	d.mu.RLock()
	s, paused := d.cfg.Source(name), d.paused[name]
	d.mu.RUnlock()
	if err := pullable(s, name, paused); err != nil {
		return nil, err
	}
	return d.runSource(name, "api", actor)
}

// pullable says why a source cannot be pulled now, if it cannot: a push
// source never can (EINVALID); a switched-off one cannot in its present
// state (ECONFLICT, as while a run of it is going).
func pullable(s *config.Source, name string, paused bool) error {
	switch {
	case s == nil:
		return reconcile.Errorf(reconcile.ENOTFOUND, "no source named %q", name)
	case s.Type == "scim":
		return reconcile.Errorf(reconcile.EINVALID, "source %q is a SCIM push source: the IdP pushes it, nothing pulls it", name)
	case !s.IsEnabled():
		return reconcile.Errorf(reconcile.ECONFLICT, "source %q is disabled in the configuration (enabled = false)", name)
	case paused:
		return reconcile.Errorf(reconcile.ECONFLICT, "source %q is switched off; switch it on first", name)
	}
	return nil
}

// SetEnabled switches a source on or off and keeps the choice in the store,
// across restarts. A source switched off skips its schedule (a run going on
// finishes) and its SCIM tokens get 403. A source disabled in config.toml
// cannot be switched on here: EINVALID.
func (d *daemon) SetEnabled(ctx context.Context, name string, enabled bool, actor string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.cfg.Source(name)
	switch {
	case s == nil:
		return reconcile.Errorf(reconcile.ENOTFOUND, "no source named %q", name)
	case enabled && !s.IsEnabled():
		return reconcile.Errorf(reconcile.EINVALID, "source %q is disabled in %s (enabled = false); enable it there", name, d.cfg.Describe())
	}
	if err := d.db.SetSourceEnabled(ctx, name, enabled, actor); err != nil {
		return err
	}
	if d.paused[name] == !enabled {
		return nil
	}
	if enabled {
		delete(d.paused, name)
	} else {
		d.paused[name] = true
	}
	d.log.Info("source switched", "source", name, "enabled", enabled, "actor", actor)
	return nil
}

// isPaused reports whether a source is switched off at run time.
func (d *daemon) isPaused(name string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.paused[name]
}

func (d *daemon) pausedCopy() map[string]bool {
	out := make(map[string]bool, len(d.paused))
	for k, v := range d.paused {
		out[k] = v
	}
	return out
}

// liveAuth authenticates SCIM requests with the tokens of the configuration
// in force (a reload replaces them) and refuses (403) a source switched off
// in the configuration or at run time.
type liveAuth struct{ d *daemon }

func (l liveAuth) current() *tokenAuth {
	l.d.mu.RLock()
	defer l.d.mu.RUnlock()
	return l.d.auth
}

func (l liveAuth) Authenticate(ctx context.Context, token string) (string, error) {
	return l.current().Authenticate(ctx, token)
}

func (l liveAuth) Enabled(source string) bool {
	return l.current().Enabled(source) && !l.d.isPaused(source)
}
