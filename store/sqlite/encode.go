package sqlite

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/idpsync/idpsync/reconcile"
)

// gzipWriters recycles gzip writers: each holds about a megabyte of
// compressor state, which a push (a plan of a few changes, many a second)
// would otherwise allocate every time.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // a valid level: no error
	return zw
}}

// newGzip returns a gzip writer (fastest level) writing to w; putGzip
// recycles it after Close.
func newGzip(w io.Writer) *gzip.Writer {
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(w)
	return zw
}

func putGzip(zw *gzip.Writer) { gzipWriters.Put(zw) }

// gzipJSON encodes v as gzip-compressed JSON (fastest level: the blobs are
// written on the hot path and read rarely).
func gzipJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	zw := newGzip(&buf)
	defer putGzip(zw)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gunzipJSON(b []byte, v any) error {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, zr) // check the trailer
	return err
}

// logColumns are a change's JSON columns in the change log: JSON text, or
// nil (NULL) when empty.
type logColumns struct{ groups, grants, before, after any }

func encodeColumns(c *reconcile.Change) (logColumns, error) {
	var cols logColumns
	var err error
	if len(c.Groups) > 0 {
		cols.groups, err = jsonText(c.Groups)
	}
	if err == nil && len(c.Grants) > 0 {
		cols.grants, err = jsonText(c.Grants)
	}
	if err == nil && len(c.Before) > 0 {
		cols.before, err = jsonText(c.Before)
	}
	if err == nil && len(c.After) > 0 {
		cols.after, err = jsonText(c.After)
	}
	return cols, err
}

func jsonText(v any) (any, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// changeJSON is reconcile.Change as JSON, with the parts already encoded for
// the change log reused (TestChangeJSON keeps the two in step).
type changeJSON struct {
	Kind     string          `json:"kind"`
	User     string          `json:"user,omitempty"`
	UserID   string          `json:"userId,omitempty"`
	Source   string          `json:"source,omitempty"`
	SourceID string          `json:"sourceId,omitempty"`
	Group    string          `json:"group,omitempty"`
	Role     string          `json:"role,omitempty"`
	Groups   json.RawMessage `json:"groups,omitempty"`
	Grants   json.RawMessage `json:"grants,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
}

func raw(v any) json.RawMessage {
	if s, ok := v.(string); ok {
		return json.RawMessage(s)
	}
	return nil
}

var errStopped = errors.New("encoding stopped")

// encodeChunk is how many changes the encoder hands over at a time.
const encodeChunk = 1024

// planEncoder encodes a plan's changes: each change's change-log columns,
// and the whole list as gzip-compressed JSON for the plans table. Apply runs
// it on another goroutine while it writes; the changes must not be modified
// until wait or cancel returns.
type planEncoder struct {
	changes []reconcile.Change
	cols    []logColumns
	chunks  chan struct{} // a token per chunk of cols encoded, in order; closed at the end
	avail   int           // cols the reader knows to be ready
	stop    atomic.Bool
	done    chan struct{}
	blob    []byte
	err     error
}

func newPlanEncoder(cs []reconcile.Change) *planEncoder {
	return &planEncoder{
		changes: cs, cols: make([]logColumns, len(cs)),
		chunks: make(chan struct{}, len(cs)/encodeChunk+1), done: make(chan struct{}),
	}
}

// encodeChanges encodes a change list for the plans table.
func encodeChanges(cs []reconcile.Change) ([]byte, error) {
	e := newPlanEncoder(cs)
	e.run()
	return e.wait()
}

// startEncoder encodes cs on another goroutine.
func startEncoder(cs []reconcile.Change) *planEncoder {
	e := newPlanEncoder(cs)
	go e.run()
	return e
}

func (e *planEncoder) run() {
	defer close(e.done)
	defer close(e.chunks)
	var buf bytes.Buffer
	zw := newGzip(&buf)
	defer putGzip(zw)
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	zw.Write([]byte{'['})
	for start := 0; start < len(e.changes); start += encodeChunk {
		if e.stop.Load() {
			e.err = errStopped
			return
		}
		end := min(start+encodeChunk, len(e.changes))
		for i := start; i < end; i++ {
			cols, err := encodeColumns(&e.changes[i])
			if err != nil {
				c := &e.changes[i]
				e.err = reconcile.Errorf(reconcile.EINVALID, "change %d (%s %q): %w", i, c.Kind, c.User+c.Group, err)
				return
			}
			e.cols[i] = cols
		}
		e.chunks <- struct{}{}
		for i := start; i < end; i++ {
			if i > 0 {
				zw.Write([]byte{','})
			}
			c, cols := &e.changes[i], &e.cols[i]
			err := enc.Encode(changeJSON{Kind: c.Kind, User: c.User, UserID: c.UserID, Source: c.Source,
				SourceID: c.SourceID, Group: c.Group, Role: c.Role, Groups: raw(cols.groups), Grants: raw(cols.grants),
				Reason: c.Reason, Before: raw(cols.before), After: raw(cols.after)})
			if err != nil {
				e.err = reconcile.Errorf(reconcile.EINVALID, "change %d (%s %q): %w", i, c.Kind, c.User+c.Group, err)
				return
			}
		}
	}
	zw.Write([]byte{']'})
	if err := zw.Close(); err != nil {
		e.err = err
		return
	}
	e.blob = buf.Bytes()
}

// columns returns the i-th change's change-log columns, waiting for them if
// needed. Changes are asked for in order.
func (e *planEncoder) columns(i int) (logColumns, error) {
	for i >= e.avail {
		if _, ok := <-e.chunks; !ok {
			<-e.done
			if e.err == nil {
				e.err = reconcile.Errorf(reconcile.EINTERNAL, "plan encoder: change %d never encoded", i)
			}
			return logColumns{}, e.err
		}
		e.avail = min(e.avail+encodeChunk, len(e.changes))
	}
	return e.cols[i], nil
}

// wait returns the encoded change list.
func (e *planEncoder) wait() ([]byte, error) {
	<-e.done
	return e.blob, e.err
}

// cancel stops the encoder and waits for it to return.
func (e *planEncoder) cancel() {
	e.stop.Store(true)
	<-e.done
}
