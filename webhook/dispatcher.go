package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Position is where a webhook's deliveries stand: the last change-log seq a
// receiver acknowledged, and the plan and part of the batch that ended there
// (so that a plan split into parts keeps its numbering across a restart).
type Position struct {
	Seq    int64
	PlanID int64 // 0 before the first delivery
	Part   int
}

// Positions keeps each webhook's delivery position. store/sqlite implements it.
type Positions interface {
	// WebhookPosition returns the named webhook's position. For a name it
	// has never seen it first stores one at the change log's last seq (a
	// new webhook does not replay history) or, with fromBeginning, at 0.
	WebhookPosition(ctx context.Context, name string, fromBeginning bool) (Position, error)
	// SetWebhookPosition stores a position after a delivery. A position
	// only moves forward: one behind the stored one is ignored.
	SetWebhookPosition(ctx context.Context, name string, p Position) error
}

// Feed is where the batches come from. It is a pair of functions rather
// than an interface because its halves live in two objects: the store's
// change log and the engine's signal.
type Feed struct {
	// Changes reads change-log records with Seq > After, oldest first, at
	// most Limit (reconcile.Store's Changes). Required.
	Changes func(ctx context.Context, f reconcile.ChangeFilter) ([]reconcile.ChangeRecord, error)
	// Signal returns a channel closed when the next plan is applied
	// (reconcile.Engine's ChangeSignal). Nil: poll only.
	Signal func() <-chan struct{}
}

// Defaults of the options.
const (
	DefaultBatchSize    = 500
	DefaultMinBackoff   = time.Second
	DefaultPollInterval = 30 * time.Second
)

// Dispatcher delivers the change log to the configured webhooks.
type Dispatcher struct {
	endpoints []*endpoint
	pos       Positions
	feed      Feed
	log       *slog.Logger
	running   atomic.Bool

	batch      int
	minBackoff time.Duration
	poll       time.Duration
	now        func() time.Time
	onAttempt  func(Attempt)
	client     *http.Client
}

// endpoint is one configured webhook, ready to deliver.
type endpoint struct {
	name       string
	url        string
	secret     []byte
	timeout    time.Duration
	maxBackoff time.Duration
	beginning  bool
	log        *slog.Logger
}

// Option configures a Dispatcher.
type Option func(*Dispatcher)

// WithBatchSize sets the most records one batch holds (default 500).
func WithBatchSize(n int) Option { return func(d *Dispatcher) { d.batch = n } }

// WithMinBackoff sets the wait before the first retry (default 1s); each
// further retry waits twice as long, up to the webhook's max_backoff.
func WithMinBackoff(wait time.Duration) Option { return func(d *Dispatcher) { d.minBackoff = wait } }

// WithPollInterval sets how often the change log is read without a signal
// (default 30s): plans applied by another process (the CLI) signal nothing.
func WithPollInterval(p time.Duration) Option { return func(d *Dispatcher) { d.poll = p } }

// WithClock sets the clock that stamps X-Idpsync-Timestamp (tests).
func WithClock(now func() time.Time) Option { return func(d *Dispatcher) { d.now = now } }

// WithClient sets the HTTP client (default: http.DefaultTransport, which
// honours HTTPS_PROXY). Its redirect policy is replaced: a redirect is a
// failed attempt, never followed, so a POST cannot turn into a GET.
func WithClient(c *http.Client) Option { return func(d *Dispatcher) { d.client = c } }

// WithAttemptHook calls f after every delivery attempt, in the webhook's
// goroutine (metrics, tests): after a failed one before the wait, after a
// delivered one once its position is stored. It must be quick.
func WithAttemptHook(f func(Attempt)) Option { return func(d *Dispatcher) { d.onAttempt = f } }

// Attempt describes one delivery attempt.
type Attempt struct {
	Webhook  string
	Delivery string        // the X-Idpsync-Delivery id
	N        int           // 1 for a batch's first attempt
	Status   int           // the response's status; 0 when none came
	Err      error         // nil when the batch was delivered
	Elapsed  time.Duration // how long the attempt took
	Wait     time.Duration // when it failed: the wait before the next one
}

