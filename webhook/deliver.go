package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Payload is the JSON body of a delivery.
type Payload struct {
	Webhook string                   `json:"webhook"`
	Batch   Batch                    `json:"batch"`
	Changes []reconcile.ChangeRecord `json:"changes"`
}

// Batch says which records a delivery holds: those of plan PlanID with seqs
// FromSeq to ToSeq. A plan of more records than the batch size comes in
// parts numbered from 1; Last is true on its final part (on the only one,
// for most plans).
type Batch struct {
	PlanID  int64 `json:"planId"`
	Part    int   `json:"part"`
	Last    bool  `json:"last"`
	FromSeq int64 `json:"fromSeq"`
	ToSeq   int64 `json:"toSeq"`
}

// batch is a delivery ready to send, the same bytes on every attempt.
type batch struct {
	Batch
	id   string
	body []byte
}

func (b *batch) position() Position {
	return Position{Seq: b.ToSeq, PlanID: b.PlanID, Part: b.Part}
}

// next reads the batch that follows pos, or nil when the log holds nothing
// after it. It reads one record more than a batch holds: a plan is applied
// in one transaction, so its records are all visible or none, and that one
// record tells whether the batch ends its plan.
func (d *Dispatcher) next(ctx context.Context, e *endpoint, pos Position) (*batch, error) {
	recs, err := d.feed.Changes(ctx, reconcile.ChangeFilter{After: pos.Seq, Limit: d.batch + 1})
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	n := 1
	for n < len(recs) && n < d.batch && recs[n].PlanID == recs[0].PlanID {
		n++
	}
	b := &batch{Batch: Batch{PlanID: recs[0].PlanID, Part: 1, FromSeq: recs[0].Seq, ToSeq: recs[n-1].Seq}}
	b.Last = n == len(recs) || recs[n].PlanID != b.PlanID
	if pos.PlanID == b.PlanID {
		b.Part = pos.Part + 1
	}
	b.id = fmt.Sprintf("%s:%d-%d", e.name, b.FromSeq, b.ToSeq)
	b.body, err = json.Marshal(Payload{Webhook: e.name, Batch: b.Batch, Changes: recs[:n]})
	if err != nil {
		return nil, reconcile.Errorf(reconcile.EINTERNAL, "webhook %s: encode batch %s: %w", e.name, b.id, err)
	}
	return b, nil
}

// deliver sends b until a receiver acknowledges it, and returns that
// attempt; false when ctx ended first.
func (d *Dispatcher) deliver(ctx context.Context, e *endpoint, b *batch) (Attempt, bool) {
	for n := 1; ; n++ {
		start := time.Now()
		status, retryAfter, err := d.post(ctx, e, b)
		a := Attempt{Webhook: e.name, Delivery: b.id, N: n, Status: status, Err: err, Elapsed: time.Since(start)}
		if err == nil {
			log := e.log.Debug
			if n > 1 {
				log = e.log.Info
			}
			log("webhook batch delivered", "delivery", b.id, "plan", b.PlanID, "part", b.Part,
				"records", b.ToSeq-b.FromSeq+1, "attempts", n)
			return a, true
		}
		if ctx.Err() != nil {
			return a, false // shutting down: not a receiver's failure
		}
		a.Wait = min(max(d.backoff(e, n), retryAfter), e.maxBackoff)
		d.attempted(a)
		e.log.Warn("webhook delivery failed", "delivery", b.id, "attempt", n, "status", status,
			"err", err, "retry_in", a.Wait)
		if !sleep(ctx, a.Wait) {
			return a, false
		}
	}
}

func (d *Dispatcher) attempted(a Attempt) {
	if d.onAttempt != nil {
		d.onAttempt(a)
	}
}

// post makes one attempt. It returns the status (0 without a response), the
// wait a 429 or 503 asked for in Retry-After, and an error unless 2xx.
func (d *Dispatcher) post(ctx context.Context, e *endpoint, b *batch) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(b.body))
	if err != nil {
		return 0, 0, redactError(err)
	}
	ts := strconv.FormatInt(d.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "idpsync-webhook")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(e.secret, ts, b.body))
	req.Header.Set(HeaderDelivery, b.id)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, 0, redactError(err)
	}
	// Read (a bounded part of) the body so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	var wait time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		wait = retryAfter(resp.Header.Get("Retry-After"), d.now())
	}
	return resp.StatusCode, wait, fmt.Errorf("%w %s", errStatus, resp.Status)
}

// redactError keeps the URL's query string, which may carry a receiver's
// key, out of an error that is logged and handed to the attempt hook:
// net/http's *url.Error quotes the whole URL.
func redactError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		c := *ue
		c.URL = redact(ue.URL)
		return &c
	}
	return err
}

// errStatus is a response that is not 2xx.
var errStatus = errors.New("webhook receiver answered")

// retryAfter reads a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff returns the wait after the n-th failure in a row: the minimum
// backoff doubled n-1 times, capped at the webhook's max_backoff, of which
// the upper half is random (so receivers coming back are not hit by every
// sender at once). It never exceeds max_backoff.
func (d *Dispatcher) backoff(e *endpoint, n int) time.Duration {
	w := d.minBackoff
	for i := 1; i < n && w < e.maxBackoff; i++ {
		w *= 2
	}
	w = min(w, e.maxBackoff)
	return w/2 + rand.N(w/2+1)
}
