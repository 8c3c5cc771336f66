package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/api"
	"github.com/idpsync/idpsync/reconcile"
)

// feed asks for /changes from any goroutine (no t.Fatal).
func (f *fixture) feed(ctx context.Context, query string) (api.ChangePage, error) {
	var page api.ChangePage
	req, err := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/api/v1/changes?"+query, nil)
	if err != nil {
		return page, err
	}
	req.Header.Set("Authorization", "Bearer "+f.read)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		return page, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return page, fmt.Errorf("status %d", resp.StatusCode)
	}
	return page, json.NewDecoder(resp.Body).Decode(&page)
}

func (f *fixture) lastSeq() int64 {
	f.t.Helper()
	log := f.changes()
	if len(log) == 0 {
		return 0
	}
	return log[len(log)-1].Seq
}

// drain forgets the reads and answers seen so far.
func (f *fixture) drain() {
	for {
		select {
		case <-f.reads:
		case <-f.served:
		default:
			return
		}
	}
}

// waiting returns once a /changes handler read the log and found nothing:
// it is about to wait for a change.
func (f *fixture) waiting() {
	f.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-f.reads:
			if n == 0 {
				return
			}
		case <-timeout:
			f.t.Fatal("the long-poll never read an empty change log")
		}
	}
}

type answer struct {
	page api.ChangePage
	err  error
	at   time.Time
}

func (f *fixture) poll(ctx context.Context, query string) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		page, err := f.feed(ctx, query)
		out <- answer{page, err, time.Now()}
	}()
	return out
}

func (f *fixture) addManual(name string) {
	f.t.Helper()
	if _, err := f.engine.AddManualUser(f.ctx, reconcile.User{UserName: name}, []string{"CSM"}, "test"); err != nil {
		f.t.Fatal(err)
	}
}

func TestChangesAtOnce(t *testing.T) {
	f := newFixture(t)
	start := time.Now()
	page, err := f.feed(f.ctx, "after=0&limit=5&wait=60s")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Changes) != 5 || page.Changes[0].Seq != 1 || page.Next != 5 {
		t.Errorf("after=0&limit=5: %d changes from %d, next %d; want 5 from 1, next 5", len(page.Changes), page.Changes[0].Seq, page.Next)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("with changes waiting the long-poll took %v; want an answer at once, not after wait", d)
	}
	page, err = f.feed(f.ctx, "after="+itoa(int(f.lastSeq())))
	if err != nil || len(page.Changes) != 0 || page.Changes == nil || page.Next != f.lastSeq() {
		t.Errorf("no wait, nothing new: %+v, %v; want changes [], next = after", page, err)
	}
	for _, bad := range []string{"after=-1", "after=x", "limit=0", "limit=1001", "wait=soon", "wait=-1s"} {
		f.fails("GET", "/changes?"+bad, f.read, nil, 400, reconcile.EINVALID)
	}
}

func TestChangesTimesOut(t *testing.T) {
	f := newFixture(t)
	last := f.lastSeq()
	const wait = 300 * time.Millisecond
	start := time.Now()
	page, err := f.feed(f.ctx, fmt.Sprintf("after=%d&wait=%s", last, wait))
	took := time.Since(start)
	if err != nil || len(page.Changes) != 0 || page.Next != last {
		t.Fatalf("timed out poll: %+v, %v; want no changes, next %d", page, err, last)
	}
	if took < wait || took > wait+5*time.Second {
		t.Errorf("the poll answered after %v; want after its wait, %v", took, wait)
	}
}

func TestChangesWakeWithin100ms(t *testing.T) {
	f := newFixture(t)
	applied := make(chan time.Time, 1)
	f.engine.SetHooks(reconcile.Hooks{Applied: func(*reconcile.Plan) { applied <- time.Now() }})
	last := f.lastSeq()
	f.drain()
	got := f.poll(f.ctx, fmt.Sprintf("after=%d&wait=30s", last))
	f.waiting()
	f.addManual("new@example.com")
	at := <-applied
	var a answer
	select {
	case a = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the long-poll did not answer after a change")
	}
	if a.err != nil || len(a.page.Changes) != 1 || a.page.Changes[0].User != "new@example.com" || a.page.Next != last+1 {
		t.Fatalf("woken poll: %+v, %v; want the one create, next %d", a.page, a.err, last+1)
	}
	if d := a.at.Sub(at); d > 100*time.Millisecond {
		t.Errorf("the long-poll answered %v after the change was applied; want within 100ms", d)
	}
}

