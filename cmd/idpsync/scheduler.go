package main

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/reconcile"
)

// runLock keeps two runs of one source from overlapping, whoever starts
// them: the schedule, the run at start or after a reload, or the API. It
// belongs to the source's name, so it outlives reloads.
type runLock struct {
	mu      sync.Mutex
	running atomic.Bool
}

// startRun counts a run in, unless shutdown has begun.
func (d *daemon) startRun() bool {
	d.runMu.Lock()
	defer d.runMu.Unlock()
	select {
	case <-d.stopping:
		return false
	default:
		d.runs.Add(1)
		return true
	}
}

func (d *daemon) lock(name string) *runLock {
	l, _ := d.locks.LoadOrStore(name, new(runLock))
	return l.(*runLock)
}

// runSource runs one pull of a source now, under its lock: ECONFLICT when a
// run of it is going. The fetch stops at once when the daemon shuts down;
// the apply gets applyGrace (see shutdown).
func (d *daemon) runSource(name, trigger, actor string) (*reconcile.Plan, error) {
	l := d.lock(name)
	if !l.mu.TryLock() {
		return nil, reconcile.Errorf(reconcile.ECONFLICT, "a run of source %q is going; try again when it is done", name)
	}
	defer l.mu.Unlock()
	d.mu.RLock()
	src := d.sources[name]
	d.mu.RUnlock()
	if src == nil {
		return nil, reconcile.Errorf(reconcile.EINVALID, "source %q is not an enabled pull source", name)
	}
	if !d.startRun() {
		return nil, reconcile.Errorf(reconcile.EINVALID, "idpsync is shutting down")
	}
	defer d.runs.Done()
	l.running.Store(true)
	defer l.running.Store(false)

	log := d.log.With("source", name, "trigger", trigger)
	start := time.Now()
	p, err := d.engine.Sync(d.runCtx, stoppable(src, d.fetchCtx, log), reconcile.SyncOptions{Actor: actor, Trigger: trigger})
	switch {
	case err != nil:
		log.Error("sync failed; nothing applied", "err", err, "duration", time.Since(start))
	case p.Status == reconcile.StatusHeld:
		log.Warn("sync held by the safety brake", "plan", p.ID, "reason", p.HeldReason)
	default:
		log.Info("sync done", "status", p.Status, "duration", time.Since(start), "changes", len(p.Changes))
	}
	return p, err
}

// stoppable returns src with its fetch cancelled when stop is, as well as
// when the engine's context is: at shutdown a fetch ends at once while an
// apply already under way is let finish. It keeps src's DeltaSource.
func stoppable(src reconcile.Source, stop context.Context, log *slog.Logger) reconcile.Source {
	s := stoppableSource{Source: src, stop: stop, log: log}
	if ds, ok := src.(reconcile.DeltaSource); ok {
		return stoppableDelta{s, ds}
	}
	return s
}

type stoppableSource struct {
	reconcile.Source
	stop context.Context
	log  *slog.Logger
}

func (s stoppableSource) ctx(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(s.stop, cancel)
	return ctx, func() { unhook(); cancel() }
}

func (s stoppableSource) Fetch(ctx context.Context) (*reconcile.Directory, error) {
	ctx, done := s.ctx(ctx)
	defer done()
	dir, err := s.Source.Fetch(ctx)
	s.fetched(dir, err)
	return dir, err
}

func (s stoppableSource) fetched(dir *reconcile.Directory, err error) {
	if err == nil && dir != nil {
		s.log.Debug("fetched; planning and applying", "users", len(dir.Users), "groups", len(dir.Groups))
	}
}

type stoppableDelta struct {
	stoppableSource
	delta reconcile.DeltaSource
}

func (s stoppableDelta) FetchDelta(ctx context.Context, prev func(context.Context) (*reconcile.Directory, error), cursor string) (*reconcile.Directory, string, error) {
	ctx, done := s.ctx(ctx)
	defer done()
	dir, next, err := s.delta.FetchDelta(ctx, prev, cursor)
	s.fetched(dir, err)
	return dir, next, err
}

