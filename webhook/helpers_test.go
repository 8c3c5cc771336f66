package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
	"github.com/idpsync/idpsync/webhook"
)

const secret = "0123456789abcdef-test-secret"

// env is a real store and engine; plans are applied through the engine.
type env struct {
	t      *testing.T
	path   string
	store  *sqlite.Store
	engine *reconcile.Engine
	secret string // a secret_file holding secret
	users  int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, path: filepath.Join(dir, "idpsync.db"), secret: filepath.Join(dir, "secret")}
	if err := os.WriteFile(e.secret, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), e.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	e.engine = reconcile.NewEngine(st, slog.New(slog.DiscardHandler))
	rules := reconcile.Rules{
		Roles:            []reconcile.Role{{Name: "Admin"}, {Name: "Viewer"}},
		DefaultRole:      "Viewer",
		OnConflict:       reconcile.Adopt,
		Mappings:         []reconcile.Mapping{{Group: "admins", Role: "Admin"}},
		MaxDeactivations: reconcile.DefaultThreshold,
	}
	if err := e.engine.Configure(rules, map[string]reconcile.Threshold{"hr": reconcile.DefaultThreshold}); err != nil {
		t.Fatal(err)
	}
	return e
}

// addUsers applies one plan per user (a manual create: one record each).
func (e *env) addUsers(n int) {
	e.t.Helper()
	for range n {
		e.users++
		u := reconcile.User{UserName: fmt.Sprintf("user%d@example.com", e.users)}
		if _, err := e.engine.AddManualUser(context.Background(), u, nil, "test"); err != nil {
			e.t.Fatal(err)
		}
	}
}

// sync applies one pull of n new users in a group: one plan of many records.
func (e *env) sync(n int) *reconcile.Plan {
	e.t.Helper()
	d := &reconcile.Directory{Groups: []reconcile.Group{{ID: "g1", DisplayName: "admins"}}}
	for i := range n {
		id := fmt.Sprintf("hr%d", i)
		d.Users = append(d.Users, reconcile.User{ID: id, UserName: id + "@example.com", Active: true})
		d.Groups[0].Members = append(d.Groups[0].Members, id)
	}
	p, err := e.engine.Sync(context.Background(), staticSource{d}, reconcile.SyncOptions{Actor: "test"})
	if err != nil || p.Status != reconcile.StatusApplied {
		e.t.Fatalf("Sync: %v, %v", p, err)
	}
	return p
}

type staticSource struct{ d *reconcile.Directory }

func (staticSource) Name() string                                          { return "hr" }
func (s staticSource) Fetch(context.Context) (*reconcile.Directory, error) { return s.d, nil }

// log returns the whole change log.
func (e *env) log() []reconcile.ChangeRecord {
	e.t.Helper()
	recs, err := e.store.Changes(context.Background(), reconcile.ChangeFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

func (e *env) lastSeq() int64 {
	recs := e.log()
	if len(recs) == 0 {
		return 0
	}
	return recs[len(recs)-1].Seq
}

// config is a webhook with small backoffs that delivers the whole log (so
// that plans applied while it starts are not a race).
func (e *env) config(name, url string) webhook.Config {
	return webhook.Config{Name: name, URL: url, SecretFile: e.secret, MaxBackoff: "20ms", Start: webhook.StartBeginning}
}

// dispatcher makes a dispatcher on the env's store and engine, with small backoffs.
func (e *env) dispatcher(cfgs []webhook.Config, opts ...webhook.Option) *webhook.Dispatcher {
	e.t.Helper()
	opts = append([]webhook.Option{webhook.WithMinBackoff(time.Millisecond)}, opts...)
	d, err := webhook.New(cfgs, e.store, webhook.Feed{Changes: e.store.Changes, Signal: e.engine.ChangeSignal},
		slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// start runs d until the returned stop is called (or the test ends); stop
// returns once Run has.
func start(t *testing.T, d *webhook.Dispatcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	stop = sync.OnceFunc(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
	t.Cleanup(stop)
	return stop
}

// request is one request a receiver got.
type request struct {
	header  http.Header
	body    []byte
	payload webhook.Payload
	status  int // what the receiver answered; 0 when it gave no answer
}

// receiver is a webhook endpoint. answer decides the status of the n-th
// request (from 1), and may set headers; it may block on the request's
// context and return 0 (no answer). Every request is reported on got.
type receiver struct {
	*httptest.Server
	got chan request
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request) int) *receiver {
	t.Helper()
	rc := &receiver{got: make(chan request, 1000)}
	var mu sync.Mutex
	n := 0
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{header: r.Header.Clone(), body: body}
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req.payload); err != nil {
			t.Errorf("request body: %v", err)
		}
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		req.status = http.StatusOK
		if answer != nil {
			req.status = answer(i, w, r)
		}
		if req.status != 0 {
			w.WriteHeader(req.status)
		}
		rc.got <- req
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next returns the next request, failing the test if none comes in 10s.
func (rc *receiver) next(t *testing.T) request {
	t.Helper()
	return recv(t, rc.got)
}

// recv returns the next value from ch, failing the test if none comes in 10s.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("nothing on %T within 10s", ch)
		panic("unreachable")
	}
}

// until collects requests until one acknowledged batch ends at seq.
func (rc *receiver) until(t *testing.T, seq int64) []request {
	t.Helper()
	var out []request
	for {
		r := rc.next(t)
		out = append(out, r)
		if r.status/100 == 2 && r.payload.Batch.ToSeq == seq {
			return out
		}
	}
}

// acked returns the records of the acknowledged requests, in order.
func acked(reqs []request) []reconcile.ChangeRecord {
	var out []reconcile.ChangeRecord
	for _, r := range reqs {
		if r.status/100 == 2 {
			out = append(out, r.payload.Changes...)
		}
	}
	return out
}

// seqs lists the records' seqs.
func seqs(recs []reconcile.ChangeRecord) []int64 {
	var out []int64
	for _, r := range recs {
		out = append(out, r.Seq)
	}
	return out
}

// wantLog checks that recs are exactly the log's records after after, in order.
func (e *env) wantLog(recs []reconcile.ChangeRecord, after int64) {
	e.t.Helper()
	var want []int64
	for _, r := range e.log() {
		if r.Seq > after {
			want = append(want, r.Seq)
		}
	}
	if got := seqs(recs); !slices.Equal(got, want) {
		e.t.Errorf("delivered seqs %v, want %v", got, want)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