func TestChangesEndsWithClient(t *testing.T) {
	f := newFixture(t)
	f.drain()
	ctx, cancel := context.WithCancel(f.ctx)
	got := f.poll(ctx, fmt.Sprintf("after=%d&wait=60s", f.lastSeq()))
	f.waiting()
	cancel()
	<-got
	select {
	case <-f.served:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler kept waiting after its client went away")
	}
}

func TestChangesEndAtStop(t *testing.T) {
	f := newFixture(t)
	f.drain()
	last := f.lastSeq()
	got := f.poll(f.ctx, fmt.Sprintf("after=%d&wait=60s", last))
	f.waiting()
	close(f.stop)
	select {
	case a := <-got:
		if a.err != nil || len(a.page.Changes) != 0 || a.page.Next != last {
			t.Errorf("at stop: %+v, %v; want an empty page, next %d", a.page, a.err, last)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting long-poll did not answer when the server stopped")
	}
}

// A follower reading in batches of 3 while plans are applied sees every
// change exactly once, in order: a 22-change plan split across batches and
// ten one-change plans.
func TestChangesFollowerSeesEveryChangeOnce(t *testing.T) {
	f := newFixture(t, noDefaultRole)
	start := f.lastSeq()
	const want = 22 + 10
	followed := make(chan []int64, 1)
	go func() {
		var seqs []int64
		deadline := time.Now().Add(20 * time.Second)
		for next := start; next < start+want && time.Now().Before(deadline); {
			page, err := f.feed(f.ctx, fmt.Sprintf("after=%d&limit=3&wait=10s", next))
			if err != nil {
				break
			}
			for _, c := range page.Changes {
				seqs = append(seqs, c.Seq)
			}
			next = page.Next
		}
		followed <- seqs
	}()

	p, err := f.engine.EditRules(f.ctx, "test", func(_ *reconcile.Rules, a *reconcile.AdminRules) error {
		a.DefaultRole = "Viewer"
		return nil
	})
	if err != nil || len(p.Changes) != 22 {
		t.Fatalf("EditRules: %d changes, %v; want 22 grants", len(p.Changes), err)
	}
	if err := f.engine.Apply(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		f.addManual(fmt.Sprintf("m%d@example.com", i))
	}

	seqs := <-followed
	var log []int64
	for _, r := range f.changes() {
		if r.Seq > start {
			log = append(log, r.Seq)
		}
	}
	if len(log) != want || !slices.Equal(seqs, log) {
		t.Errorf("the follower saw %v\nthe log holds %v", seqs, log)
	}
}

// An after past the log's last seq (the database was restored from an older
// backup) is a conflict answered at once, even with a wait, naming the last
// seq; after = last still waits as usual.
func TestChangesAfterPastTheEnd(t *testing.T) {
	f := newFixture(t)
	last := f.lastSeq()
	for _, query := range []string{fmt.Sprintf("after=%d&wait=60s", last+10), fmt.Sprintf("after=%d", last+1)} {
		t.Run(query, func(t *testing.T) {
			f.t = t
			start := time.Now()
			var body struct {
				api.ErrorBody
				Last *int64 `json:"last"`
			}
			f.call("GET", "/changes?"+query, f.read, nil, http.StatusConflict, &body)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("answered after %v; want at once", d)
			}
			if body.Error.Kind != reconcile.ECONFLICT || !strings.Contains(body.Error.Message, fmt.Sprintf("last seq, %d", last)) {
				t.Errorf("error %+v; want kind conflict naming the last seq %d", body.Error, last)
			}
			if body.Last == nil || *body.Last != last {
				t.Errorf("last = %v, want %d", body.Last, last)
			}
		})
	}
	f.t = t
	page, err := f.feed(f.ctx, fmt.Sprintf("after=%d&wait=10ms", last))
	if err != nil || len(page.Changes) != 0 || page.Next != last {
		t.Errorf("after = the last seq: %+v, %v; want an empty page", page, err)
	}
}
