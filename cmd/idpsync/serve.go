package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"

	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/scimserver"
)

func (c *cli) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: scheduled pull syncs (one run of each source at start) until SIGINT/SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app) error { return a.serve(cmd.Context()) })
		},
	}
}

// scimPrefix is where the SCIM API lives: the IdP's "Tenant URL" or
// "SCIM connector base URL" is https://HOST/scim/v2.
const scimPrefix = "/scim/v2"

func (a *app) serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	auth, err := newTokenAuth(a.db, a.cfg)
	if err != nil {
		ln.Close()
		return err
	}
	scim := scimserver.New(a.db, a.engine, auth, a.log.With("component", "scim"), scimPrefix)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle(scimPrefix+"/", http.StripPrefix(scimPrefix, scim))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	a.log.Info("idpsync serving", "listen", ln.Addr().String(), "database", a.cfg.Database, "sources", len(a.sources))

	if _, err := a.engine.EnsureRules(ctx, "config"); err != nil {
		a.log.Error("re-deriving roles for the changed rules failed", "err", err)
	}
	s := newScheduler(a.engine, a.log)
	for _, src := range mustSources(a) {
		if err := s.add(src, a.cfg.Source(src.Name()).Schedule); err != nil {
			return err
		}
	}
	s.start(ctx)
	a.removeSources(ctx)

	select {
	case <-ctx.Done():
	case err := <-httpErr:
		s.stop()
		return fmt.Errorf("http server: %w", err)
	}
	a.log.Info("shutting down")
	s.stop()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func mustSources(a *app) []reconcile.Source {
	srcs, _ := a.pullSources("") // cannot fail without a name
	return srcs
}

// removeSources plans the removal of sources that left the configuration.
func (a *app) removeSources(ctx context.Context) {
	removed, err := a.engine.Removed(ctx)
	if err != nil {
		a.log.Error("listing removed sources", "err", err)
		return
	}
	for _, name := range removed {
		p, err := a.engine.RemoveSource(ctx, name, a.cfg.Rules().MaxDeactivations, reconcile.SyncOptions{Actor: "config"})
		if err != nil {
			a.log.Error("removing source", "source", name, "err", err)
			continue
		}
		a.log.Info("source removed from the configuration", "source", name, "status", p.Status, "deactivate", p.Summary.Deactivate)
	}
}

// scheduler runs each pull source on its schedule, once at start, and never
// two runs of one source at a time.
type scheduler struct {
	engine *reconcile.Engine
	log    *slog.Logger
	cron   *cron.Cron
	jobs   []*job
	wg     sync.WaitGroup
	ctx    context.Context
}

type job struct {
	src     reconcile.Source
	running sync.Mutex
}

func newScheduler(e *reconcile.Engine, log *slog.Logger) *scheduler {
	return &scheduler{engine: e, log: log, cron: cron.New(cron.WithParser(config.ScheduleParser))}
}

func (s *scheduler) add(src reconcile.Source, spec string) error {
	j := &job{src: src}
	s.jobs = append(s.jobs, j)
	if spec == "" {
		return nil // runs at start only
	}
	if _, err := s.cron.AddFunc(spec, func() { s.run(j, "schedule") }); err != nil {
		return fmt.Errorf("source %q: schedule %q: %w", src.Name(), spec, err)
	}
	return nil
}

func (s *scheduler) start(ctx context.Context) {
	s.ctx = ctx
	for _, j := range s.jobs {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.run(j, "start")
		}()
	}
	s.cron.Start()
}

// stop waits for the cron jobs and the start runs to end.
func (s *scheduler) stop() {
	<-s.cron.Stop().Done()
	s.wg.Wait()
}

func (s *scheduler) run(j *job, trigger string) {
	log := s.log.With("source", j.src.Name(), "trigger", trigger)
	if !j.running.TryLock() {
		log.Warn("previous run still going; skipping this one")
		return
	}
	defer j.running.Unlock()
	start := time.Now()
	p, err := s.engine.Sync(s.ctx, j.src, reconcile.SyncOptions{Actor: "schedule", Trigger: trigger})
	switch {
	case err != nil:
		log.Error("sync failed; nothing applied", "err", err, "duration", time.Since(start))
	case p.Status == reconcile.StatusHeld:
		log.Warn("sync held by the safety brake", "plan", p.ID, "reason", p.HeldReason)
	default:
		log.Info("sync done", "status", p.Status, "duration", time.Since(start), "changes", len(p.Changes))
	}
}
