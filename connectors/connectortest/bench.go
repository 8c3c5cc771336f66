//go:build unix

package connectortest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// BenchRules are the rules of the sync benchmarks: three roles, a default
// role, and 200 of the synthetic groups mapped.
func BenchRules() reconcile.Rules {
	r := reconcile.Rules{
		Roles:       []reconcile.Role{{Name: "Admin"}, {Name: "CSM"}, {Name: "Viewer"}},
		DefaultRole: "Viewer", OnConflict: reconcile.Adopt, MaxDeactivations: reconcile.DefaultThreshold,
	}
	for i := 1; i <= 200; i++ {
		r.Mappings = append(r.Mappings, reconcile.Mapping{Group: fmt.Sprintf("group-%05d", i*7), Role: []string{"Admin", "CSM"}[i%2]})
	}
	return r
}

// BenchSync measures what the daemon does on a pull: src read through a
// real engine into store, a full sync into an empty store and then an
// unchanged one (for a delta source, a delta run). Run the fake in another
// process (FakeProcess) so that the CPU time and peak RSS reported are the
// daemon's own. It reports, per phase, seconds, requests, CPU seconds and
// the changes applied (the unchanged run must write no plan); and the
// process's peak RSS. Run it with -benchtime=1x.
func BenchSync(b *testing.B, src reconcile.Source, store func(testing.TB) reconcile.Store, requests func() int64) {
	ctx := context.Background()
	for b.Loop() {
		st := store(b)
		e := reconcile.NewEngine(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := e.Configure(BenchRules(), map[string]reconcile.Threshold{src.Name(): reconcile.DefaultThreshold}); err != nil {
			b.Fatal(err)
		}
		phase := func(name string, check func(*reconcile.Plan) error) {
			before, cpu, start := requests(), cpuTime(), time.Now()
			p, err := e.Sync(ctx, src, reconcile.SyncOptions{Actor: "bench"})
			if err == nil {
				err = check(p)
			}
			if err != nil {
				b.Fatalf("%s sync: %v", name, err)
			}
			b.ReportMetric(time.Since(start).Seconds(), name+"-s")
			b.ReportMetric((cpuTime() - cpu).Seconds(), name+"-cpu-s")
			b.ReportMetric(float64(requests()-before), name+"-requests")
			b.ReportMetric(float64(len(p.Changes)), name+"-changes")
		}
		phase("full", func(p *reconcile.Plan) error {
			if p.Status != reconcile.StatusApplied || p.Summary.Create < 1 {
				return fmt.Errorf("status %q, %d creates", p.Status, p.Summary.Create)
			}
			return nil
		})
		phase("unchanged", func(p *reconcile.Plan) error {
			if !p.Empty() || p.Directory != nil || p.ID != 0 {
				return fmt.Errorf("wrote a plan: %+v", p.Summary)
			}
			return nil
		})
		st.Close()
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
