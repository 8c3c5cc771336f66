package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/webhook"
)

const hookSecret = "0123456789abcdef0123456789abcdef"

// hookReceiver is a webhook endpoint that acknowledges every verified
// batch and hands it on.
func hookReceiver(t *testing.T) (url string, batches <-chan webhook.Payload) {
	t.Helper()
	ch := make(chan webhook.Payload, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte(hookSecret), r.Header.Get(webhook.HeaderSignature), r.Header.Get(webhook.HeaderTimestamp), body, time.Minute); err != nil {
			t.Errorf("delivery does not verify: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("payload: %v", err)
		}
		ch <- p
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

func nextBatch(t *testing.T, batches <-chan webhook.Payload, what string) webhook.Payload {
	t.Helper()
	select {
	case b := <-batches:
		return b
	case <-time.After(20 * time.Second):
		t.Fatalf("no webhook batch for %s", what)
	}
	return webhook.Payload{}
}

// A webhook with the default start ("end") gets the changes of everything
// from when it is configured: on a fresh database, the first sync's batch,
// though serve runs it at once at start; added by a reload, the reload's
// own plan.
func TestWebhookDefaultStartMissesNothing(t *testing.T) {
	t.Run("fresh database", func(t *testing.T) {
		url, batches := hookReceiver(t)
		e := newEnv(t)
		e.write("hook.secret", hookSecret+"\n")
		e.write("config.toml", testConfig+"\n[[webhook]]\nname = \"app\"\nurl = \""+url+"\"\nsecret_file = \"hook.secret\"\n")
		startInProcess(t, e)
		first := nextBatch(t, batches, "the first sync")
		if len(first.Changes) == 0 || first.Changes[0].Seq != 1 || first.Changes[0].Actor != "schedule" {
			t.Errorf("first batch %+v (actor %q); want the first sync's, from seq 1", first.Batch, first.Changes[0].Actor)
		}
	})

	t.Run("added by a reload", func(t *testing.T) {
		url, batches := hookReceiver(t)
		e := newEnv(t)
		e.write("hook.secret", hookSecret+"\n")
		p := startInProcess(t, e)
		p.log.wait(t, 0, 20*time.Second, "sync done", "trigger=start")
		before := p.lastSeq(t)

		// The reload adds the webhook and a mapping: Sales (cat) → Admin.
		e.write("config.toml", testConfig+"[[mapping]]\ngroup = \"Sales\"\nrole = \"Admin\"\n"+
			"\n[[webhook]]\nname = \"app\"\nurl = \""+url+"\"\nsecret_file = \"hook.secret\"\n")
		if line, _ := p.reload(t, 0); !strings.Contains(line, "configuration reloaded") {
			t.Fatalf("reload: %s", line)
		}
		b := nextBatch(t, batches, "the reload's plan")
		if b.Batch.FromSeq != before+1 || b.Changes[0].Actor != "config" || !strings.Contains(string(mustMarshal(t, b.Changes)), "cat@example.com") {
			t.Errorf("first batch %+v: %s; want the reload's plan (actor config, cat gains Admin) from seq %d", b.Batch, mustMarshal(t, b.Changes), before+1)
		}
	})
}
