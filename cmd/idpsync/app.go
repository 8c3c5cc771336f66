package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"

	"github.com/idpsync/idpsync"
	"github.com/idpsync/idpsync/config"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// app is an opened idpsync: configuration, store, engine and sources.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	store   reconcile.Store
	db      *sqlite.Store // the same store, for what only SQLite offers (tokens, SCIM reads)
	engine  *reconcile.Engine
	sources map[string]reconcile.Source // the enabled pull sources, by name
	paused  map[string]bool             // sources switched off at run time (the API), by name
	level   *slog.LevelVar              // the log level, which a reload may change
	stdout  io.Writer
}

// loadConfig finds and loads the configuration: --config, ./config.toml,
// /etc/idpsync/config.toml, or the built-in default.
func (c *cli) loadConfig() (*config.Config, error) {
	path, err := config.Find(c.configPath)
	if err != nil {
		return nil, err
	}
	var cfg *config.Config
	if path == "" {
		cfg, err = config.Parse(bytes.NewReader(idpsync.DefaultConfig))
	} else {
		cfg, err = config.Load(path)
	}
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// open loads the configuration and opens the store, the engine and the sources.
func (c *cli) open(ctx context.Context) (*app, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	level := new(slog.LevelVar)
	log := newLogger(level, cfg.Log.Level, cfg.Log.Format, c.stderr)
	st, err := sqlite.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, level: level, store: st, db: st, stdout: c.stdout, sources: map[string]reconcile.Source{}}
	if a.paused, err = pausedSources(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	a.engine = reconcile.NewEngine(st, log)
	if err := a.configure(); err != nil {
		st.Close()
		return nil, err
	}
	// The admin-added roles and mappings must still fit the configuration's
	// catalogue (a role may have been removed from config.toml).
	if rules, err := a.engine.Rules(ctx); err != nil || rules.Validate() != nil {
		st.Close()
		if err == nil {
			err = fmt.Errorf("%s with the roles and mappings stored in %s: %w", cfg.Describe(), cfg.Database, rules.Validate())
		}
		return nil, err
	}
	if cfg.Path() == "" {
		log.Warn("no config file found (./config.toml, /etc/idpsync/config.toml): using the built-in default configuration")
	}
	return a, nil
}

// configure hands the configuration's rules and sources to the engine and
// opens the enabled pull sources.
func (a *app) configure() error {
	global := a.cfg.Rules().MaxDeactivations
	brakes := map[string]reconcile.Threshold{}
	sources := map[string]reconcile.Source{}
	for i := range a.cfg.Sources {
		s := &a.cfg.Sources[i]
		brakes[s.Name] = s.Threshold(global)
		if !s.IsEnabled() {
			continue
		}
		src, err := openSource(s, a.log.With("source", s.Name))
		if err != nil {
			return fmt.Errorf("source %q: %w", s.Name, err)
		}
		if src != nil {
			sources[s.Name] = src
		}
	}
	if err := a.engine.Configure(a.cfg.Rules(), brakes); err != nil {
		return err
	}
	a.sources = sources
	return nil
}

// openSource opens a pull source by type; push sources return nil.
func openSource(s *config.Source, log *slog.Logger) (reconcile.Source, error) {
	switch s.Type {
	case "file":
		return s.File.Open(s.Name, log)
	case "scim":
		return nil, nil // pushed, not pulled
	case "okta":
		return s.Okta.Open(s.Name, log)
	case "entra":
		return s.Entra.Open(s.Name, log)
	}
	return nil, fmt.Errorf("source type %q cannot be pulled", s.Type)
}

func (a *app) close() error { return a.store.Close() }

// pullSources returns the enabled pull sources to run: all, or the one named.
func (a *app) pullSources(name string) ([]reconcile.Source, error) {
	if name != "" {
		s := a.cfg.Source(name)
		switch {
		case s == nil:
			return nil, reconcile.Errorf(reconcile.ENOTFOUND, "no source named %q in %s", name, a.cfg.Describe())
		case !s.IsEnabled():
			return nil, reconcile.Errorf(reconcile.EINVALID, "source %q is disabled (enabled = false)", name)
		case a.paused[name]:
			return nil, reconcile.Errorf(reconcile.EINVALID, "source %q is switched off at run time (the API or the admin UI switches it on)", name)
		case a.sources[name] == nil:
			return nil, reconcile.Errorf(reconcile.EINVALID, "source %q (type %s) is not pulled", name, s.Type)
		}
		return []reconcile.Source{a.sources[name]}, nil
	}
	names := make([]string, 0, len(a.sources))
	for n := range a.sources {
		if !a.paused[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]reconcile.Source, len(names))
	for i, n := range names {
		out[i] = a.sources[n]
	}
	return out, nil
}

// withApp runs fn with an opened app and closes it afterwards.
func (c *cli) withApp(ctx context.Context, fn func(*app) error) error {
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	return fn(a)
}

// newLogger returns the logger for [log]; lv holds its level, which a
// reload may change.
func newLogger(lv *slog.LevelVar, level, format string, w io.Writer) *slog.Logger {
	_ = lv.UnmarshalText([]byte(level)) // validated with the config
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// pausedSources reads which sources are switched off at run time.
func pausedSources(ctx context.Context, db *sqlite.Store) (map[string]bool, error) {
	settings, err := db.SourceSettings(ctx)
	if err != nil {
		return nil, err
	}
	paused := map[string]bool{}
	for name, s := range settings {
		if !s.Enabled {
			paused[name] = true
		}
	}
	return paused, nil
}
