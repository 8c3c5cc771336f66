package sqlite

import (
	"context"
	"strings"

	"github.com/idpsync/idpsync/reconcile"
	"github.com/idpsync/idpsync/webhook"
)

var _ webhook.Positions = (*Store)(nil)

// WebhookPosition returns the delivery position of the named webhook. For a
// name it has never seen it first stores one at the change log's last seq,
// or at 0 when fromBeginning, in the same transaction: no change is applied
// between reading the end of the log and storing it.
func (s *Store) WebhookPosition(ctx context.Context, name string, fromBeginning bool) (webhook.Position, error) {
	var p webhook.Position
	if strings.TrimSpace(name) == "" {
		return p, reconcile.Errorf(reconcile.EINVALID, "webhook position: no name")
	}
	tx, err := s.writeTx(ctx)
	if err != nil {
		return p, err
	}
	defer tx.Rollback()
	// WHERE true: an upsert on INSERT … SELECT needs a WHERE to parse.
	_, err = tx.ExecContext(ctx, `INSERT INTO webhook_positions (name, seq, created_at)
		SELECT ?, CASE WHEN ? THEN 0 ELSE coalesce(max(seq), 0) END, ? FROM change_log WHERE true
		ON CONFLICT (name) DO NOTHING`, name, fromBeginning, formatTime(s.clock()))
	if err != nil {
		return p, s.dbError(err, "start the delivery position of webhook %q", name)
	}
	err = tx.QueryRowContext(ctx, `SELECT seq, plan_id, part FROM webhook_positions WHERE name = ?`, name).
		Scan(&p.Seq, &p.PlanID, &p.Part)
	if err != nil {
		return p, s.dbError(err, "read the delivery position of webhook %q", name)
	}
	return p, s.dbError(tx.Commit(), "start the delivery position of webhook %q", name)
}

// SetWebhookPosition stores the position of the named webhook after a
// delivery. A position behind (or at) the stored one is ignored.
func (s *Store) SetWebhookPosition(ctx context.Context, name string, p webhook.Position) error {
	if strings.TrimSpace(name) == "" || p.Seq < 0 {
		return reconcile.Errorf(reconcile.EINVALID, "webhook position: no name or a negative seq")
	}
	now := formatTime(s.clock())
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhook_positions (name, seq, plan_id, part, created_at, delivered_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?5)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, plan_id = excluded.plan_id, part = excluded.part,
			delivered_at = excluded.delivered_at
		WHERE excluded.seq > webhook_positions.seq`, name, p.Seq, p.PlanID, p.Part, now)
	return s.dbError(err, "store the delivery position of webhook %q", name)
}
