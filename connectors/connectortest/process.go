package connectortest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// FakeEnv names the fake that a test binary, run again by FakeProcess,
// serves.
const FakeEnv = "IDPSYNC_FAKE"

// Fake starts a fake IdP and returns its URL and its request counter.
type Fake func(t testing.TB) (url string, requests func() int64)

// ServeFake is the whole of a package's TestFakeProcess. In a test binary
// that FakeProcess started, it serves the fake named by FakeEnv until its
// stdin closes; otherwise it skips.
func ServeFake(t *testing.T, fakes map[string]Fake) {
	name := os.Getenv(FakeEnv)
	if name == "" {
		t.Skip("serves a fake IdP to a benchmark (FakeProcess)")
	}
	f, ok := fakes[name]
	if !ok {
		t.Fatalf("no fake named %q", name)
	}
	url, requests := f(t)
	ctl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, requests())
	}))
	fmt.Printf("%s %s\n", url, ctl.URL)
	io.Copy(io.Discard, os.Stdin) // until the parent is gone
	ctl.Close()
}

// FakeProcess runs the test binary again as the fake named name (its
// TestFakeProcess calls ServeFake), so that
// a benchmark's process does only what the daemon does, and the fake's CPU
// and memory are not counted with it. It returns the fake's URL and a
// function reading its request counter.
func FakeProcess(tb testing.TB, name string) (url string, requests func() int64) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeProcess$")
	cmd.Env = append(os.Environ(), FakeEnv+"="+name)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	fields := strings.Fields(line)
	if err != nil || len(fields) != 2 {
		tb.Fatalf("fake %s did not start: %q, %v", name, line, err)
	}
	ctl := fields[1]
	return fields[0], func() int64 {
		resp, err := http.Get(ctl)
		if err != nil {
			tb.Fatalf("fake %s: %v", name, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		n, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			tb.Fatalf("fake %s: request count %q", name, b)
		}
		return n
	}
}
