package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/webhook"
)

var errSchedulerStuck = errors.New("the scheduler's loop does not answer")

// reload re-reads the configuration (SIGHUP) and, when all of it is valid,
// puts it in force without dropping a connection: rules and mappings
// (every user's roles re-derived), sources (new ones opened and run once,
// removed ones planned for removal), schedules, SCIM tokens and the TLS
// certificate. A configuration with any problem is refused whole, with its
// problems logged, and the running one stays.
func (d *daemon) reload(ctx context.Context) {
	d.notify.reloading()
	defer d.notify.send("READY=1")
	d.log.Info("reloading the configuration")
	next, err := d.prepare(ctx)
	if err != nil {
		d.metrics.Reloaded(false)
		d.log.Error("configuration refused; the running one stays", "err", err)
		return
	}
	d.commit(ctx, next)
	d.metrics.Reloaded(true)
}

// pending is a validated configuration with everything it needs opened.
type pending struct {
	cfg     *config.Config
	sources map[string]reconcile.Source
	brakes  map[string]reconcile.Threshold
	auth    *tokenAuth
	cert    *tls.Certificate
	hooks   *webhook.Dispatcher // nil: no webhooks
}

// prepare loads and checks the new configuration, changing nothing.
func (d *daemon) prepare(ctx context.Context) (*pending, error) {
	cfg, err := d.cli.loadConfig()
	if err != nil {
		return nil, err
	}
	p := &pending{cfg: cfg, sources: map[string]reconcile.Source{}, brakes: map[string]reconcile.Threshold{}}
	if cfg.TLS() {
		if p.cert, err = cfg.LoadCertificate(); err != nil {
			return nil, err
		}
	}
	if p.auth, err = newTokenAuth(d.db, cfg); err != nil {
		return nil, err
	}
	global := cfg.Rules().MaxDeactivations
	var errs []error
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		p.brakes[s.Name] = s.Threshold(global)
		if !s.IsEnabled() {
			continue
		}
		src, err := openSource(s, d.log.With("source", s.Name))
		if err != nil {
			errs = append(errs, fmt.Errorf("source %q: %w", s.Name, err))
		} else if src != nil {
			p.sources[s.Name] = src
		}
	}
	// Webhooks are checked and their secrets read again (a rotated secret
	// takes effect on reload).
	if p.hooks, err = d.newWebhooks(cfg.Webhooks); err != nil {
		errs = append(errs, err)
	}
	// The roles and mappings admins added must still fit the catalogue.
	admin, err := d.store.AdminRules(ctx)
	if err != nil {
		return nil, err
	}
	if rules := cfg.Rules().Merge(admin); rules.Validate() != nil {
		err := rules.Validate()
		errs = append(errs, fmt.Errorf("%s with the roles and mappings stored in %s: %w", cfg.Describe(), d.cfg.Database, err))
	}
	return p, errors.Join(errs...)
}

// commit puts a prepared configuration in force.
func (d *daemon) commit(ctx context.Context, p *pending) {
	// A webhook this reload adds starts before anything the new
	// configuration applies (the rules re-derived below, a push under the
	// new rules), so it gets the reload's plan. Should its position not be
	// stored now, the dispatcher stores it when it starts (after the plan).
	if p.hooks != nil {
		if err := p.hooks.Init(ctx); err != nil {
			d.log.Error("webhooks: storing the starting positions failed; new webhooks start after this reload's changes", "err", err)
		}
	}
	if err := d.engine.Configure(p.cfg.Rules(), p.brakes); err != nil {
		d.log.Error("configuration refused; the running one stays", "err", err) // validated: cannot happen
		return
	}
	d.mu.Lock()
	old := d.cfg
	added := slices.DeleteFunc(slices.Sorted(maps.Keys(p.sources)), func(n string) bool { return d.sources[n] != nil })
	p.auth.carry(d.auth)
	d.cfg, d.sources, d.auth = p.cfg, p.sources, p.auth
	d.mu.Unlock()
	if p.cert != nil {
		d.cert.Store(p.cert)
	}
	d.warnRestart(old, p.cfg)
	if err := d.level.UnmarshalText([]byte(p.cfg.Log.Level)); err != nil {
		d.log.Warn("log level", "err", err)
	}
	if plan, err := d.engine.EnsureRules(ctx, "config"); err != nil {
		d.log.Error("re-deriving roles for the changed rules failed", "err", err)
	} else if plan != nil {
		d.log.Info("roles re-derived for the changed rules", "plan", plan.ID, "grant", plan.Summary.Grant, "revoke", plan.Summary.Revoke)
	}
	d.sched.apply(p.cfg, p.sources, added)
	d.startWebhooks(p.hooks)
	d.removeSources(ctx, p.cfg)
	d.log.Info("configuration reloaded", "config", p.cfg.Describe(), "sources", len(p.cfg.Sources), "mappings", len(p.cfg.Mappings))
}

// warnRestart names the settings a reload cannot change in place.
func (d *daemon) warnRestart(old, cfg *config.Config) {
	for _, k := range []struct {
		key      string
		old, new any
	}{
		{"listen", old.Listen, cfg.Listen},
		{"database", old.Database, cfg.Database},
		{"tls_cert and tls_key (HTTPS on or off)", old.TLS(), cfg.TLS()},
		{"log.format", old.Log.Format, cfg.Log.Format},
		{"ui.password_hash", hidden(old.UI.PasswordHash), hidden(cfg.UI.PasswordHash)},
		{"ui.session_ttl", old.UI.SessionTTL, cfg.UI.SessionTTL},
		{"ui.secure_cookie", old.UI.SecureCookie, cfg.UI.SecureCookie},
	} {
		if k.old != k.new {
			d.log.Warn("a changed setting takes effect at the next restart", "key", k.key, "running", k.old, "configured", k.new)
		}
	}
}

// hidden stands for a setting not to be logged: whether it is set, and a
// short fingerprint that tells two values apart.
func hidden(v string) string {
	if v == "" {
		return "(unset)"
	}
	h := sha256.Sum256([]byte(v))
	return fmt.Sprintf("(set, %x)", h[:3])
}
