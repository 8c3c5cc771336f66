package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idpsync/idpsync/connectors/connectortest"
	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/store/sqlite"
)

// syntheticSource builds its directory afresh on every fetch, as a connector
// decoding an IdP's pages does; nothing else holds a copy.
type syntheticSource struct{ opts connectortest.Options }

func (syntheticSource) Name() string { return "hr" }
func (s syntheticSource) Fetch(context.Context) (*reconcile.Directory, error) {
	return connectortest.Synthetic(s.opts), nil
}

// BenchmarkSync100k plans and applies a synthetic directory of 100,000 users,
// 5,000 groups and 500,000 memberships into an empty SQLite store (the
// engine and store as `serve` wires them), then re-plans it unchanged. It
// reports each phase's seconds and the process's peak RSS. Run it with
// -benchtime=1x; see BENCHMARKS.md.
func BenchmarkSync100k(b *testing.B) {
	if testing.Short() {
		b.Skip("slow: 100k users")
	}
	opts := connectortest.Options{
		Users: 100_000, Groups: 5_000, Memberships: 500_000, NestingDepth: 3, InactiveEvery: 50, Seed: 1,
	}
	rules := reconcile.Rules{
		Roles:       []reconcile.Role{{Name: "Admin"}, {Name: "CSM"}, {Name: "Viewer"}},
		DefaultRole: "Viewer", OnConflict: reconcile.Adopt, MaxDeactivations: reconcile.DefaultThreshold,
	}
	for i := 1; i <= 200; i++ { // 200 mapped groups, the rest unmapped
		role := []string{"Admin", "CSM"}[i%2]
		rules.Mappings = append(rules.Mappings, reconcile.Mapping{Group: fmt.Sprintf("group-%05d", i*7), Role: role})
	}
	ctx := context.Background()
	for b.Loop() {
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		e := reconcile.NewEngine(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := e.Configure(rules, map[string]reconcile.Threshold{"hr": reconcile.DefaultThreshold}); err != nil {
			b.Fatal(err)
		}
		src := syntheticSource{opts}

		start := time.Now()
		p, err := e.Sync(ctx, src, reconcile.SyncOptions{Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		first := time.Since(start)
		if p.Status != reconcile.StatusApplied || p.Summary.Create < 90_000 {
			b.Fatalf("first sync: status %q, %d creates", p.Status, p.Summary.Create)
		}

		start = time.Now()
		p, err = e.Sync(ctx, src, reconcile.SyncOptions{Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		replan := time.Since(start)
		if !p.Empty() || p.Directory != nil || p.ID != 0 {
			b.Fatalf("unchanged re-plan is not empty: %+v", p.Summary)
		}
		st.Close()
		b.ReportMetric(first.Seconds(), "first-apply-s")
		b.ReportMetric(replan.Seconds(), "replan-s")
	}
	b.ReportMetric(peakRSSMB(), "peak-rss-MB")
}

// peakRSSMB reads the process's peak resident set size (VmHWM) on Linux.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
