package store

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/lrs"
)

// scopeHash identifies the set of documents a key belongs to: its kind,
// Activity and Agent (registration and document id are columns of their own).
func scopeHash(k lrs.DocumentKey) []byte {
	return keyHash(strconv.Itoa(int(k.Kind)) + "\x00" + k.ActivityID + "\x00" + k.AgentKey)
}

// docWhere selects the one document k names.
const docWhere = " WHERE store_id = ? AND scope_hash = ? AND registration = ? AND doc_hash = ?"

func docArgs(storeID int64, k lrs.DocumentKey) []any {
	return []any{storeID, scopeHash(k), strings.ToLower(k.Registration), keyHash(k.DocID)}
}

func scanDocument(row interface{ Scan(...any) error }) (*lrs.Document, error) {
	var d lrs.Document
	var us int64
	if err := row.Scan(&d.ContentType, &d.ETag, &us, &d.Body); err != nil {
		return nil, err
	}
	if d.Body == nil {
		d.Body = []byte{}
	}
	d.Updated = time.UnixMicro(us).UTC()
	return &d, nil
}

// GetDocument implements lrs.DocumentStore.
func (db *DB) GetDocument(ctx context.Context, storeID int64, k lrs.DocumentKey) (*lrs.Document, error) {
	d, err := scanDocument(db.r.QueryRowContext(ctx, "SELECT content_type, etag, updated_us, body FROM documents"+docWhere, docArgs(storeID, k)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no %s document with id %q", k.Kind, k.DocID)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading document")
	}
	return d, nil
}

// retryable reports whether a transaction failed only because of a
// concurrent one, so running it again may succeed.
func retryable(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205 || me.Number == 1062 // deadlock, lock wait timeout, duplicate key
	}
	return isDuplicate(err)
}

// UpdateDocument implements lrs.DocumentStore. The read and the write run in
// one transaction; on MySQL the read locks the row when it exists, and a
// writer that loses a race (duplicate key, deadlock) runs again.
func (db *DB) UpdateDocument(ctx context.Context, storeID int64, k lrs.DocumentKey,
	fn func(cur *lrs.Document) (*lrs.Document, bool, error)) error {
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return lrs.Internal(ctx.Err(), "writing document")
			case <-time.After(time.Duration(attempt) * time.Duration(1+rand.IntN(4)) * time.Millisecond):
			}
		}
		var appErr bool
		appErr, err = db.updateDocumentOnce(ctx, storeID, k, fn)
		if err == nil || appErr || !retryable(err) {
			break
		}
	}
	var le *lrs.Error
	if err != nil && !errors.As(err, &le) {
		return lrs.Internal(err, "writing document")
	}
	return err
}

func (db *DB) updateDocumentOnce(ctx context.Context, storeID int64, k lrs.DocumentKey,
	fn func(cur *lrs.Document) (*lrs.Document, bool, error)) (appErr bool, err error) {
	// On MySQL, READ COMMITTED: locking a row that does not exist takes no
	// gap lock, so writers creating the same document do not deadlock; the
	// loser of the INSERT gets a duplicate key and retries, finding the row.
	var opts *sql.TxOptions
	if db.d.name == MySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := db.w.BeginTx(ctx, opts)
	if err != nil {
		return true, &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "database unavailable", Cause: err}
	}
	defer tx.Rollback()
	q := "SELECT content_type, etag, updated_us, body FROM documents" + docWhere
	if db.d.name == MySQL {
		q += " FOR UPDATE"
	}
	cur, err := scanDocument(tx.QueryRowContext(ctx, q, docArgs(storeID, k)...))
	if errors.Is(err, sql.ErrNoRows) {
		cur, err = nil, nil
	}
	if err != nil {
		return false, err
	}
	next, del, err := fn(cur)
	if err != nil {
		return true, err
	}
	switch {
	case del:
		if _, err := tx.ExecContext(ctx, "DELETE FROM documents"+docWhere, docArgs(storeID, k)...); err != nil {
			return false, err
		}
	case next != nil:
		// Too large for one query (MySQL's max_allowed_packet): 413.
		if err := db.checkDocument(k, next); err != nil {
			return true, err
		}
		args := append(docArgs(storeID, k), int(k.Kind), k.ActivityID, k.AgentKey, k.DocID,
			next.ContentType, next.ETag, next.Updated.UnixMicro(), nonNil(next.Body))
		cols := "INSERT INTO documents (store_id, scope_hash, registration, doc_hash, kind, activity_id, agent_key, doc_id, content_type, etag, updated_us, body) VALUES " + placeholders(1, 12)
		if cur == nil {
			_, err = tx.ExecContext(ctx, cols, args...)
		} else {
			_, err = tx.ExecContext(ctx, "UPDATE documents SET content_type = ?, etag = ?, updated_us = ?, body = ?"+docWhere,
				append([]any{next.ContentType, next.ETag, next.Updated.UnixMicro(), nonNil(next.Body)}, docArgs(storeID, k)...)...)
		}
		if err != nil {
			return false, err
		}
	default:
		return false, nil
	}
	return false, tx.Commit()
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// setWhere selects the set of documents k names: every registration when
// k.Registration is empty.
func setWhere(storeID int64, k lrs.DocumentKey) (string, []any) {
	w := " WHERE store_id = ? AND scope_hash = ?"
	args := []any{storeID, scopeHash(k)}
	if k.Registration != "" {
		w += " AND registration = ?"
		args = append(args, strings.ToLower(k.Registration))
	}
	return w, args
}

// ListDocumentIDs implements lrs.DocumentStore.
func (db *DB) ListDocumentIDs(ctx context.Context, storeID int64, k lrs.DocumentKey, since *time.Time) ([]string, time.Time, error) {
	w, args := setWhere(storeID, k)
	if since != nil {
		w += " AND updated_us > ?"
		args = append(args, since.UnixMicro())
	}
	rows, err := db.r.QueryContext(ctx, "SELECT doc_id, updated_us FROM documents"+w, args...)
	if err != nil {
		return nil, time.Time{}, lrs.Internal(err, "listing documents")
	}
	defer rows.Close()
	seen := map[string]bool{}
	ids := []string{}
	var last int64
	for rows.Next() {
		var id string
		var us int64
		if err := rows.Scan(&id, &us); err != nil {
			return nil, time.Time{}, lrs.Internal(err, "listing documents")
		}
		if us > last {
			last = us
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, lrs.Internal(err, "listing documents")
	}
	slices.Sort(ids)
	var lt time.Time
	if last > 0 {
		lt = time.UnixMicro(last).UTC()
	}
	return ids, lt, nil
}

// DeleteDocuments implements lrs.DocumentStore.
func (db *DB) DeleteDocuments(ctx context.Context, storeID int64, k lrs.DocumentKey) error {
	w, args := setWhere(storeID, k)
	if _, err := db.w.ExecContext(ctx, "DELETE FROM documents"+w, args...); err != nil {
		return lrs.Internal(err, "deleting documents")
	}
	return nil
}
