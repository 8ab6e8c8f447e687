package store

import (
	"context"

	"github.com/xapibridge/bridge/lrs"
)

// PutSyncCursors writes sources' cursors (position and status) apart from
// any statement, all in one transaction: what an operator's rewind of a
// source writes (adapters/moodle's Rewind: the cursor and its rewind
// request together). A batch of statements moves its source's cursor in its
// own transaction (InsertStatementsAt).
func (db *DB) PutSyncCursors(ctx context.Context, cps ...*lrs.Checkpoint) error {
	return db.retryWrite(ctx, func() error {
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			return &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "database unavailable", Cause: err}
		}
		defer tx.Rollback()
		for _, cp := range cps {
			if err := db.moveCursor(ctx, tx, cp); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return lrs.Internal(err, "committing sync cursors")
		}
		return nil
	})
}
