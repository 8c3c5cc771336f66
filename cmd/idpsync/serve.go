package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/metrics"
	"github.com/idpsync/idpsync/reconcile"
)

func (c *cli) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: scheduled pull syncs (one run of each source at start) until SIGINT/SIGTERM; SIGHUP reloads config.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// SIGINT and SIGTERM cancel the command's context (main); SIGHUP
			// reloads. Without this, SIGHUP would end the process.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			return c.withApp(cmd.Context(), func(a *app) error {
				return newDaemon(c, a).serve(cmd.Context(), hup)
			})
		},
	}
}

// scimPrefix is where the SCIM API lives: the IdP's "Tenant URL" or
// "SCIM connector base URL" is https://HOST/scim/v2.
const scimPrefix = "/scim/v2"

// Shutdown bounds: HTTP requests get httpDrain to finish; a run that is
// applying a plan gets applyGrace (its fetch, if still going, stops at once).
// A run cut off by applyGrace rolls back: nothing of its plan is applied.
var (
	httpDrain  = 10 * time.Second
	applyGrace = 30 * time.Second
)

// daemon is a running `idpsync serve`: the app, plus what a reload replaces
// and what the API's source control changes. It implements api.Control.
type daemon struct {
	*app
	cli     *cli
	metrics *metrics.Metrics
	notify  notifier
	sched   *scheduler

	mu   sync.RWMutex // guards cfg, sources (in app), paused (in app) and auth
	auth *tokenAuth

	cert  atomic.Pointer[tls.Certificate] // served when the listener is TLS; reload renews it
	ready atomic.Bool                     // store open, config loaded, listener up
	addr  atomic.Pointer[string]          // the listener's address, once up

	// Runs: every sync goes through runSource, under its source's lock.
	locks     sync.Map       // source name → *runLock; kept across reloads
	runMu     sync.Mutex     // orders runs.Add before the shutdown's runs.Wait
	runs      sync.WaitGroup // runs going on
	runCtx    context.Context
	stopRuns  context.CancelFunc // cancels runCtx: an apply past applyGrace rolls back
	fetchCtx  context.Context
	stopFetch context.CancelFunc // cancels fetches at shutdown
	stopping  chan struct{}      // closed when shutdown begins

	hooks *webhooks // the running webhook dispatcher, or nil
}

func newDaemon(c *cli, a *app) *daemon {
	d := &daemon{app: a, cli: c, notify: notifier{log: a.log}, stopping: make(chan struct{})}
	d.runCtx, d.stopRuns = context.WithCancel(context.Background())
	d.fetchCtx, d.stopFetch = context.WithCancel(context.Background())
	d.metrics = metrics.New(func(ctx context.Context) (int, error) {
		held, err := a.store.Plans(ctx, reconcile.PlanFilter{Status: reconcile.StatusHeld})
		return len(held), err
	})
	a.db.OnError(d.metrics.StoreError)
	a.engine.SetHooks(reconcile.Hooks{Applied: d.applied, Ran: d.metrics.Ran})
	d.sched = newScheduler(d, a.log)
	return d
}

