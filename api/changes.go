package api

import (
	"strconv"
	"time"

	"github.com/idpsync/idpsync/reconcile"
)

// Paging of GET /changes.
const (
	defaultChangeLimit = 100
	maxChangeLimit     = 1000
)

// ChangePage is GET /changes: change-log records with seq > after, oldest
// first, and Next, the after of the following request: the last record's
// seq, or the request's after when there are none. Following Next from 0
// reads every change once, in order, without gaps.
type ChangePage struct {
	Changes []reconcile.ChangeRecord `json:"changes"`
	Next    int64                    `json:"next"`
}

// changes: GET /changes?after=N&limit=M&wait=30s. With changes after N it
// answers at once; otherwise it waits up to wait (at most MaxWait) for the
// next applied plan and answers with what it brought, or with none. An N
// past the log's last seq is a conflict, answered at once: the database was
// restored from a backup (or replaced), and the seqs after its last one will
// be given to other changes than those the client read, so waiting for them
// would skip changes. The client starts again from "last" (or 0).
func (s *server) changes(c *call) error {
	q := c.r.URL.Query()
	after, err := strconv.ParseInt(q.Get("after"), 10, 64)
	switch {
	case q.Get("after") == "":
		after = 0
	case err != nil || after < 0:
		return reconcile.Errorf(reconcile.EINVALID, "after: %q is not a change sequence number (0 or more)", q.Get("after"))
	}
	limit, err := intParam(q, "limit", defaultChangeLimit, 1, maxChangeLimit)
	if err != nil {
		return err
	}
	wait, err := waitParam(q.Get("wait"))
	if err != nil {
		return err
	}
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	// Plans applied by another process (the CLI on the same database) do
	// not close the engine's signal: a waiting poll reads again every
	// crossProcessPoll too.
	poll := time.NewTicker(crossProcessPoll)
	defer poll.Stop()
	for checked := false; ; checked = true {
		// Take the signal before reading: a plan applied after the read
		// closes this channel, so no change slips between read and wait.
		applied := s.engine.ChangeSignal()
		recs, err := s.store.Changes(c.ctx, reconcile.ChangeFilter{After: after, Limit: limit})
		if err != nil {
			return err
		}
		if len(recs) == 0 && after > 0 && !checked {
			if err := s.checkAfter(c, after); err != nil {
				return err
			}
		}
		if len(recs) > 0 || wait == 0 {
			return c.ok(changePage(recs, after))
		}
		select {
		case <-applied: // read again (the plan may have changed no user)
		case <-poll.C:
		case <-timeout:
			return c.ok(changePage(nil, after))
		case <-s.stop:
			return c.ok(changePage(nil, after))
		case <-c.ctx.Done():
			return c.ctx.Err() // the client went away
		}
	}
}

// checkAfter refuses an after past the change log's last seq.
func (s *server) checkAfter(c *call, after int64) error {
	last, err := s.store.LastSeq(c.ctx)
	if err != nil || after <= last {
		return err
	}
	return &pastEndError{last: last, err: reconcile.Errorf(reconcile.ECONFLICT,
		"after %d is past the change log's last seq, %d: the database was restored from a backup or replaced, "+
			"and the seqs after %d will name other changes; start again from %d (or from 0)", after, last, last, last)}
}

// crossProcessPoll is how often a waiting long-poll reads the change log
// even without a signal.
const crossProcessPoll = 2 * time.Second

func changePage(recs []reconcile.ChangeRecord, after int64) ChangePage {
	if len(recs) == 0 {
		return ChangePage{Changes: []reconcile.ChangeRecord{}, Next: after}
	}
	return ChangePage{Changes: recs, Next: recs[len(recs)-1].Seq}
}

// waitParam reads wait: a duration ("30s", "1m") or seconds ("30"), capped
// at MaxWait; "" is 0 (answer at once).
func waitParam(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		n, nerr := strconv.Atoi(v)
		if nerr != nil {
			return 0, reconcile.Errorf(reconcile.EINVALID, "wait: %q is not a duration (30s) or a number of seconds", v)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 {
		return 0, reconcile.Errorf(reconcile.EINVALID, "wait: %q is negative", v)
	}
	return min(d, MaxWait), nil
}
