package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// SIGHUP with a new mapping re-derives every user's roles at once, and the
// change log shows it; a broken configuration after it is refused whole,
// the running one stays (still serving, still its rules), and the HTTP
// connection open across both reloads keeps working.
func TestReload(t *testing.T) {
	e := newEnv(t)
	cfg := strings.Replace(testConfig, `path = "directory.json"`, "path = \"directory.json\"\nschedule = \"@every 1s\"", 1)
	e.write("config.toml", cfg)
	p := startInProcess(t, e)
	_, off := p.log.wait(t, 0, 20*time.Second, "sync done", "trigger=start")
	if got := p.roles(t, "cat@example.com"); !slices.Equal(got, []string{"Viewer"}) {
		t.Fatalf("cat (in Sales, unmapped) has %v, want [Viewer]", got)
	}
	before := p.lastSeq(t)

	// One keep-alive connection, used before and after the reloads.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	get := func() (reused bool) {
		t.Helper()
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		})
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+p.addr()+"/readyz", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /readyz: %d", resp.StatusCode)
		}
		return reused
	}
	get()

	e.write("config.toml", cfg+"[[mapping]]\ngroup = \"Sales\"\nrole = \"CSM\"\n")
	line, off := p.reload(t, off)
	if !strings.Contains(line, "configuration reloaded") {
		t.Fatalf("reload of a valid configuration: %s", line)
	}
	if got := p.roles(t, "cat@example.com"); !slices.Equal(got, []string{"CSM"}) {
		t.Errorf("after the reload cat has %v, want [CSM] (Sales → CSM)", got)
	}
	changes := p.changesAfter(t, before)
	var grant, revoke bool
	for _, c := range changes {
		if c.User == "cat@example.com" && c.Actor == "config" {
			grant = grant || (c.Kind == reconcile.ChangeGrant && c.Role == "CSM")
			revoke = revoke || (c.Kind == reconcile.ChangeRevoke && c.Role == "Viewer")
		}
	}
	if !grant || !revoke {
		t.Errorf("change log after seq %d lacks cat's grant of CSM and revoke of Viewer by config: %+v", before, changes)
	}
	if !get() {
		t.Error("the keep-alive connection was dropped by the reload")
	}

	// A broken file: an unknown role, and a bad schedule. Refused, with both problems logged.
	e.write("config.toml", strings.Replace(cfg, `"@every 1s"`, `"every second"`, 1)+"[[mapping]]\ngroup = \"Sales\"\nrole = \"Root\"\n")
	line, off = p.reload(t, off)
	if !strings.Contains(line, "configuration refused") || !strings.Contains(line, `unknown role \"Root\"`) || !strings.Contains(line, "source[0].schedule") {
		t.Fatalf("reload of a broken configuration: %s", line)
	}
	// The old rules and schedule go on: dan joins Sales, the next scheduled
	// run gives him CSM by the mapping the refused file would have replaced.
	e.write("directory.json", strings.Replace(testDirectory, `"members": ["u3"]`, `"members": ["u3", "u4"]`, 1))
	p.log.wait(t, off, 20*time.Second, "sync done", "trigger=schedule", "changes=")
	deadline := time.Now().Add(20 * time.Second)
	for !slices.Equal(p.roles(t, "dan@example.com"), []string{"CSM"}) {
		if time.Now().After(deadline) {
			t.Fatalf("dan did not get CSM under the old rules; log:\n%s", p.log.String())
		}
		p.log.wait(t, len(p.log.String()), 20*time.Second, "sync done", "trigger=schedule")
	}
	if !get() {
		t.Error("the keep-alive connection was dropped by the refused reload")
	}
	if err := p.stop(t); err != nil {
		t.Errorf("serve: %v", err)
	}
}

// roles returns a user's roles, sorted, read from the daemon's store.
func (p *inProcess) roles(t *testing.T, user string) []string {
	t.Helper()
	u, err := p.d.store.User(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(slices.Values(u.Roles))
}

func (p *inProcess) changesAfter(t *testing.T, after int64) []reconcile.ChangeRecord {
	t.Helper()
	out, err := p.d.store.Changes(context.Background(), reconcile.ChangeFilter{After: after})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (p *inProcess) lastSeq(t *testing.T) int64 {
	t.Helper()
	all := p.changesAfter(t, 0)
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Seq
}
