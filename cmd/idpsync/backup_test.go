package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

const scimToken = "test-scim-token-0123456789abcdef"

// `idpsync backup` (the real binary, another process) taken while 32 SCIM
// clients create users: the copy passes PRAGMA integrity_check and holds
// every change the change log had before the backup began; restored (copied
// in place of the database), it serves.
func TestBackupUnderSCIMLoad(t *testing.T) {
	e := newEnv(t)
	t.Setenv("IDPSYNC_SCIM_TOKEN", scimToken)
	e.write("config.toml", testConfig+"[[source]]\nname = \"scim\"\ntype = \"scim\"\ntoken_env = \"IDPSYNC_SCIM_TOKEN\"\n")
	p := startInProcess(t, e)
	p.log.wait(t, 0, 20*time.Second, "sync done", "trigger=start")
	url := "http://" + p.addr() + "/scim/v2/Users"

	var created atomic.Int64
	underWay, once := make(chan struct{}), sync.Once{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 32 {
		wg.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second}
			for i := 0; i < 400; i++ { // bounded: at most 12,800 requests
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"c%d-%d@example.com","active":true}`, c, i)
				req, _ := http.NewRequest("POST", url, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+scimToken)
				req.Header.Set("Content-Type", "application/scim+json")
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("POST /Users: %d", resp.StatusCode)
					return
				}
				if created.Add(1) == 200 {
					once.Do(func() { close(underWay) })
				}
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	select { // the load is under way
	case <-underWay:
	case <-time.After(60 * time.Second):
		t.Fatal("the SCIM load did not get going")
	}

	ctx := context.Background()
	before, err := p.d.store.Changes(ctx, reconcile.ChangeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "backup.db")
	var out bytes.Buffer
	cmd := exec.Command(idpsyncBinary(t), "backup", dest, "--config", filepath.Join(e.dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("idpsync backup: %v\n%s", err, out.String())
	}
	stopLoad()
	during := created.Load()
	if !strings.Contains(out.String(), "integrity ok") {
		t.Errorf("backup output: %s", out.String())
	}
	if n := len(before); n < 200 {
		t.Fatalf("only %d changes before the backup", n)
	}

	version, last, err := sqlite.CheckFile(ctx, dest)
	if err != nil || version != sqlite.SchemaVersion() || last < before[len(before)-1].Seq {
		t.Fatalf("CheckFile = version %d, last seq %d, %v", version, last, err)
	}
	// Restore: the copy in place of a database, opened by idpsync.
	restored := newEnv(t)
	data, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	restored.write("idpsync.db", string(data))
	var got []logged
	mustJSON(t, restored.mustRun("changes", "--format", "json"), &got)
	if len(got) < len(before) {
		t.Fatalf("the backup holds %d changes, the log had %d before it began", len(got), len(before))
	}
	for i, c := range before {
		g := got[i]
		if g.Seq != c.Seq || g.Kind != c.Kind || g.User != c.User || g.Actor != c.Actor {
			t.Fatalf("backup change %d = %+v, want %+v", i, g, c)
		}
	}
	t.Logf("%d SCIM creates by the end of the backup; %d changes before it began, %d in it", during, len(before), len(got))

	// Never over an existing file.
	if err := exec.Command(idpsyncBinary(t), "backup", dest, "--config", filepath.Join(e.dir, "config.toml")).Run(); err == nil {
		t.Error("a second backup to the same path succeeded")
	}
}

// A database a newer idpsync migrated is refused (nothing written to it),
// and can still be backed up as it is.
func TestNewerDatabaseRefused(t *testing.T) {
	e := newEnv(t)
	e.mustRun("sync")
	path := filepath.Join(e.dir, "idpsync.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	newer := sqlite.SchemaVersion() + 1
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, args := range [][]string{{"serve"}, {"users", "list"}} {
		if _, err := e.run(args...); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("database schema version %d is newer than this idpsync", newer)) {
			t.Errorf("idpsync %v on a newer database: %v", args, err)
		}
	}
	dest := filepath.Join(t.TempDir(), "copy.db")
	out := e.mustRun("backup", dest)
	if !strings.Contains(out, fmt.Sprintf("schema version %d", newer)) {
		t.Errorf("backup of a newer database: %s", out)
	}
}
