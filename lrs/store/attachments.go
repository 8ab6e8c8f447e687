package store

import (
	"context"
	"database/sql"

	"github.com/xapibridge/bridge/lrs"
)

// insertAttachments stores attachment contents not stored yet.
func (db *DB) insertAttachments(ctx context.Context, tx *sql.Tx, storeID int64, atts []lrs.Attachment) error {
	for _, a := range atts {
		if _, err := tx.ExecContext(ctx, db.d.insertIgnore+" INTO attachments (store_id, sha2, content_type, content) VALUES (?,?,?,?)",
			storeID, a.SHA2, a.ContentType, a.Content); err != nil {
			return lrs.Internal(err, "storing attachment")
		}
	}
	return nil
}

// GetAttachments implements lrs.StatementStore.
func (db *DB) GetAttachments(ctx context.Context, storeID int64, sha2s []string) ([]lrs.Attachment, error) {
	if len(sha2s) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(sha2s)+1)
	args = append(args, storeID)
	for _, h := range sha2s {
		args = append(args, h)
	}
	rows, err := db.r.QueryContext(ctx, "SELECT sha2, content_type, content FROM attachments WHERE store_id = ? AND sha2 IN "+inList(len(sha2s)), args...)
	if err != nil {
		return nil, lrs.Internal(err, "reading attachments")
	}
	defer rows.Close()
	var out []lrs.Attachment
	for rows.Next() {
		var a lrs.Attachment
		if err := rows.Scan(&a.SHA2, &a.ContentType, &a.Content); err != nil {
			return nil, lrs.Internal(err, "reading attachments")
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
