package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// batch inserts rows with multi-row INSERT statements: one prepared
// statement of size rows, and one ad-hoc statement for the tail. Binding a
// few hundred rows per statement costs far less than one statement per row.
// Rows are inserted in the order they were added.
//
// (Measured, and rejected: values shared by every row as numbered ?NNN
// parameters make the driver look each parameter's name up on every bind,
// which is quadratic; INSERT … SELECT from a VALUES list is slower still.)
type batch struct {
	tx   *sql.Tx
	head string // "INSERT INTO t (a, b, c) VALUES "
	cols int
	size int // rows per full statement
	full *sql.Stmt
	args []any
}

// maxBatchArgs keeps a statement's parameters well under SQLite's limit (32766).
const maxBatchArgs = 16000

func newBatch(tx *sql.Tx, head string, cols int) *batch {
	size := min(maxBatchArgs/cols, 1000)
	// args grows to a full statement's worth only when that many rows come:
	// most batches (a push's change log) hold a few.
	return &batch{tx: tx, head: head, cols: cols, size: size, args: make([]any, 0, min(size, 16)*cols)}
}

// add queues one row of cols values.
func (b *batch) add(ctx context.Context, vals ...any) error {
	b.args = append(b.args, vals...)
	if len(b.args) >= b.size*b.cols {
		return b.flush(ctx)
	}
	return nil
}

// pending returns the number of rows queued and not yet inserted.
func (b *batch) pending() int { return len(b.args) / b.cols }

// flush inserts the queued rows.
func (b *batch) flush(ctx context.Context) error {
	n := b.pending()
	if n == 0 {
		return nil
	}
	var err error
	if n == b.size {
		if b.full == nil {
			if b.full, err = b.tx.PrepareContext(ctx, b.statement(n)); err != nil {
				return err
			}
		}
		_, err = b.full.ExecContext(ctx, b.args...)
	} else {
		_, err = b.tx.ExecContext(ctx, b.statement(n), b.args...)
	}
	if err != nil {
		return err
	}
	clear(b.args) // let the values go
	b.args = b.args[:0]
	return nil
}

// statement returns the INSERT of n rows.
func (b *batch) statement(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", b.cols), ", ") + ")"
	return b.head + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// close releases the prepared statement.
func (b *batch) close() {
	if b.full != nil {
		b.full.Close()
	}
}
