package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// batch inserts rows with multi-row INSERT statements: one prepared
// statement of size rows, and one ad-hoc statement for the tail. Binding a
// few hundred rows per statement costs far less than one statement per row.
// Rows are inserted in the order they were added.
//
// A row's template has a '?' for each value the row gives and '@N' for the
// N-th of the values every row shares (bound once per statement): the
// template "(?, ?, @1)" with one shared value inserts rows of 3 columns.
type batch struct {
	tx     *sql.Tx
	head   string // "INSERT INTO t (a, b, c) "
	row    string
	shared int // values bound once per statement, at the start of args
	cols   int // '?'s in row
	size   int // rows per full statement
	full   *sql.Stmt
	args   []any
}

// maxBatchArgs keeps a statement's parameters well under SQLite's limit (32766).
const maxBatchArgs = 4000

func newBatch(tx *sql.Tx, head, row string, shared ...any) *batch {
	cols := strings.Count(row, "?")
	size := min(maxBatchArgs/cols, 256)
	args := make([]any, len(shared), len(shared)+size*cols)
	copy(args, shared)
	return &batch{tx: tx, head: head, row: row, shared: len(shared), cols: cols, size: size, args: args}
}

// add queues one row; it must have one value for each '?' of the template.
func (b *batch) add(ctx context.Context, vals ...any) error {
	b.args = append(b.args, vals...)
	if b.pending() >= b.size {
		return b.flush(ctx)
	}
	return nil
}

// pending returns the number of rows queued and not yet inserted.
func (b *batch) pending() int { return (len(b.args) - b.shared) / b.cols }

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
	clear(b.args[b.shared:]) // let the values go
	b.args = b.args[:b.shared]
	return nil
}

// statement returns the INSERT for n rows. Parameters are plain '?'s (a
// numbered ?NNN costs the driver a name lookup per bind): with shared values
// it is INSERT … SELECT s.s1, v.column1, … FROM (SELECT ? AS s1, …) AS s,
// (VALUES (?, …), …) AS v, whose parameters come in the order of args.
func (b *batch) statement(n int) string {
	var sb strings.Builder
	sb.WriteString(b.head)
	if b.shared > 0 {
		var cols []string
		col := 0
		for i := 0; i < len(b.row); i++ {
			switch b.row[i] {
			case '?':
				col++
				cols = append(cols, "v.column"+strconv.Itoa(col))
			case '@':
				j := i + 1
				for j < len(b.row) && b.row[j] >= '0' && b.row[j] <= '9' {
					j++
				}
				cols = append(cols, "s.s"+b.row[i+1:j])
				i = j - 1
			}
		}
		sb.WriteString("SELECT " + strings.Join(cols, ", ") + " FROM (SELECT ")
		for k := 1; k <= b.shared; k++ {
			if k > 1 {
				sb.WriteString(", ")
			}
			sb.WriteString("? AS s" + strconv.Itoa(k))
		}
		sb.WriteString(") AS s, (")
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", b.cols), ", ") + ")"
	sb.WriteString("VALUES ")
	for r := range n {
		if r > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(row)
	}
	if b.shared > 0 {
		sb.WriteString(") AS v")
	}
	return sb.String()
}

// close releases the prepared statement.
func (b *batch) close() {
	if b.full != nil {
		b.full.Close()
	}
}
