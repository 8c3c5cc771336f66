package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"sync"
	"time"
)

// Engine plans and applies changes. It is the store's only writer and
// applies one plan at a time; fetching from sources happens outside its lock.
type Engine struct {
	store Store
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex // held from planning to applying
	cfgMu   sync.RWMutex
	base    Rules                // the configuration's rules
	sources map[string]Threshold // configured sources and their safety brakes

	sigMu sync.Mutex
	sig   chan struct{} // closed at the next applied plan; see ChangeSignal
	hooks Hooks
}

// EngineOption configures an Engine.
type EngineOption func(*Engine)

// WithClock sets the engine's clock (tests).
func WithClock(now func() time.Time) EngineOption { return func(e *Engine) { e.now = now } }

// NewEngine returns an engine writing to store. Configure must be called
// before it plans anything.
func NewEngine(store Store, log *slog.Logger, opts ...EngineOption) *Engine {
	e := &Engine{store: store, log: log, now: time.Now, sources: map[string]Threshold{}}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Configure sets the configuration's rules and its sources with their safety
// brakes. It is called at start and on every reload.
func (e *Engine) Configure(rules Rules, sources map[string]Threshold) error {
	if err := rules.Validate(); err != nil {
		return err
	}
	e.cfgMu.Lock()
	defer e.cfgMu.Unlock()
	e.base, e.sources = rules, maps.Clone(sources)
	return nil
}

func (e *Engine) config() (Rules, map[string]Threshold) {
	e.cfgMu.RLock()
	defer e.cfgMu.RUnlock()
	return e.base, e.sources
}

// Rules returns the effective rules: the configuration's, then the roles and
// mappings admins added.
func (e *Engine) Rules(ctx context.Context) (Rules, error) {
	admin, err := e.store.AdminRules(ctx)
	if err != nil {
		return Rules{}, err
	}
	base, _ := e.config()
	return base.Merge(admin), nil
}

// input loads what Diff needs: every app user and every configured source's
// state. The loads run concurrently (the store serves readers in parallel).
func (e *Engine) input(ctx context.Context, rules *Rules) (Input, error) {
	_, sources := e.config()
	in := Input{Rules: rules, States: make(map[string]*Directory, len(sources))}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(sources)+1)
	wg.Go(func() { in.Users, errs[0] = e.store.Users(ctx, UserFilter{}) })
	i := 0
	for name := range sources {
		i++
		i := i
		wg.Go(func() {
			d, err := e.store.Directory(ctx, name)
			mu.Lock()
			in.States[name], errs[i] = d, err
			mu.Unlock()
		})
	}
	wg.Wait()
	return in, errors.Join(errs...)
}

// SyncOptions tell Sync what to do with the plan.
type SyncOptions struct {
	Actor       string // recorded with the plan and its changes
	Trigger     string // recorded with the run: "start", "schedule", "cli", "api"
	DryRun      bool   // plan and save the plan as a dry run; apply nothing
	ApproveHeld bool   // apply even when the safety brake holds the plan
}

// Sync runs one pull of src: fetch, plan, and apply unless the plan is a dry
// run or held by the safety brake (then it is saved for an admin). A fetch
// that fails applies nothing. The run is recorded (dry runs excepted). The
// plan's Status tells what happened: applied, held, dry-run, or "" when there
// was nothing to do.
func (e *Engine) Sync(ctx context.Context, src Source, opt SyncOptions) (*Plan, error) {
	name := src.Name()
	_, sources := e.config()
	brake, ok := sources[name]
	if !ok {
		return nil, Errorf(ENOTFOUND, "source %q is not configured", name)
	}
	run := &Run{Source: name, Trigger: opt.Trigger, Started: e.now()}
	p, err := e.sync(ctx, src, brake, opt)
	if opt.DryRun {
		return p, err
	}
	run.Finished = e.now()
	switch {
	case err != nil:
		run.Outcome, run.Error = RunFailed, err.Error()
	case p.Status == StatusHeld:
		run.Outcome = RunHeld
	case p.Status == StatusApplied:
		run.Outcome = RunApplied
	default:
		run.Outcome = RunNoChanges
	}
	if p != nil {
		run.PlanID, run.Summary = p.ID, p.Summary
	}
	// Record the run even when ctx was cancelled mid-run.
	if rerr := e.store.RecordRun(context.WithoutCancel(ctx), run); rerr != nil && err == nil {
		err = rerr
	} else if rerr == nil {
		e.ran(run)
	}
	return p, err
}