// New returns a dispatcher for cfgs that reads feed and keeps positions in
// pos. It checks every configuration and reads every secret; any problem is
// EINVALID, naming the webhook and the key. A nil log discards. The store
// is not read and nothing is sent before Run.
func New(cfgs []Config, pos Positions, feed Feed, log *slog.Logger, opts ...Option) (*Dispatcher, error) {
	if pos == nil || feed.Changes == nil {
		return nil, reconcile.Errorf(reconcile.EINVALID, "webhooks: no store or no change feed")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{pos: pos, feed: feed, log: log, batch: DefaultBatchSize, minBackoff: DefaultMinBackoff,
		poll: DefaultPollInterval, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	if d.batch < 1 || d.minBackoff <= 0 || d.poll <= 0 {
		return nil, reconcile.Errorf(reconcile.EINVALID, "webhooks: batch size, backoff and poll interval must be positive")
	}
	client := http.Client{Transport: http.DefaultTransport}
	if d.client != nil {
		client = *d.client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d.client = &client

	var problems []string
	for i, c := range cfgs {
		var errs []error
		if j := slices.IndexFunc(cfgs, func(o Config) bool { return o.Name == c.Name }); j < i && c.Name != "" {
			errs = append(errs, fmt.Errorf("name: duplicate webhook name %q (also webhook[%d])", c.Name, j))
		}
		e, bad := c.open(log)
		errs = append(errs, bad...)
		for _, err := range errs {
			problems = append(problems, fmt.Sprintf("webhook[%d].%v", i, err))
		}
		if len(errs) == 0 {
			d.endpoints = append(d.endpoints, e)
		}
	}
	if len(problems) > 0 {
		return nil, reconcile.Errorf(reconcile.EINVALID, "webhooks: %s", strings.Join(problems, "; "))
	}
	return d, nil
}

// open checks the configuration and reads the secret.
func (c Config) open(log *slog.Logger) (*endpoint, []error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errs
	}
	c = c.withDefaults()
	secret, err := c.secret()
	if err != nil {
		return nil, []error{err}
	}
	timeout, _ := time.ParseDuration(c.Timeout)
	maxBackoff, _ := time.ParseDuration(c.MaxBackoff)
	return &endpoint{name: c.Name, url: c.URL, secret: secret, timeout: timeout, maxBackoff: maxBackoff,
		beginning: c.Start == StartBeginning, log: log.With("webhook", c.Name)}, nil
}

// Init resolves every webhook's delivery position now, in the store: a
// webhook the store has never seen gets its starting position (the end of
// the change log, or 0 with start = "beginning") at this moment, so that it
// gets every plan applied after Init returns. Call it before applying the
// plans a new webhook must not miss (serve calls it before its first run
// and, on a reload, before the reload's plan). Run resolves the positions
// Init did not (it was not called, or failed), when it starts. The error
// names each webhook whose position could not be resolved.
func (d *Dispatcher) Init(ctx context.Context) error {
	var errs []error
	for _, e := range d.endpoints {
		if _, err := d.pos.WebhookPosition(ctx, e.name, e.beginning); err != nil {
			errs = append(errs, fmt.Errorf("webhook %s: read the delivery position: %w", e.name, err))
		}
	}
	return errors.Join(errs...)
}

// Run delivers until ctx ends, one goroutine per webhook, and returns when
// they all have stopped (with no webhooks, when ctx ends). Each webhook
// resumes from its stored position (read again, so a position another
// Dispatcher stored since Init is not delivered twice). A batch in flight
// when ctx ends is not recorded as delivered, and is delivered again by the
// next Run, of this Dispatcher or of a new one on the same store. Call it
// once at a time.
func (d *Dispatcher) Run(ctx context.Context) {
	if !d.running.CompareAndSwap(false, true) {
		panic("webhook: Dispatcher.Run called while it runs")
	}
	defer d.running.Store(false)
	var wg sync.WaitGroup
	for _, e := range d.endpoints {
		wg.Go(func() { d.run(ctx, e) })
	}
	wg.Wait()
	<-ctx.Done()
}

// run is one webhook's loop: deliver everything after its position, then
// wait for a signal (or the poll interval) and do it again.
func (d *Dispatcher) run(ctx context.Context, e *endpoint) {
	var pos Position
	for failures := 0; ; failures++ {
		var err error
		if pos, err = d.pos.WebhookPosition(ctx, e.name, e.beginning); err == nil {
			break
		}
		if !d.pause(ctx, e, failures, "read the delivery position", err) {
			return
		}
	}
	e.log.Debug("webhook started", "position", pos.Seq)
	for failures := 0; ctx.Err() == nil; {
		var signal <-chan struct{}
		if d.feed.Signal != nil {
			signal = d.feed.Signal() // before the read, so no plan falls in between
		}
		b, err := d.next(ctx, e, pos)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if !d.pause(ctx, e, failures, "read the change log", err) {
				return
			}
			failures++
			continue
		case b == nil:
			d.idle(ctx, signal)
			continue
		}
		failures = 0
		a, ok := d.deliver(ctx, e, b)
		if !ok {
			return
		}
		pos = b.position()
		d.save(ctx, e, pos)
		d.attempted(a)
	}
}

// pause logs a store error and waits out the backoff of the failures so far;
// false when ctx ended first.
func (d *Dispatcher) pause(ctx context.Context, e *endpoint, failures int, what string, err error) bool {
	wait := d.backoff(e, failures+1)
	e.log.Warn("webhook: cannot "+what, "err", err, "retry_in", wait)
	return sleep(ctx, wait)
}

// idle waits for the signal, the poll interval or the end of ctx.
func (d *Dispatcher) idle(ctx context.Context, signal <-chan struct{}) {
	t := time.NewTimer(d.poll)
	defer t.Stop()
	select {
	case <-signal:
	case <-t.C:
	case <-ctx.Done():
	}
}

// save stores the position of a delivered batch. It runs even when ctx has
// just ended (the receiver has the batch: not recording it would deliver it
// again). A failure is logged, not retried: the next delivery stores a later
// position, and at worst a restart delivers the batch again.
func (d *Dispatcher) save(ctx context.Context, e *endpoint, pos Position) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.pos.SetWebhookPosition(ctx, e.name, pos); err != nil {
		e.log.Warn("webhook: cannot store the delivery position", "position", pos.Seq, "err", err)
	}
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
