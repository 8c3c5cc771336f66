package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idpsync/idpsync/webhook"
)

// TestSignedDelivery: a batch arrives with the documented headers and body,
// its signature verifies, and a wrong secret, a tampered body or timestamp,
// or a stale timestamp do not.
func TestSignedDelivery(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	start(t, e.dispatcher([]webhook.Config{e.config("crm", rc.URL)}))
	e.addUsers(1)

	r := rc.next(t)
	log := e.log()
	if len(log) != 1 {
		t.Fatalf("change log holds %d records, want 1", len(log))
	}
	seq := log[0].Seq
	for key, want := range map[string]string{
		"Content-Type":         "application/json",
		webhook.HeaderDelivery: fmt.Sprintf("crm:%d-%d", seq, seq),
	} {
		if got := r.header.Get(key); got != want {
			t.Errorf("header %s = %q, want %q", key, got, want)
		}
	}
	wantBatch := webhook.Batch{PlanID: log[0].PlanID, Part: 1, Last: true, FromSeq: seq, ToSeq: seq}
	if r.payload.Webhook != "crm" || r.payload.Batch != wantBatch {
		t.Errorf("payload webhook %q batch %+v, want crm %+v", r.payload.Webhook, r.payload.Batch, wantBatch)
	}
	got, _ := json.Marshal(r.payload.Changes)
	want, _ := json.Marshal(log)
	if !bytes.Equal(got, want) {
		t.Errorf("changes\n got %s\nwant %s", got, want)
	}

	sig, ts := r.header.Get(webhook.HeaderSignature), r.header.Get(webhook.HeaderTimestamp)
	if err := webhook.Verify([]byte(secret), sig, ts, r.body, 5*time.Minute); err != nil {
		t.Fatalf("Verify of a delivery: %v", err)
	}
	tampered := bytes.Replace(r.body, []byte(`"crm"`), []byte(`"crn"`), 1)
	n, _ := strconv.ParseInt(ts, 10, 64)
	old := strconv.FormatInt(n-600, 10)
	for _, tc := range []struct {
		name    string
		secret  string
		sig, ts string
		body    []byte
		want    error
	}{
		{"wrong secret", "another-secret-of-16+", sig, ts, r.body, webhook.ErrSignature},
		{"tampered body", secret, sig, ts, tampered, webhook.ErrSignature},
		{"other timestamp", secret, sig, strconv.FormatInt(n+1, 10), r.body, webhook.ErrSignature},
		{"stale timestamp, validly signed", secret, webhook.Sign([]byte(secret), old, r.body), old, r.body, webhook.ErrTimestamp},
		{"no timestamp", secret, sig, "", r.body, webhook.ErrTimestamp},
		{"no scheme", secret, strings.TrimPrefix(sig, "sha256="), ts, r.body, webhook.ErrSignature},
		{"not hex", secret, "sha256=zz", ts, r.body, webhook.ErrSignature},
		{"empty", secret, "", ts, r.body, webhook.ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := webhook.Verify([]byte(tc.secret), tc.sig, tc.ts, tc.body, 5*time.Minute); !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestReceiverFailsTwice: a receiver that answers 500 twice still gets every
// record of the log, in order, no gaps; the only duplicates are the failed
// attempts (the same batch, byte for byte). The secret is never logged.
func TestReceiverFailsTwice(t *testing.T) {
	e := newEnv(t)
	e.addUsers(3) // a backlog: delivered first, as the webhook starts at the beginning
	rc := newReceiver(t, func(n int, _ http.ResponseWriter, _ *http.Request) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	var logs syncBuffer
	cfg := e.config("crm", rc.URL)
	cfg.Start = webhook.StartBeginning
	d, err := webhook.New([]webhook.Config{cfg}, e.store,
		webhook.Feed{Changes: e.store.Changes, Signal: e.engine.ChangeSignal},
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		webhook.WithMinBackoff(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	e.addUsers(2)
	e.sync(5)
	e.addUsers(1)

	reqs := rc.until(t, e.lastSeq())
	e.wantLog(acked(reqs), 0)
	if len(reqs) < 3 || reqs[0].status != 500 || reqs[1].status != 500 {
		t.Fatalf("got %d requests, want two 500s first", len(reqs))
	}
	for i := range 2 {
		if id, want := reqs[i].header.Get(webhook.HeaderDelivery), reqs[2].header.Get(webhook.HeaderDelivery); id != want ||
			!bytes.Equal(reqs[i].body, reqs[2].body) {
			t.Errorf("failed attempt %d was delivery %s, then %s came: want the same batch again", i+1, id, want)
		}
	}
	var ids []string
	for _, r := range reqs[2:] {
		if r.status != http.StatusNoContent {
			t.Errorf("request %s answered %d after the failures", r.header.Get(webhook.HeaderDelivery), r.status)
		}
		ids = append(ids, r.header.Get(webhook.HeaderDelivery))
	}
	if sorted := slices.Sorted(slices.Values(ids)); len(slices.Compact(sorted)) != len(ids) {
		t.Errorf("a delivered batch came again: %v", ids)
	}
	if !strings.Contains(logs.String(), "webhook delivery failed") {
		t.Error("the failures were not logged")
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the secret appears in the log")
	}
}

// TestRestart: a new dispatcher on the same store neither repeats batches
// the receiver acknowledged nor loses any, including one that was in flight
// (sent, never answered) when the previous one stopped.
func TestRestart(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	hang := false // answer nothing until the request is cancelled
	arrived := make(chan struct{}, 1)
	rc := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) int {
		mu.Lock()
		h := hang
		mu.Unlock()
		if h {
			arrived <- struct{}{}
			<-r.Context().Done()
			return 0
		}
		return http.StatusOK
	})
	cfgs := []webhook.Config{e.config("crm", rc.URL)}

	delivered := make(chan webhook.Attempt, 100)
	onAttempt := webhook.WithAttemptHook(func(a webhook.Attempt) {
		if a.Err == nil {
			delivered <- a
		}
	})
	stop := start(t, e.dispatcher(cfgs, onAttempt))
	e.addUsers(2)
	first := rc.until(t, e.lastSeq())
	for range 2 { // their positions are stored
		recv(t, delivered)
	}
	stop()

	// While nothing runs, a plan is applied; the next dispatcher sends it and stops before any answer.
	e.addUsers(1)
	inFlight := e.lastSeq()
	mu.Lock()
	hang = true
	mu.Unlock()
	stop = start(t, e.dispatcher(cfgs))
	recv(t, arrived)
	stop()
	lost := rc.next(t)
	if lost.status != 0 || lost.payload.Batch.ToSeq != inFlight {
		t.Fatalf("the request in flight at the stop: batch %+v answered %d", lost.payload.Batch, lost.status)
	}

	mu.Lock()
	hang = false
	mu.Unlock()
	start(t, e.dispatcher(cfgs))
	e.addUsers(1)
	after := rc.until(t, e.lastSeq())
	if after[0].header.Get(webhook.HeaderDelivery) != lost.header.Get(webhook.HeaderDelivery) || !bytes.Equal(after[0].body, lost.body) {
		t.Errorf("after the restart came %s first, want the unanswered %s again",
			after[0].header.Get(webhook.HeaderDelivery), lost.header.Get(webhook.HeaderDelivery))
	}
	e.wantLog(acked(append(first, after...)), 0)
}

// TestSlowReceiverTimesOut: an attempt that gets no answer within the
// timeout fails and the batch is sent again.
func TestSlowReceiverTimesOut(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(n int, _ http.ResponseWriter, r *http.Request) int {
		if n == 1 {
			<-r.Context().Done() // the client gave up
			return 0
		}
		return http.StatusOK
	})
	cfg := e.config("crm", rc.URL)
	cfg.Timeout = "100ms"
	attempts := make(chan webhook.Attempt, 10)
	start(t, e.dispatcher([]webhook.Config{cfg}, webhook.WithAttemptHook(func(a webhook.Attempt) { attempts <- a })))
	e.addUsers(1)

	reqs := rc.until(t, e.lastSeq())
	if len(reqs) != 2 || reqs[0].status != 0 || !bytes.Equal(reqs[0].body, reqs[1].body) {
		t.Fatalf("got %d requests, want the same batch twice, the first unanswered", len(reqs))
	}
	a := recv(t, attempts)
	if a.N != 1 || a.Status != 0 || !errors.Is(a.Err, context.DeadlineExceeded) || a.Elapsed < 100*time.Millisecond {
		t.Errorf("first attempt %+v, want a timeout after 100ms", a)
	}
	if a := recv(t, attempts); a.N != 2 || a.Err != nil || a.Status != http.StatusOK {
		t.Errorf("second attempt %+v, want delivered", a)
	}
}

// TestBackoffCapped: waits between retries double from the minimum up to
// max_backoff, with jitter, and never exceed it.
func TestBackoffCapped(t *testing.T) {
	e := newEnv(t)
	const failures = 8
	rc := newReceiver(t, func(n int, _ http.ResponseWriter, _ *http.Request) int {
		if n <= failures {
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	cfg := e.config("crm", rc.URL)
	cfg.MaxBackoff = "8ms"
	var waits []time.Duration
	done := make(chan struct{})
	start(t, e.dispatcher([]webhook.Config{cfg}, webhook.WithAttemptHook(func(a webhook.Attempt) {
		if a.Err == nil {
			close(done)
			return
		}
		waits = append(waits, a.Wait)
	})))
	e.addUsers(1)
	recv(t, done)

	if len(waits) != failures {
		t.Fatalf("%d failed attempts, want %d", len(waits), failures)
	}
	for i, w := range waits {
		// The n-th wait is min(1ms·2^(n-1), 8ms), its upper half random.
		ceil := min(time.Millisecond<<i, 8*time.Millisecond)
		if w < ceil/2 || w > ceil {
			t.Errorf("wait %d = %v, want in [%v, %v]", i+1, w, ceil/2, ceil)
		}
	}
}

// TestRetryAfter: a 429 or 503 with Retry-After waits that long, capped at
// max_backoff; without it, the backoff's first step.
func TestRetryAfter(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) int {
		switch n {
		case 1:
			return http.StatusTooManyRequests // no Retry-After
		case 2:
			w.Header().Set("Retry-After", "120")
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	cfg := e.config("crm", rc.URL)
	cfg.MaxBackoff = "50ms"
	attempts := make(chan webhook.Attempt, 10)
	start(t, e.dispatcher([]webhook.Config{cfg}, webhook.WithAttemptHook(func(a webhook.Attempt) { attempts <- a })))
	e.addUsers(1)

	if a := recv(t, attempts); a.Status != http.StatusTooManyRequests || a.Wait > time.Millisecond {
		t.Errorf("after a 429 without Retry-After: %+v, want a wait of at most 1ms", a)
	}
	if a := recv(t, attempts); a.Status != http.StatusServiceUnavailable || a.Wait != 50*time.Millisecond {
		t.Errorf("after a 503 with Retry-After: 120: %+v, want a wait of 50ms (max_backoff)", a)
	}
	if a := recv(t, attempts); a.Err != nil {
		t.Errorf("third attempt %+v, want delivered", a)
	}
}

// TestSplitPlan: a plan of more records than a batch holds comes in parts
// numbered from 1, the last one marked, and a restart in the middle of it
// resumes with the next part's number.
func TestSplitPlan(t *testing.T) {
	e := newEnv(t)
	p := e.sync(10)
	e.addUsers(1)
	log := e.log()
	n := 0
	for _, r := range log {
		if r.PlanID == p.ID {
			n++
		}
	}
	if n <= 8 {
		t.Fatalf("the sync logged %d records, want more than two batches of 4", n)
	}

	var mu sync.Mutex
	hang := true // the second request gets no answer until it is cancelled
	arrived := make(chan struct{}, 1)
	rc := newReceiver(t, func(i int, _ http.ResponseWriter, r *http.Request) int {
		mu.Lock()
		h := hang && i == 2
		mu.Unlock()
		if h {
			arrived <- struct{}{}
			<-r.Context().Done()
			return 0
		}
		return http.StatusOK
	})
	cfgs := []webhook.Config{e.config("crm", rc.URL)}
	stop := start(t, e.dispatcher(cfgs, webhook.WithBatchSize(4)))
	recv(t, arrived)
	stop()
	mu.Lock()
	hang = false
	mu.Unlock()
	start(t, e.dispatcher(cfgs, webhook.WithBatchSize(4)))
	reqs := rc.until(t, e.lastSeq())

	var got []webhook.Batch
	for _, r := range reqs {
		b := r.payload.Batch
		if r.status == 0 {
			continue // the attempt cut short by the stop
		}
		if len(r.payload.Changes) != int(b.ToSeq-b.FromSeq+1) || r.payload.Changes[0].Seq != b.FromSeq {
			t.Errorf("batch %+v holds records %v", b, seqs(r.payload.Changes))
		}
		got = append(got, b)
	}
	first := log[0].Seq
	want := []webhook.Batch{
		{PlanID: p.ID, Part: 1, FromSeq: first, ToSeq: first + 3},
		{PlanID: p.ID, Part: 2, FromSeq: first + 4, ToSeq: first + 7},
	}
	for from := first + 8; from < first+int64(n); from += 4 {
		want = append(want, webhook.Batch{PlanID: p.ID, Part: len(want) + 1, FromSeq: from, ToSeq: min(from+3, first+int64(n)-1)})
	}
	want[len(want)-1].Last = true
	last := log[len(log)-1]
	want = append(want, webhook.Batch{PlanID: last.PlanID, Part: 1, Last: true, FromSeq: last.Seq, ToSeq: last.Seq})
	if !slices.Equal(got, want) {
		t.Errorf("batches\n got %+v\nwant %+v", got, want)
	}
	e.wantLog(acked(reqs), 0)
}

// TestStart: a webhook the store has never seen starts at the end of the
// log unless start = "beginning"; a webhook that is down holds up no other.
func TestStart(t *testing.T) {
	e := newEnv(t)
	e.addUsers(2) // history
	history := e.lastSeq()
	fromEnd, fromBeginning := newReceiver(t, nil), newReceiver(t, nil)
	down := newReceiver(t, func(int, http.ResponseWriter, *http.Request) int { return http.StatusInternalServerError })
	cfgs := []webhook.Config{e.config("new", fromEnd.URL), e.config("replay", fromBeginning.URL), e.config("down", down.URL)}
	cfgs[0].Start = "" // the default: end
	pos := positions{Positions: e.store, read: make(chan string, len(cfgs))}
	d, err := webhook.New(cfgs, pos, webhook.Feed{Changes: e.store.Changes, Signal: e.engine.ChangeSignal}, nil,
		webhook.WithMinBackoff(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	for range cfgs { // every webhook has its position
		recv(t, pos.read)
	}
	e.addUsers(1)

	if r := fromEnd.next(t); r.payload.Batch.FromSeq != history+1 {
		t.Errorf("a new webhook's first batch is %+v, want the first change after the %d already logged", r.payload.Batch, history)
	}
	e.wantLog(acked(fromBeginning.until(t, e.lastSeq())), 0)
}

// positions reports each webhook whose position was read.
type positions struct {
	webhook.Positions
	read chan string
}

func (p positions) WebhookPosition(ctx context.Context, name string, fromBeginning bool) (webhook.Position, error) {
	pos, err := p.Positions.WebhookPosition(ctx, name, fromBeginning)
	p.read <- name
	return pos, err
}

// TestInit: Init stores a new webhook's starting position (the end of the
// log) at once, so the plans applied between Init and Run are delivered;
// a position that cannot be read is an error naming the webhook.
func TestInit(t *testing.T) {
	e := newEnv(t)
	e.addUsers(2) // history, not delivered to a webhook that starts at the end
	history := e.lastSeq()
	rc := newReceiver(t, nil)
	cfg := e.config("crm", rc.URL)
	cfg.Start = "" // the default: end
	d := e.dispatcher([]webhook.Config{cfg})
	if err := d.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.addUsers(1) // applied after Init, before Run: the webhook must get it
	start(t, d)
	if r := rc.next(t); r.payload.Batch.FromSeq != history+1 {
		t.Errorf("first batch %+v, want the first change after the %d before Init", r.payload.Batch, history)
	}

	broken := brokenPositions{Positions: e.store}
	bad, err := webhook.New([]webhook.Config{e.config("erp", rc.URL)}, broken, webhook.Feed{Changes: e.store.Changes}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Init(t.Context()); err == nil || !strings.Contains(err.Error(), "webhook erp") || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("Init with a store that fails: %v, want an error naming the webhook and the cause", err)
	}
}

// brokenPositions cannot read any position.
type brokenPositions struct{ webhook.Positions }

func (brokenPositions) WebhookPosition(context.Context, string, bool) (webhook.Position, error) {
	return webhook.Position{}, errors.New("database is locked")
}

// TestFailureLogRedactsURL: a delivery that fails on the network is logged,
// and handed to the attempt hook, without the URL's query string, which may
// carry the receiver's key.
func TestFailureLogRedactsURL(t *testing.T) {
	e := newEnv(t)
	gone := newReceiver(t, nil)
	gone.Close() // connection refused: net/http's error quotes the URL
	url := gone.URL + "/hooks/idpsync?key=s3cret-in-query#frag"
	var logs syncBuffer
	attempts := make(chan webhook.Attempt, 10)
	d, err := webhook.New([]webhook.Config{e.config("crm", url)}, e.store, webhook.Feed{Changes: e.store.Changes, Signal: e.engine.ChangeSignal},
		slog.New(slog.NewTextHandler(&logs, nil)), webhook.WithMinBackoff(time.Millisecond),
		webhook.WithAttemptHook(func(a webhook.Attempt) {
			select {
			case attempts <- a:
			default: // the test has seen one: the retries go on until stop
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	e.addUsers(1)
	stop := start(t, d)
	a := recv(t, attempts)
	stop()
	if a.Err == nil {
		t.Fatal("an attempt on a closed port did not fail")
	}
	want := gone.URL + "/hooks/idpsync"
	for what, s := range map[string]string{"the attempt's error": a.Err.Error(), "the log": logs.String()} {
		if strings.Contains(s, "s3cret") || strings.Contains(s, "frag") {
			t.Errorf("%s holds the URL's query string: %s", what, s)
		}
		if !strings.Contains(s, want) {
			t.Errorf("%s does not name %s: %s", what, want, s)
		}
	}
}
