package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real binary under a stand-in for systemd: READY=1 once serving,
// WATCHDOG=1 again and again, RELOADING=1 (with MONOTONIC_USEC) then
// READY=1 on SIGHUP, STOPPING=1 on SIGTERM, and exit 0.
func TestSystemdNotify(t *testing.T) {
	e := newEnv(t)
	e.write("config.toml", strings.Replace(testConfig, `path = "directory.json"`, "path = \"directory.json\"\nschedule = \"@every 1h\"", 1))
	sock := newNotifySocket(t)
	p := startProc(t, e, "NOTIFY_SOCKET="+sock.path, "WATCHDOG_USEC=400000") // pings every 200 ms

	if msg, _ := sock.next(t, "READY=1", 30*time.Second); !strings.Contains(msg, "STATUS=serving on "+p.addr) {
		t.Errorf("READY message %q lacks the status", msg)
	}
	for range 3 {
		sock.next(t, "WATCHDOG=1", 5*time.Second)
	}

	p.signal(t, syscall.SIGHUP)
	msg, _ := sock.next(t, "RELOADING=1", 10*time.Second)
	if !strings.Contains(msg, "\nMONOTONIC_USEC=") {
		t.Errorf("RELOADING message %q has no MONOTONIC_USEC", msg)
	}
	sock.next(t, "READY=1", 10*time.Second)
	p.log.wait(t, 0, 10*time.Second, "configuration reloaded")

	p.signal(t, syscall.SIGTERM)
	sock.next(t, "STOPPING=1", 10*time.Second)
	if code := p.exit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; log:\n%s", code, p.log.String())
	}
}

// deploy/idpsync.service passes systemd-analyze verify.
func TestUnitFileVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("IDPSYNC_CI") != "" {
			t.Fatal("systemd-analyze not installed: CI installs Debian's systemd package")
		}
		t.Skip("systemd-analyze not installed (Debian package systemd)")
	}
	unit, err := filepath.Abs("../../deploy/idpsync.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify checks that ExecStart's binary exists: point it at a built one
	// through a copy of the unit whose other lines are unchanged.
	e := newEnv(t)
	text := readFile(t, unit)
	bin := idpsyncBinary(t)
	text = strings.ReplaceAll(text, "/usr/local/bin/idpsync", bin)
	e.write("idpsync.service", text)
	out, err := exec.Command(analyze, "verify", filepath.Join(e.dir, "idpsync.service")).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify also prints warnings without failing: there must be none about our unit.
	for _, line := range scanLines(string(out)) {
		if strings.Contains(line, "idpsync.service") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes",
		"StateDirectory=idpsync", "ConfigurationDirectory=idpsync", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service"} {
		if !strings.Contains(text, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	// And the hardening scores well: systemd's exposure level, 0 (best) to 10.
	out, err = exec.Command(analyze, "security", "--offline=yes", filepath.Join(e.dir, "idpsync.service")).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	_, level, ok := strings.Cut(string(out), "Overall exposure level for idpsync.service: ")
	var exposure float64
	if _, err := fmt.Sscan(level, &exposure); !ok || err != nil || exposure > 2 {
		t.Errorf("exposure level %q, want at most 2 (OK)\n%s", level, out)
	}
}
