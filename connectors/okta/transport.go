package okta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// pacer is the http.RoundTripper under the SDK. It keeps idpsync within its
// share of the org's rate budget, retries what is worth retrying, and bounds
// each attempt with a timeout.
//
// Okta reports, on every response, the budget of the endpoint's window
// (X-Rate-Limit-Limit), what is left of it (-Remaining) and when it resets
// (-Reset, Unix seconds). Once what is left falls to the reserve, the part of
// the budget left to other integrations, the pacer holds every request until
// the window resets. It counts its own requests in flight against the budget,
// so concurrent requests cannot overshoot it.
//
// Okta keeps a budget per endpoint family; the pacer keeps one for all,
// which is the conservative reading: it may wait when it need not, never the
// other way round.
type pacer struct {
	next     http.RoundTripper
	share    float64
	timeout  time.Duration // per attempt
	maxTries int
	maxWait  time.Duration // longest wait for a window to reset
	backoff  time.Duration // first retry delay; doubles, with jitter

	mu        sync.Mutex
	limit     int           // the window's budget; 0 when not known yet
	remaining int           // what the latest answer said is left of it
	resetAt   time.Time     // when the window resets, on our clock
	reset     int64         // and as Okta said it (X-Rate-Limit-Reset)
	inflight  int           // requests sent and not answered
	changed   chan struct{} // closed and replaced when a request ends

	requests atomic.Int64 // attempts sent
	waited   atomic.Int64 // nanoseconds spent waiting for windows to reset
}

func newPacer(next http.RoundTripper, share float64, timeout time.Duration, maxRetries int, maxWait time.Duration) *pacer {
	return &pacer{
		next:     next,
		share:    share,
		timeout:  timeout,
		maxTries: maxRetries + 1,
		maxWait:  maxWait,
		backoff:  100 * time.Millisecond,
		changed:  make(chan struct{}),
	}
}

// retryable describes an attempt worth retrying.
type retryable struct {
	err  error
	wait time.Duration // at least this long before the next attempt (0: backoff)
}

func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var last retryable
	for try := 1; try <= p.maxTries; try++ {
		if try > 1 {
			d := p.delay(try-1, last.wait)
			if d > p.maxWait {
				return nil, fmt.Errorf("%w (the server asks to wait %v, more than max_retry_wait %v)", last.err, d.Round(time.Second), p.maxWait)
			}
			if err := sleep(ctx, d); err != nil {
				return nil, err
			}
			if req.Body != nil {
				if req.GetBody == nil {
					return nil, last.err
				}
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				req.Body = body
			}
		}
		if err := p.admit(ctx); err != nil {
			return nil, err
		}
		resp, r := p.attempt(req)
		if r.err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		last = r
		if resp != nil && try == p.maxTries {
			// Out of tries: hand the last answer to the SDK, which turns
			// it into an error naming the status.
			return resp, nil
		}
		if resp != nil {
			drain(resp)
		}
	}
	return nil, fmt.Errorf("okta: giving up after %d tries: %w", p.maxTries, last.err)
}

// attempt sends req once, under the per-attempt timeout. A response worth
// retrying comes back with a non-nil retryable.err.
func (p *pacer) attempt(req *http.Request) (*http.Response, retryable) {
	ctx, cancel := context.WithTimeout(req.Context(), p.timeout)
	p.requests.Add(1)
	resp, err := p.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		p.done(nil)
		return nil, retryable{err: err}
	}
	p.done(resp)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		cancelOnClose(resp, cancel)
		return resp, retryable{err: errors.New("okta: 429 Too Many Requests"), wait: p.untilReset(resp)}
	case resp.StatusCode >= 500:
		cancelOnClose(resp, cancel)
		return resp, retryable{err: fmt.Errorf("okta: %s", resp.Status)}
	}
	cancelOnClose(resp, cancel)
	return resp, retryable{}
}

// admit waits until a request fits in idpsync's share of the window, then
// counts it in flight. Requests in flight count against what the last answer
// said was left, so concurrent requests cannot overshoot the share; once the
// window has reset, the whole budget is assumed left until an answer says
// otherwise.
func (p *pacer) admit(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := time.Now()
		left := p.remaining
		if !now.Before(p.resetAt) {
			left = p.limit
		}
		if p.limit == 0 || left-p.inflight > p.reserve() {
			p.inflight++
			p.mu.Unlock()
			return nil
		}
		changed := p.changed
		wait := time.Duration(0)
		if now.Before(p.resetAt) {
			wait = p.resetAt.Sub(now)
		}
		p.mu.Unlock()
		if wait > p.maxWait {
			return fmt.Errorf("okta: rate limit: the window resets in %v, more than max_retry_wait %v", wait.Round(time.Second), p.maxWait)
		}
		start := time.Now()
		err := p.await(ctx, changed, wait)
		p.waited.Add(int64(time.Since(start)))
		if err != nil {
			return err
		}
	}
}

// await waits until the window resets (after d; never when d is 0), an
// answer changes what is known (changed is closed), or ctx is done.
func (p *pacer) await(ctx context.Context, changed <-chan struct{}, d time.Duration) error {
	var reset <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		reset = t.C
	}
	select {
	case <-reset:
	case <-changed:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// reserve is the part of the window's budget left to others. Call with p.mu held.
func (p *pacer) reserve() int {
	return int(math.Ceil((1 - p.share) * float64(p.limit)))
}

// done ends a request in flight, recording the rate-limit headers of its
// answer (nil when there was none), and wakes the requests waiting on it.
func (p *pacer) done(resp *http.Response) {
	if resp != nil {
		p.observe(resp)
	}
	p.mu.Lock()
	p.inflight--
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// observe records the rate-limit headers of a response.
func (p *pacer) observe(resp *http.Response) {
	limit, err1 := strconv.Atoi(resp.Header.Get("X-Rate-Limit-Limit"))
	remaining, err2 := strconv.Atoi(resp.Header.Get("X-Rate-Limit-Remaining"))
	if err1 != nil || err2 != nil || limit <= 0 {
		return
	}
	reset, _ := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	resetAt := time.Now().Add(p.untilReset(resp))
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case reset != 0 && reset == p.reset:
		// Answers to concurrent requests arrive in any order: the lowest
		// count is the latest.
		p.remaining = min(p.remaining, remaining)
	case resetAt.After(p.resetAt):
		p.limit, p.remaining, p.resetAt, p.reset = limit, remaining, resetAt, reset
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		p.remaining = 0
	}
}

// untilReset is how long until the response's rate-limit window resets,
// measured against the server's Date header so that clock skew does not
// matter (rounding up to the second, as both headers are in seconds). 0 when
// the headers do not say.
func (p *pacer) untilReset(resp *http.Response) time.Duration {
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	reset, err := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64)
	if err != nil {
		return 0
	}
	now := time.Now()
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		now = date
	}
	d := time.Unix(reset, 0).Sub(now)
	if d < 0 {
		return 0
	}
	return d
}

// delay is how long to wait before retry n (1-based): exponential backoff
// with jitter, and at least min (a rate-limit reset).
func (p *pacer) delay(n int, least time.Duration) time.Duration {
	d := p.backoff << min(n-1, 10)
	d = d/2 + rand.N(d/2+1) // "equal jitter": between d/2 and d
	if least > 0 {
		// A little jitter after the reset, so that clients do not stampede.
		return least + rand.N(p.backoff+1)
	}
	return d
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cancelOnClose makes closing resp's body release the attempt's context.
func cancelOnClose(resp *http.Response, cancel context.CancelFunc) {
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// drain reads a little of a discarded response so its connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
