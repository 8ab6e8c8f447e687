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
// A batch mostly repeats a few Activities, so the work is: collect the
// definitions in Go, one SELECT (per 400 ids) of the stored ones, and
// multi-row upserts of only those whose canonical form changed.
//
// Merging is bounded (xapi.DefinitionLimits, see SetDefinitionLimits): a
// definition that would take a canonical definition past a limit is not
// merged and is counted (ActivityDefinitionsCapped); the statement that
// carries it is stored all the same. Nothing in the merge fails the
// transaction: a stored body that does not decode is replaced, one over the
// limits (stored before they applied) is not even read, and is replaced by
// the first definition within them.
//
// On MySQL the SELECT does not lock: two transactions merging different
// definitions of the same Activity at the same moment may lose one side's
// additions (the later write wins), which the specification permits (an LRS
// may keep the latest definition rather than merging).
//
// Definitions this process has already merged are remembered (by a hash of
// the incoming definitions): merging the same definitions again changes
// nothing, so such activities cost no query. The returned entries are
// remembered by the caller once the transaction commits; definitions that
// were not merged are not remembered, so they are counted each time.
func (db *DB) upsertActivities(ctx context.Context, tx *sql.Tx, storeID int64, stmts []*lrs.NewStatement) ([]seenActivity, error) {
	views := make([]map[string]any, len(stmts))
	for i, ns := range stmts {
		views[i] = ns.Statement
	}
	all, defs := xapi.CollectDefinitions(views)
	if len(all) == 0 {
		return nil, nil
	}
	var ids []string
	var seen []seenActivity
	index := map[string]int{}
	for _, id := range all {
		fp, err := xapi.EncodeJSON(defs[id])
		if err != nil {
			// Cannot happen for decoded statements; merge without the cache.
			fp = nil
		}
		sa := seenActivity{key: activityKey(storeID, id), fp: sha256.Sum256(fp), remember: fp != nil}
		if prev, ok := db.activitySeen.Get(sa.key); ok && sa.remember && prev == sa.fp {
			continue
		}
		ids = append(ids, id)
		index[id] = len(seen)
		seen = append(seen, sa)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	lim := db.DefinitionLimits()
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

	// A stored body longer than a canonical Activity within the limits can
	// be (its definition, its id escaped, the envelope) is not read: it is
	// over the limits, from before they applied.
	maxStored := lim.MaxBytes + 64
	type storedBody struct {
		body      []byte
		oversized bool
	}
	existing := make(map[string]storedBody, len(list))
	for start := 0; start < len(list); start += chunk {
		part := list[start:min(start+chunk, len(list))]
		args := make([]any, 0, len(part)+2)
		args = append(args, maxStored, storeID)
		for _, a := range part {
			args = append(args, a.hash)
		}
		rows, err := tx.QueryContext(ctx, "SELECT id_hash, CASE WHEN LENGTH(body) <= ? + 6 * LENGTH(activity_id) THEN body END FROM activities WHERE store_id = ? AND id_hash IN "+inList(len(part)), args...)
		if err != nil {
			return nil, lrs.Internal(err, "reading activities")
		}
		for rows.Next() {
			var h, body []byte
			if err := rows.Scan(&h, &body); err != nil {
				rows.Close()
				return nil, lrs.Internal(err, "reading activities")
			}
			existing[string(h)] = storedBody{body: body, oversized: body == nil}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, lrs.Internal(err, "reading activities")
		}
	}

	now := time.Now().UnixMicro()
	var args []any
	batch := rowBatcher{budget: db.queryBudget(), maxRows: 200}
	flush := func() error {
		if batch.rows == 0 {
			return nil
		}
		q := "INSERT INTO activities (store_id, id_hash, activity_id, body, updated_us) VALUES " + placeholders(batch.rows, 5)
		if db.d.name == MySQL {
			q += " ON DUPLICATE KEY UPDATE body = VALUES(body), updated_us = VALUES(updated_us)"
		} else {
			q += " ON CONFLICT (store_id, id_hash) DO UPDATE SET body = excluded.body, updated_us = excluded.updated_us"
		}
		_, err := tx.ExecContext(ctx, q, args...)
		args = args[:0]
		batch.reset()
		if err != nil {
			return lrs.Internal(err, "storing activities")
		}
		return nil
	}
	for _, a := range list {
		sa := &seen[index[a.id]]
		old, had := existing[string(a.hash)]
		var c *xapi.Canonical
		switch {
		case had && old.oversized:
			c = xapi.NewOversizedCanonical(a.id, lim)
		case had:
			var om map[string]any
			if v, err := xapi.DecodeJSON(old.body); err == nil {
				om, _ = v.(map[string]any)
			}
			c = xapi.NewCanonical(a.id, om, lim)
		default:
			c = xapi.NewCanonical(a.id, nil, lim)
		}
		for _, def := range defs[a.id] {
			if c.Merge(def) != nil {
				sa.capped++
				sa.remember = false
			}
		}
		if c.Over() {
			// Still the oversized stored one: keep it (no write).
			continue
		}
		body, err := xapi.EncodeJSON(c.Activity())
		if err != nil {
			sa.capped++
			sa.remember = false
			continue
		}
		if had && bytes.Equal(body, old.body) {
			continue
		}
		var cost int64
		if batch.budget >= 0 {
			cost = escapedLen(body) + escapedLenString(a.id) + 100
			if cost > batch.budget {
				// An id so long that its row cannot be written in one
				// query (it is in the row twice): no canonical Activity.
				sa.capped++
				sa.remember = false
				continue
			}
		}
		if !batch.fits(cost) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		args = append(args, storeID, a.hash, a.id, body, now)
		batch.add(cost)
	}
	return seen, flush()
}

// seenActivity is an incoming definition merged by a transaction.
type seenActivity struct {
	key      string
	fp       [32]byte
	remember bool // every definition merged: remember fp
	capped   int  // definitions not merged (over the limits)
}

func activityKey(storeID int64, id string) string { return strconv.FormatInt(storeID, 10) + " " + id }

// rememberActivities records definitions whose transaction committed, and
// counts those that were not merged.
func (db *DB) rememberActivities(seen []seenActivity) {
	var capped int64
	for _, sa := range seen {
		capped += int64(sa.capped)
		if sa.remember {
			db.activitySeen.Add(sa.key, sa.fp)
		}
	}
	if capped > 0 {
		db.ext().capped.Add(capped)
	}
}

// SetDefinitionLimits sets the limits of canonical Activity definitions
// (zero fields: xapi's defaults). Safe to call while the store is in use.
func (db *DB) SetDefinitionLimits(l xapi.DefinitionLimits) {
	l = l.WithDefaults()
	db.ext().limits.Store(&l)
}

// DefinitionLimits returns the limits of canonical Activity definitions.
func (db *DB) DefinitionLimits() xapi.DefinitionLimits {
	if l := db.ext().limits.Load(); l != nil {
		return *l
	}
	return xapi.DefinitionLimits{}.WithDefaults()
}

// ActivityDefinitionsCapped is how many Activity definitions in committed
// statements this store has left out of their canonical definition because
// merging them would exceed the limits (bridge_activity_definitions_capped_total).
func (db *DB) ActivityDefinitionsCapped() int64 { return db.ext().capped.Load() }

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
