package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logBuffer collects a daemon's log lines and lets a test wait for one.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced at every write
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.changed)
	b.changed = make(chan struct{})
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// wait returns the first line after offset (in bytes) that contains every
// one of subs, and the offset past it; it fails the test after timeout.
func (b *logBuffer) wait(t *testing.T, offset int, timeout time.Duration, subs ...string) (string, int) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		b.mu.Lock()
		s, changed := b.buf.String(), b.changed
		b.mu.Unlock()
		pos := offset
		for pos < len(s) {
			end := strings.IndexByte(s[pos:], '\n')
			if end < 0 {
				break
			}
			line := s[pos : pos+end]
			pos += end + 1
			if containsAll(line, subs) {
				return line, pos
			}
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no log line with %q within %v; log:\n%s", subs, timeout, s)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// inProcess is a daemon run in the test's process: serve on a goroutine,
// reloads sent on hup.
type inProcess struct {
	d      *daemon
	log    *logBuffer
	hup    chan os.Signal
	cancel context.CancelFunc
	done   chan error
}

// startInProcess opens the env's config as `serve` does and serves it until
// the test ends (or stop is called).
func startInProcess(t *testing.T, e *env) *inProcess {
	t.Helper()
	logs := newLogBuffer()
	c := &cli{configPath: filepath.Join(e.dir, "config.toml"), stdout: io.Discard, stderr: logs}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := c.open(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	p := &inProcess{d: newDaemon(c, a), log: logs, hup: make(chan os.Signal, 1), cancel: cancel, done: make(chan error, 1)}
	go func() {
		defer a.close()
		p.done <- p.d.serve(ctx, p.hup)
	}()
	t.Cleanup(func() { p.stop(t) })
	p.log.wait(t, 0, 10*time.Second, "idpsync serving")
	return p
}

func (p *inProcess) addr() string { return *p.d.addr.Load() }

// stop cancels serve (as SIGTERM does) and waits for it; it returns serve's error.
func (p *inProcess) stop(t *testing.T) error {
	t.Helper()
	p.cancel()
	select {
	case err, ok := <-p.done:
		if ok {
			close(p.done)
		}
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop within 60 s")
	}
	return nil
}

// reload sends a SIGHUP's worth of reload and waits for its outcome line
// ("configuration reloaded" or "configuration refused") after offset.
func (p *inProcess) reload(t *testing.T, offset int) (string, int) {
	t.Helper()
	p.hup <- syscall.SIGHUP
	return p.log.waitAny(t, offset, 30*time.Second, "configuration reloaded", "configuration refused")
}

// waitAny is wait for the first line holding any one of subs.
func (b *logBuffer) waitAny(t *testing.T, offset int, timeout time.Duration, subs ...string) (string, int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, s := range subs {
			if line, pos, ok := b.find(offset, s); ok {
				return line, pos
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with any of %q within %v; log:\n%s", subs, timeout, b.String())
		}
		b.mu.Lock()
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
		}
	}
}

func (b *logBuffer) find(offset int, sub string) (string, int, bool) {
	s := b.String()
	if i := strings.Index(s[offset:], sub); i >= 0 {
		start := strings.LastIndexByte(s[:offset+i], '\n') + 1
		end := strings.IndexByte(s[offset+i:], '\n')
		if end < 0 {
			return "", 0, false
		}
		return s[start : offset+i+end], offset + i + end + 1, true
	}
	return "", 0, false
}

// The real binary, built once per test run (with -race when the tests are).
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func idpsyncBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "idpsync-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "idpsync")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, out}
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

// proc is the real binary running `serve`.
type proc struct {
	cmd  *exec.Cmd
	log  *logBuffer
	done chan struct{} // closed when the process has ended
	addr string
}

// startProc runs `idpsync serve` on the env's config with extra environment
// variables, and waits until it serves.
func startProc(t *testing.T, e *env, environ ...string) *proc {
	t.Helper()
	cmd := exec.Command(idpsyncBinary(t), "serve", "--config", filepath.Join(e.dir, "config.toml"))
	cmd.Env = append(os.Environ(), environ...)
	p := &proc{cmd: cmd, log: newLogBuffer(), done: make(chan struct{})}
	cmd.Stderr = p.log
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	line, _ := p.log.wait(t, 0, 60*time.Second, "idpsync serving")
	_, rest, _ := strings.Cut(line, "listen=")
	p.addr, _, _ = strings.Cut(rest, " ")
	return p
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// exit waits for the process to end and returns its exit code.
func (p *proc) exit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("idpsync did not exit within %v; log:\n%s", timeout, p.log.String())
	}
	return -1
}

// notifySocket is a unixgram socket standing in for systemd's NOTIFY_SOCKET.
type notifySocket struct {
	path string
	msgs chan string
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &notifySocket{path: path, msgs: make(chan string, 1024)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(s.msgs)
				return
			}
			s.msgs <- string(buf[:n])
		}
	}()
	return s
}

// next returns the next message holding want, skipping others (they are
// returned too, for checks of order).
func (s *notifySocket) next(t *testing.T, want string, timeout time.Duration) (msg string, skipped []string) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				t.Fatalf("notify socket closed waiting for %q", want)
			}
			if strings.Contains(m, want) {
				return m, skipped
			}
			skipped = append(skipped, m)
		case <-deadline:
			t.Fatalf("no %q on the notify socket within %v (got %q)", want, timeout, skipped)
		}
	}
}

// scanLines is bufio's line scanner over a string.
func scanLines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
}

// logged is a change-log record as `changes --format json` prints it.
type logged struct {
	Seq   int64  `json:"seq"`
	Actor string `json:"actor"`
	Kind  string `json:"kind"`
	User  string `json:"user"`
	Role  string `json:"role"`
}