// serve runs until ctx is cancelled (SIGINT, SIGTERM) or the HTTP server
// fails; each value on hup reloads the configuration.
func (d *daemon) serve(ctx context.Context, hup <-chan os.Signal) error {
	auth, err := newTokenAuth(d.db, d.cfg)
	if err != nil {
		return err
	}
	d.auth = auth
	if d.cfg.TLS() {
		cert, err := d.cfg.LoadCertificate()
		if err != nil {
			return err
		}
		d.cert.Store(cert)
	}
	srv, err := d.httpServer()
	if err != nil {
		return err
	}
	disp, err := d.newWebhooks(d.cfg.Webhooks)
	if err != nil {
		return err
	}
	// A new webhook's position (the end of the change log, by default) is
	// stored before any plan can apply: the SCIM and API requests the
	// listener lets in, the rules re-derived below, the runs at start.
	if disp != nil {
		if err := disp.Init(ctx); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	httpErr := make(chan error, 1)
	tlsOn := d.cfg.TLS() // d.cfg is replaced by reloads: read it here, not in the goroutine
	go func() {
		if tlsOn {
			httpErr <- srv.ServeTLS(ln, "", "")
		} else {
			httpErr <- srv.Serve(ln)
		}
	}()
	d.seedMetrics(ctx)
	addr := ln.Addr().String()
	d.addr.Store(&addr)
	d.ready.Store(true)
	d.log.Info("idpsync serving", "listen", ln.Addr().String(), "tls", d.cfg.TLS(), "database", d.cfg.Database, "sources", len(d.sources))
	d.notify.send("READY=1\nSTATUS=serving on " + ln.Addr().String())
	go d.watchdog(ctx)

	if _, err := d.engine.EnsureRules(ctx, "config"); err != nil {
		d.log.Error("re-deriving roles for the changed rules failed", "err", err)
	}
	d.mu.RLock()
	d.sched.apply(d.cfg, d.sources, nil)
	cfg := d.cfg
	d.mu.RUnlock()
	d.sched.start()
	d.startWebhooks(disp)
	d.removeSources(ctx, cfg)

	for {
		select {
		case <-ctx.Done():
			return d.shutdown(ctx, srv, nil)
		case err := <-httpErr:
			return d.shutdown(ctx, srv, fmt.Errorf("http server: %w", err))
		case <-hup:
			d.reload(ctx)
		}
	}
}

// shutdown stops the schedule and the fetches at once, drains HTTP requests
// (bounded by httpDrain) and lets a run that is applying finish (bounded by
// applyGrace; one cut off rolls back whole).
func (d *daemon) shutdown(ctx context.Context, srv *http.Server, cause error) error {
	d.notify.send("STOPPING=1")
	d.log.Info("shutting down")
	d.ready.Store(false)
	d.runMu.Lock()
	close(d.stopping)
	d.runMu.Unlock()
	d.sched.stop()
	d.stopFetch()
	drained := make(chan error, 1)
	go func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpDrain)
		defer cancel()
		drained <- srv.Shutdown(sctx)
	}()
	runsDone := make(chan struct{})
	go func() { d.runs.Wait(); close(runsDone) }()
	select {
	case <-runsDone:
	case <-time.After(applyGrace):
		d.log.Warn("a run is still applying after the grace period; cancelling it (its plan rolls back)", "grace", applyGrace)
		d.stopRuns()
		<-runsDone
	}
	d.stopRuns()
	d.stopWebhooks()
	if err := <-drained; err != nil && !errors.Is(err, http.ErrServerClosed) && cause == nil {
		d.log.Warn("HTTP requests still open after the drain period were cut", "err", err)
	}
	return cause
}

// removeSources plans the removal of sources that left the configuration.
func (d *daemon) removeSources(ctx context.Context, cfg *config.Config) {
	removed, err := d.engine.Removed(ctx)
	if err != nil {
		d.log.Error("listing removed sources", "err", err)
		return
	}
	for _, name := range removed {
		p, err := d.engine.RemoveSource(ctx, name, cfg.Rules().MaxDeactivations, reconcile.SyncOptions{Actor: "config"})
		if err != nil {
			d.log.Error("removing source", "source", name, "err", err)
			continue
		}
		d.log.Info("source removed from the configuration", "source", name, "status", p.Status, "deactivate", p.Summary.Deactivate)
	}
}

// seedMetrics sets each source's last successful sync (applied, or no
// changes) from its last 50 stored runs, so a restart does not reset it.
func (d *daemon) seedMetrics(ctx context.Context) {
	for _, s := range d.cfg.Sources {
		runs, err := d.store.Runs(ctx, s.Name, 50)
		if err != nil {
			d.log.Warn("reading the last runs for the metrics", "source", s.Name, "err", err)
			return
		}
		d.metrics.SeedLastSuccess(runs)
	}
}

// applied logs every applied change, one line each, with its source and
// actor (never attribute values: the names of the attributes that changed),
// and counts them.
func (d *daemon) applied(p *reconcile.Plan) {
	d.metrics.Applied(p)
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Kind == reconcile.ChangeConflict {
			continue
		}
		source := c.Source
		if source == "" {
			source = p.Source
		}
		args := []any{"plan", p.ID, "plan_kind", p.Kind, "kind", c.Kind, "source", source, "actor", p.Actor}
		if c.User != "" {
			args = append(args, "user", c.User)
		}
		if c.Group != "" {
			args = append(args, "group", c.Group)
		}
		if c.Role != "" {
			args = append(args, "role", c.Role)
		}
		if c.Kind == reconcile.ChangeUpdate {
			args = append(args, "attributes", attributeNames(c.After))
		}
		d.log.Info("change applied", args...)
	}
}

// attributeNames lists the keys of an update's After: what changed, not to what.
func attributeNames(after map[string]any) []string {
	return slices.Sorted(maps.Keys(after))
}