func (e *Engine) sync(ctx context.Context, src Source, brake Threshold, opt SyncOptions) (*Plan, error) {
	name := src.Name()
	dir, cursor, stored, err := e.fetch(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("source %q: fetch failed, nothing applied: %w", name, err)
	}
	if dir == nil && stored != "" && cursor == stored {
		// A delta read that found nothing changed: the stored state and the
		// app state derived from it stand as they are.
		return &Plan{Kind: KindSync, Source: name, Actor: opt.Actor}, nil
	}
	if dir == nil {
		return nil, Errorf(EINTERNAL, "source %q: fetch returned no directory; nothing applied", name)
	}
	if err := dir.Validate(); err != nil {
		return nil, fmt.Errorf("source %q: %w; nothing applied", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rules, err := e.Rules(ctx)
	if err != nil {
		return nil, err
	}
	in, err := e.input(ctx, &rules)
	if err != nil {
		return nil, err
	}
	in.Source, in.Fetched, in.Brake = name, dir, brake
	p := e.finish(Diff(in), opt.Actor, &rules)
	p.Cursor = cursor // stored with the state read up to it, if the plan is applied
	for _, c := range p.Changes {
		if c.Kind == ChangeConflict || c.Kind == ChangeAdopt {
			e.log.Warn("userName collision", "source", name, "user", c.User, "kind", c.Kind, "reason", c.Reason)
		}
	}
	switch {
	case opt.DryRun && p.Empty() && p.Directory == nil:
		p.Status = StatusDryRun // nothing worth keeping
		return p, nil
	case opt.DryRun:
		p.Status = StatusDryRun
		return p, e.save(ctx, p)
	case p.Status == StatusHeld && !opt.ApproveHeld:
		e.log.Warn("plan held by the safety brake", "source", name, "reason", p.HeldReason)
		return p, e.save(ctx, p)
	case p.Empty() && p.Directory == nil:
		p.Status = ""
		if cursor != "" && cursor != stored {
			// Nothing changed, but the next read resumes elsewhere (a full
			// read renewed the delta links).
			return p, e.store.SetCursor(ctx, name, cursor)
		}
		return p, nil
	}
	return p, e.apply(ctx, p)
}

// fetch reads a source: incrementally from its stored state and cursor when
// it is a DeltaSource, else in full. It returns the directory, the cursor to
// resume from next and the cursor stored before; both are "" for a plain
// Source. The stored state is read only if the source asks for it.
func (e *Engine) fetch(ctx context.Context, src Source) (dir *Directory, cursor, stored string, err error) {
	ds, ok := src.(DeltaSource)
	if !ok {
		dir, err := src.Fetch(ctx)
		return dir, "", "", err
	}
	if stored, err = e.store.Cursor(ctx, src.Name()); err != nil {
		return nil, "", "", err
	}
	prev := func(ctx context.Context) (*Directory, error) { return e.store.Directory(ctx, src.Name()) }
	dir, cursor, err = ds.FetchDelta(ctx, prev, stored)
	return dir, cursor, stored, err
}

// finish stamps a computed plan.
func (e *Engine) finish(p *Plan, actor string, rules *Rules) *Plan {
	p.Actor, p.CreatedAt = actor, e.now()
	switch p.Kind {
	case KindSync, KindRules, KindRemove: // plans that re-derive every user
		p.RulesHash = rules.Hash()
	}
	return p
}

// save stores a dry-run or held plan. A source keeps one pending plan of each
// status: the new one supersedes (discards) the older ones.
func (e *Engine) save(ctx context.Context, p *Plan) error {
	old, err := e.store.Plans(ctx, PlanFilter{Status: p.Status, Source: p.Source})
	if err != nil {
		return err
	}
	for _, o := range old {
		if o.Kind != p.Kind {
			continue
		}
		// A source held on every run would otherwise store the same plan
		// again each time: keep the one already waiting when nothing changed.
		if o.Summary == p.Summary && o.HeldReason == p.HeldReason {
			same, err := e.samePlan(ctx, o.ID, p)
			if err != nil {
				return err
			}
			if same {
				p.ID, p.CreatedAt = o.ID, o.CreatedAt
				return nil
			}
		}
		if err := e.store.DiscardPlan(ctx, o.ID, "superseded"); err != nil {
			return err
		}
	}
	return e.store.SavePlan(ctx, p)
}

// samePlan reports whether the saved plan id holds the same changes as p.
func (e *Engine) samePlan(ctx context.Context, id int64, p *Plan) (bool, error) {
	o, err := e.store.Plan(ctx, id)
	if err != nil {
		return false, err
	}
	a, err := json.Marshal(o.Changes)
	if err != nil {
		return false, err
	}
	b, err := json.Marshal(p.Changes)
	if err != nil {
		return false, err
	}
	return bytes.Equal(a, b) && sameDirectory(o.Directory, p.Directory), nil
}

func (e *Engine) apply(ctx context.Context, p *Plan) error {
	if err := e.store.Apply(ctx, p); err != nil {
		return err
	}
	e.applied(p)
	if p.Kind == KindSync || p.Kind == KindRemove {
		// Plans still pending for the source describe a state that is gone.
		// The plan is applied: this bookkeeping must not fail it, nor stop
		// because the run's context ended right after the commit (a
		// shutdown). Approve refuses such a plan anyway (see current).
		if err := e.discardPending(context.WithoutCancel(ctx), p); err != nil {
			e.log.Warn("discarding the plans the applied plan supersedes", "plan", p.ID, "source", p.Source, "err", err)
		}
	}
	e.log.Info("plan applied", "plan", p.ID, "kind", p.Kind, "source", p.Source, "actor", p.Actor,
		"create", p.Summary.Create, "update", p.Summary.Update, "deactivate", p.Summary.Deactivate,
		"reactivate", p.Summary.Reactivate, "grant", p.Summary.Grant, "revoke", p.Summary.Revoke,
		"adopt", p.Summary.Adopt, "conflict", p.Summary.Conflict)
	return nil
}

// discardPending discards the held and dry-run plans of p's source.
func (e *Engine) discardPending(ctx context.Context, p *Plan) error {
	for _, status := range []string{StatusHeld, StatusDryRun} {
		pending, err := e.store.Plans(ctx, PlanFilter{Status: status, Source: p.Source})
		if err != nil {
			return err
		}
		for _, o := range pending {
			if err := e.store.DiscardPlan(ctx, o.ID, fmt.Sprintf("superseded by plan %d", p.ID)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Apply applies a plan computed by PlanRules, PlanRemoved or a dry-run Sync
// and not saved since. Held plans go through Approve.
func (e *Engine) Apply(ctx context.Context, p *Plan) error {
	if p.Status == StatusHeld {
		return Errorf(EHELD, "plan is held: %s; approve it to apply it", p.HeldReason)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p.base != "" {
		// Two admins editing at once: the second edit was planned on rules
		// the first one replaced.
		current, err := e.Rules(ctx)
		if err != nil {
			return err
		}
		if current.Hash() != p.base {
			return Errorf(ECONFLICT, "the roles or mappings changed while this edit was planned; plan it again")
		}
	}
	return e.apply(ctx, p)
}

// Approve applies a saved held or dry-run plan. It is refused (ECONFLICT:
// plan again) when the plan is out of date: another plan was applied to its
// source since, the rules changed, the source's place in the configuration
// changed, or anything it would change has changed.
func (e *Engine) Approve(ctx context.Context, id int64, actor string) (*Plan, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, err := e.store.Plan(ctx, id)
	if err != nil {
		return nil, err
	}
	if p.Status != StatusHeld && p.Status != StatusDryRun {
		return nil, Errorf(EINVALID, "plan %d is %s; only held and dry-run plans can be approved", id, p.Status)
	}
	if err := e.current(ctx, p); err != nil {
		return nil, err
	}
	p.Actor = actor
	return p, e.apply(ctx, p)
}

// current checks that a saved plan still describes the present.
func (e *Engine) current(ctx context.Context, p *Plan) error {
	stale := func(format string, args ...any) error {
		return Errorf(ECONFLICT, "plan %d is out of date: %s; plan again", p.ID, fmt.Sprintf(format, args...))
	}
	_, sources := e.config()
	switch {
	case p.Kind == KindSync && !hasKey(sources, p.Source):
		return stale("source %q is no longer configured", p.Source)
	case p.Kind == KindRemove && hasKey(sources, p.Source):
		return stale("source %q is configured again", p.Source)
	}
	if p.RulesHash != "" {
		rules, err := e.Rules(ctx)
		if err != nil {
			return err
		}
		if rules.Hash() != p.RulesHash {
			return stale("the roles or mappings changed since it was made")
		}
	}
	newer, err := e.store.Plans(ctx, PlanFilter{Status: StatusApplied, Source: p.Source, Limit: 1})
	if err != nil {
		return err
	}
	if len(newer) > 0 && newer[0].ID > p.ID {
		return stale("plan %d was applied to source %q since", newer[0].ID, p.Source)
	}
	return nil
}

// Discard throws away a held or dry-run plan.
func (e *Engine) Discard(ctx context.Context, id int64, actor string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.store.DiscardPlan(ctx, id, actor)
}

// PlanRules plans the effect of replacing the admin-defined roles and
// mappings with admin: every user's roles re-derived from stored source
// state, nothing fetched. Apply the returned plan to make it so.
func (e *Engine) PlanRules(ctx context.Context, admin *AdminRules, actor string) (*Plan, error) {
	base, _ := e.config()
	rules := base.Merge(admin)
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	in, err := e.input(ctx, &rules)
	if err != nil {
		return nil, err
	}
	p := e.finish(Diff(in), actor, &rules)
	p.Admin = admin
	current, err := e.Rules(ctx)
	if err != nil {
		return nil, err
	}
	p.base = current.Hash()
	return p, nil
}

// EnsureRules re-derives every user's roles when the effective rules differ
// from those last applied (config.toml changed), and applies the result.
// It returns the applied plan, or nil when the rules had not changed.
func (e *Engine) EnsureRules(ctx context.Context, actor string) (*Plan, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rules, err := e.Rules(ctx)
	if err != nil {
		return nil, err
	}
	applied, err := e.store.RulesHash(ctx)
	if err != nil || applied == rules.Hash() {
		return nil, err
	}
	in, err := e.input(ctx, &rules)
	if err != nil {
		return nil, err
	}
	p := e.finish(Diff(in), actor, &rules)
	if p.Empty() {
		return nil, e.store.SetRulesHash(ctx, p.RulesHash)
	}
	return p, e.apply(ctx, p)
}

// Removed lists sources that own users or keep state but are no longer configured.
func (e *Engine) Removed(ctx context.Context) ([]string, error) {
	_, sources := e.config()
	all, err := e.store.Sources(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range all {
		if _, ok := sources[s]; !ok && s != Manual {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out, nil
}

// RemoveSource deactivates the users of a source that left the configuration
// and drops its state, subject to the safety brake: a held plan is saved for
// an admin instead (unless one is already waiting). DryRun only plans.
func (e *Engine) RemoveSource(ctx context.Context, source string, brake Threshold, opt SyncOptions) (*Plan, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, sources := e.config(); hasKey(sources, source) {
		return nil, Errorf(EINVALID, "source %q is still configured", source)
	}
	rules, err := e.Rules(ctx)
	if err != nil {
		return nil, err
	}
	in, err := e.input(ctx, &rules)
	if err != nil {
		return nil, err
	}
	in.Source, in.Remove, in.Brake = source, true, brake
	p := e.finish(Diff(in), opt.Actor, &rules)
	switch {
	case opt.DryRun:
		p.Status = StatusDryRun
		return p, e.save(ctx, p)
	case p.Status == StatusHeld && !opt.ApproveHeld:
		waiting, err := e.store.Plans(ctx, PlanFilter{Status: StatusHeld, Source: source})
		if err != nil || len(waiting) > 0 {
			return p, err
		}
		e.log.Warn("removal of source held by the safety brake", "source", source, "reason", p.HeldReason)
		return p, e.store.SavePlan(ctx, p)
	}
	return p, e.apply(ctx, p)
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
