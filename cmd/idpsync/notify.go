package main

import (
	"context"
	"log/slog"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// notifier speaks systemd's sd_notify protocol (Type=notify) through
// go-systemd's daemon package, which has all it takes: READY, STOPPING,
// RELOADING with MONOTONIC_USEC (as systemd ≥ 253 wants for
// Type=notify-reload), WATCHDOG and WATCHDOG_USEC. Without NOTIFY_SOCKET
// (not under systemd) sending does nothing.
type notifier struct{ log *slog.Logger }

func (n notifier) send(state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		n.log.Warn("telling systemd failed", "state", state, "err", err)
	}
}

// reloading tells systemd a reload began; send READY=1 when it is over.
func (n notifier) reloading() {
	n.send(sd.SdNotifyReloading + "\n" + sd.SdNotifyMonotonicUsec())
}

// watchdog sends WATCHDOG=1 at half the interval systemd asks for
// (WatchdogSec=, as WATCHDOG_USEC), as long as the daemon is really alive:
// the store answers a query within the bound, and the scheduler's loop
// answers. A failed check sends nothing, so systemd restarts a daemon that
// stays unhealthy. It returns when ctx is done.
func (d *daemon) watchdog(ctx context.Context) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		d.log.Warn("reading the watchdog interval", "err", err)
	}
	if interval <= 0 {
		return // no WatchdogSec=
	}
	tick := time.NewTicker(interval / 2)
	defer tick.Stop()
	bound := min(interval/4, 5*time.Second)
	for {
		if err := d.alive(ctx, bound); err != nil {
			d.log.Error("watchdog: not alive; not telling systemd", "err", err)
		} else {
			d.notify.send(sd.SdNotifyWatchdog)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// alive checks the store and the scheduler, each within bound.
func (d *daemon) alive(ctx context.Context, bound time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	if err := d.db.Ping(pctx); err != nil {
		return err
	}
	if !d.sched.alive(bound) {
		return errSchedulerStuck
	}
	return nil
}