// scheduler fires each pull source's schedule through daemon.runSource, on
// one cron for the daemon's life. A reload keeps the entry of a source
// whose schedule is unchanged, so its next run does not move (an @every
// schedule counts from when its entry was added); it replaces the entry of
// a changed schedule and drops that of a source no longer scheduled. A run
// a dropped entry started keeps its source's lock, so runs never overlap.
type scheduler struct {
	d   *daemon
	log *slog.Logger

	cron    *cron.Cron
	mu      sync.Mutex              // guards entries and specs
	entries map[string]cron.EntryID // source → its schedule
	specs   map[string]string       // source → the spec it was scheduled with
	probe   atomic.Bool             // a liveness probe is waiting on cron
}

func newScheduler(d *daemon, log *slog.Logger) *scheduler {
	return &scheduler{d: d, log: log, cron: cron.New(cron.WithParser(config.ScheduleParser)),
		entries: map[string]cron.EntryID{}, specs: map[string]string{}}
}

// apply schedules the pull sources of cfg (sources: the opened ones),
// keeping the entries whose spec is unchanged, and runs at once those in
// runNow (new sources; nil: none). Specs were validated with cfg.
func (s *scheduler) apply(cfg *config.Config, sources map[string]reconcile.Source, runNow []string) {
	s.mu.Lock()
	want := map[string]string{}
	for name := range sources {
		if spec := cfg.Source(name).Schedule; spec != "" {
			want[name] = spec // without one, a source runs at start (and on demand) only
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.entries)) {
		if want[name] != s.specs[name] {
			s.cron.Remove(s.entries[name]) // a run it started finishes under its lock
			delete(s.entries, name)
			delete(s.specs, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := s.entries[name]; ok {
			continue // unchanged: its next run stays
		}
		id, err := s.cron.AddFunc(want[name], func() { s.fire(name) })
		if err != nil {
			s.log.Error("scheduling source", "source", name, "schedule", want[name], "err", err)
			continue
		}
		s.entries[name], s.specs[name] = id, want[name]
	}
	s.mu.Unlock()
	for _, name := range runNow {
		s.runAsync(name, "reload")
	}
}

// start starts the cron and runs every enabled pull source once.
func (s *scheduler) start() {
	s.d.mu.RLock()
	names := slices.Sorted(maps.Keys(s.d.sources))
	s.d.mu.RUnlock()
	s.cron.Start()
	for _, name := range names {
		s.runAsync(name, "start")
	}
}

func (s *scheduler) runAsync(name, trigger string) {
	if s.d.isPaused(name) {
		return
	}
	go s.run(name, trigger) // tracked by the daemon once it runs
}

// fire is a scheduled run: skipped while the source is switched off, or
// while its previous run is still going.
func (s *scheduler) fire(name string) {
	if s.d.isPaused(name) {
		s.log.Debug("source switched off; scheduled run skipped", "source", name)
		return
	}
	s.run(name, "schedule")
}

func (s *scheduler) run(name, trigger string) {
	_, err := s.d.runSource(name, trigger, "schedule")
	if reconcile.ErrorKind(err) == reconcile.ECONFLICT {
		s.log.Warn("previous run still going; skipping this one", "source", name, "trigger", trigger)
	}
}

// stop stops the cron; runs going on are waited for by the daemon.
func (s *scheduler) stop() {
	s.cron.Stop()
}

// next returns when source's schedule fires next, or nil.
func (s *scheduler) next(name string) *time.Time {
	s.mu.Lock()
	id, ok := s.entries[name]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if t := s.cron.Entry(id).Next; !t.IsZero() {
		return &t
	}
	return nil
}

// alive reports whether the cron's loop answers within timeout. At most
// one probe waits on it at a time: one still waiting means it is stuck.
func (s *scheduler) alive(timeout time.Duration) bool {
	if !s.probe.CompareAndSwap(false, true) {
		return false
	}
	done := make(chan struct{})
	go func() {
		defer s.probe.Store(false)
		s.cron.Entries() // answered by the cron's loop while it runs
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}
