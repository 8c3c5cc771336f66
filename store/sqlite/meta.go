package sqlite

import "context"

// SetRulesHash records the fingerprint of the rules every user's roles now
// follow, when re-deriving them changed nothing (no plan to record).
func (s *Store) SetRulesHash(ctx context.Context, hash string) error {
	tx, err := s.writeTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := setMeta(ctx, tx, metaRulesHash, hash); err != nil {
		return s.report(err)
	}
	return s.dbError(tx.Commit(), "store the rules hash")
}
