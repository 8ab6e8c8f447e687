package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// upsertActivities merges the Activity definitions of stmts into the
// canonical Activities of store storeID, inside the statements' transaction.
// A batch mostly repeats a few Activities, so the work is: merge in Go, one
// SELECT (per 400 ids) of the stored ones, and multi-row upserts of only
// those whose canonical form changed.
//
// On MySQL the SELECT does not lock: two transactions merging different
// definitions of the same Activity at the same moment may lose one side's
// additions (the later write wins), which the specification permits (an LRS
// may keep the latest definition rather than merging).
//
// Definitions this process has already merged are remembered (by a hash of
// the incoming definition): merging the same definition again changes
// nothing, so such activities cost no query. The returned entries are
// remembered by the caller once the transaction commits.
func (db *DB) upsertActivities(ctx context.Context, tx *sql.Tx, storeID int64, stmts []*lrs.NewStatement) ([]seenActivity, error) {
	views := make([]map[string]any, len(stmts))
	for i, ns := range stmts {
		views[i] = ns.Statement
	}
	all, acts := xapi.CollectActivities(views)
	if len(all) == 0 {
		return nil, nil
	}
	var ids []string
	var seen []seenActivity
	for _, id := range all {
		fp, err := xapi.EncodeJSON(acts[id])
		if err != nil {
			return nil, lrs.Internal(err, "encoding activity")
		}
		sa := seenActivity{key: activityKey(storeID, id), fp: sha256.Sum256(fp)}
		if prev, ok := db.activitySeen.Get(sa.key); ok && prev == sa.fp {
			continue
		}
		ids = append(ids, id)
		seen = append(seen, sa)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// Lock order: by hash, the key order, so concurrent upserts of
	// overlapping sets take row locks in the same order.
	type act struct {
		id   string
		hash []byte
	}
	list := make([]act, len(ids))
	for i, id := range ids {
		list[i] = act{id, keyHash(id)}
	}
	sort.Slice(list, func(i, j int) bool { return bytes.Compare(list[i].hash, list[j].hash) < 0 })

	existing := make(map[string][]byte, len(list))
	for start := 0; start < len(list); start += chunk {
		part := list[start:min(start+chunk, len(list))]
		args := make([]any, 0, len(part)+1)
		args = append(args, storeID)
		for _, a := range part {
			args = append(args, a.hash)
		}
		rows, err := tx.QueryContext(ctx, "SELECT id_hash, body FROM activities WHERE store_id = ? AND id_hash IN "+inList(len(part)), args...)
		if err != nil {
			return nil, lrs.Internal(err, "reading activities")
		}
		for rows.Next() {
			var h, body []byte
			if err := rows.Scan(&h, &body); err != nil {
				rows.Close()
				return nil, lrs.Internal(err, "reading activities")
			}
			existing[string(h)] = body
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, lrs.Internal(err, "reading activities")
		}
	}

	now := time.Now().UnixMicro()
	var args []any
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		q := "INSERT INTO activities (store_id, id_hash, activity_id, body, updated_us) VALUES " + placeholders(n, 5)
		if db.d.name == MySQL {
			q += " ON DUPLICATE KEY UPDATE body = VALUES(body), updated_us = VALUES(updated_us)"
		} else {
			q += " ON CONFLICT (store_id, id_hash) DO UPDATE SET body = excluded.body, updated_us = excluded.updated_us"
		}
		_, err := tx.ExecContext(ctx, q, args...)
		args, n = args[:0], 0
		if err != nil {
			return lrs.Internal(err, "storing activities")
		}
		return nil
	}
	for _, a := range list {
		merged := acts[a.id]
		old, had := existing[string(a.hash)]
		if had {
			if v, err := xapi.DecodeJSON(old); err == nil {
				if om, ok := v.(map[string]any); ok {
					merged = xapi.MergeActivity(om, merged)
				}
			}
		}
		body, err := xapi.EncodeJSON(merged)
		if err != nil {
			return nil, lrs.Internal(err, "encoding activity")
		}
		if had && bytes.Equal(body, old) {
			continue
		}
		args = append(args, storeID, a.hash, a.id, body, now)
		n++
		if n == 200 {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	return seen, flush()
}

// seenActivity is an incoming definition merged by a transaction.
type seenActivity struct {
	key string
	fp  [32]byte
}

func activityKey(storeID int64, id string) string { return strconv.FormatInt(storeID, 10) + " " + id }

// rememberActivities records definitions whose transaction committed.
func (db *DB) rememberActivities(seen []seenActivity) {
	for _, sa := range seen {
		db.activitySeen.Add(sa.key, sa.fp)
	}
}

// GetActivity implements lrs.DocumentStore.
func (db *DB) GetActivity(ctx context.Context, storeID int64, id string) ([]byte, error) {
	var body []byte
	err := db.r.QueryRowContext(ctx, "SELECT body FROM activities WHERE store_id = ? AND id_hash = ?", storeID, keyHash(id)).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no activity with id %s", id)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading activity")
	}
	return body, nil
}
