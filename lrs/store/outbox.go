package store

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

const (
	deliveryPending = 0
	deliveryDead    = 1
)

// insertDeliveries writes the outbox rows of freshly stored statements in
// their transaction.
func (db *DB) insertDeliveries(ctx context.Context, tx *sql.Tx, storeID int64, fresh []*lrs.NewStatement, pks map[string]int64) error {
	var args []any
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		q := db.d.insertIgnore + " INTO deliveries (store_id, stmt_pk, target, rule, personal_key, next_at_us, created_us) VALUES " + placeholders(n, 7)
		_, err := tx.ExecContext(ctx, q, args...)
		args, n = args[:0], 0
		return err
	}
	for _, ns := range fresh {
		for _, d := range ns.Deliveries {
			us := ns.Stored.UnixMicro()
			args = append(args, storeID, pks[ns.ID], d.Target, d.Rule, d.PersonalKey, us, us)
			n++
			if n == 500 {
				if err := flush(); err != nil {
					return lrs.Internal(err, "recording deliveries")
				}
			}
		}
	}
	if err := flush(); err != nil {
		return lrs.Internal(err, "recording deliveries")
	}
	return nil
}

// ClaimDeliveries implements lrs.Outbox. Concurrent bridges sharing the
// database never claim the same delivery: on MySQL a lease is taken by an
// UPDATE that checks the row is still due and unleased, or by rows locked
// FOR UPDATE SKIP LOCKED (see claimMySQL); SQLite has a single writer.
// Deadlocks and lock wait timeouts are retried.
func (db *DB) ClaimDeliveries(ctx context.Context, target string, limit int, now, leaseUntil time.Time) ([]lrs.OutboxItem, error) {
	return db.ClaimPart(ctx, target, 0, 1, limit, now, leaseUntil)
}

// ClaimPart implements lrs.Outbox.
func (db *DB) ClaimPart(ctx context.Context, target string, part, parts, limit int, now, leaseUntil time.Time) ([]lrs.OutboxItem, error) {
	c := claim{target: target, part: part, parts: parts, limit: limit, now: now.UnixMicro(), lease: leaseUntil.UnixMicro()}
	if parts < 1 || part < 0 || part >= parts {
		c.part, c.parts = 0, 1
	}
	var items []lrs.OutboxItem
	err := db.retryWrite(ctx, func() error {
		var err error
		if db.d.name == MySQL {
			items, err = db.claimMySQL(ctx, c)
		} else {
			items, err = db.claimTx(ctx, c)
		}
		return err
	})
	if err != nil {
		var le *lrs.Error
		if !errors.As(err, &le) {
			err = lrs.Internal(err, "claiming deliveries")
		}
		return nil, err
	}
	return items, nil
}

// claim is what a claim asks for.
type claim struct {
	target      string
	part, parts int
	limit       int
	now, lease  int64 // unix µs
}

// due is the condition on deliveries d that the claim may take, and its
// arguments.
func (c claim) due() (string, []any) {
	if c.parts > 1 {
		return "d.target = ? AND d.state = 0 AND d.next_at_us <= ? AND d.lease_until_us <= ? AND d.id % ? = ?",
			[]any{c.target, c.now, c.now, c.parts, c.part}
	}
	return "d.target = ? AND d.state = 0 AND d.next_at_us <= ? AND d.lease_until_us <= ?", []any{c.target, c.now, c.now}
}

// claimCols are the columns of a claimed delivery and its statement, in
// the order scanClaimed reads them; claimFrom joins the statement (LEFT
// JOIN: a delivery whose statement is gone comes back without one).
const (
	claimCols = "d.id, d.store_id, d.target, d.rule, d.personal_key, d.attempts, d.created_us, d.next_at_us, " +
		"d.last_status, d.last_error, s.id, s.body"
	claimFrom = " FROM deliveries d LEFT JOIN statements s ON s.pk = d.stmt_pk "
	// claimFromMySQL is claimFrom scanning the due index, always: the
	// claims' order is that index's, and a locking scan of another index
	// would lock rows the claim does not take.
	claimFromMySQL = " FROM deliveries d FORCE INDEX (deliveries_due) LEFT JOIN statements s ON s.pk = d.stmt_pk "
)

// claimMySQL claims in two statements, each its own transaction:
//
//  1. a plain (consistent, non-locking) read of the first due, unleased
//     deliveries with their statements;
//  2. an UPDATE that leases those of them that are still as read: due,
//     unleased, and with the attempts and next_at_us read (every outcome
//     recorded, and a replay, changes one of them), so the items returned
//     are current. It locks the rows by primary key only, and the lease
//     is committed with it.
//
// When the UPDATE leased every candidate (always, unless another process
// claimed or changed some in between), they are the claim. When it leased
// none, claimTx takes the next free rows with a locking scan. When it leased
// some, a read finds them by their new lease; should another process have
// leased some of the candidates with the very same lease value, which rows
// are ours cannot be told, and none is returned: they are sent when the
// lease has run out (nothing is lost or sent twice).
//
// (The earlier claim, a transaction at READ COMMITTED with a locking scan
// of the due index, a read of the locked rows and the lease, took six round
// trips, each slow while ingest keeps the database busy, and its locking
// scan locks and re-checks every record it passes, including the
// delete-marked ones delivered rows leave at the head of the queue until
// purge removes them.)
func (db *DB) claimMySQL(ctx context.Context, c claim) ([]lrs.OutboxItem, error) {
	nowUS, lease := c.now, c.lease
	due, args := c.due()
	items, orphans, err := scanClaimed(db.w.QueryContext(ctx, claimReadMySQL(due), append(args, c.limit)...))
	if err != nil {
		return nil, err
	}
	if len(orphans) > 0 {
		if err := db.deleteOrphans(ctx, db.w, orphans, nowUS); err != nil {
			return nil, err
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	args = make([]any, 0, 4+4*len(items))
	args = append(args, lease, c.target, nowUS, nowUS)
	for _, it := range items {
		args = append(args, it.ID)
	}
	for _, it := range items {
		args = append(args, it.ID, it.Attempts, it.NextAt.UnixMicro())
	}
	res, err := db.w.ExecContext(ctx, claimLeaseMySQL(len(items)), args...)
	if err != nil {
		return nil, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, err
	}
	switch {
	case n == int64(len(items)):
	case n == 0:
		return db.claimTx(ctx, c)
	default:
		ids := make([]any, 0, len(items)+1)
		ids = append(ids, lease)
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		rows, err := db.w.QueryContext(ctx, "SELECT id FROM deliveries WHERE lease_until_us = ? AND id IN "+inList(len(items)), ids...)
		if err != nil {
			return nil, err
		}
		ours := make(map[int64]bool, n)
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ours[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if int64(len(ours)) != n {
			return nil, nil
		}
		kept := items[:0]
		for _, it := range items {
			if ours[it.ID] {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	for i := range items {
		items[i].Lease = lease
	}
	return items, nil
}

// claimReadMySQL is claimMySQL's read of the candidates (args: due's, then
// the limit).
func claimReadMySQL(due string) string {
	return "SELECT " + claimCols + claimFromMySQL + "WHERE " + due + " ORDER BY d.next_at_us, d.id LIMIT ?"
}

// claimLeaseMySQL is claimMySQL's UPDATE that leases n candidates (args:
// the lease, the target, now twice, the n ids, then id, attempts and
// next_at_us of each). It finds its rows by primary key. IGNORE INDEX:
// with deliveries_attempts (target, state, attempts, ...) to weigh against
// the (id, attempts, next_at_us) list, MariaDB 10.11 took 100 ms to plan
// and run it for 400 ids among 20,000 pending deliveries instead of 4 ms,
// which cut delivery throughput by a factor of three (BenchmarkDrain).
func claimLeaseMySQL(n int) string {
	return "UPDATE deliveries IGNORE INDEX (deliveries_attempts) SET lease_until_us = ? WHERE target = ? AND state = 0 AND next_at_us <= ? AND lease_until_us <= ? " +
		"AND id IN " + inList(n) + " AND (id, attempts, next_at_us) IN (" + strings.TrimSuffix(strings.Repeat("(?,?,?),", n), ",") + ")"
}

// claimScanMySQL is claimScan's locking scan (args: due's, then the limit).
func claimScanMySQL(due string) string {
	return "SELECT d.id FROM deliveries d FORCE INDEX (deliveries_due) WHERE " + due + " ORDER BY d.next_at_us, d.id LIMIT ? FOR UPDATE SKIP LOCKED"
}

// deleteOrphans deletes deliveries whose statement is gone (erased or past
// retention between a back-fill's read and its insert): they can never be
// sent, and would block the head of the queue.
func (db *DB) deleteOrphans(ctx context.Context, e interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, ids []int64, nowUS int64) error {
	_, err := e.ExecContext(ctx, "DELETE FROM deliveries WHERE state = 0 AND lease_until_us <= ? AND id IN "+inList(len(ids)),
		append([]any{nowUS}, int64Args(ids)...)...)
	return err
}

// claimTx claims in one transaction: on SQLite, whose single writer
// excludes every other, a read of the first due deliveries with their
// statements, then their lease; on MySQL (claimMySQL's fallback), at READ
// COMMITTED, a locking scan of the due index FOR UPDATE SKIP LOCKED, a read
// of the locked rows with their statements, then their lease.
//
// At REPEATABLE READ the locking range scan would take next-key (gap) locks
// on the due index, and the statement transactions inserting new
// deliveries into that range deadlock with it (the client's POST failed
// with 500); and the non-locking read of the claimed rows could use a
// snapshot older than the locking read, missing the statements of
// deliveries committed in between, which then stayed leased without being
// sent.
func (db *DB) claimTx(ctx context.Context, c claim) ([]lrs.OutboxItem, error) {
	var opts *sql.TxOptions
	if db.d.name == MySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := db.w.BeginTx(ctx, opts)
	if err != nil {
		return nil, &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "database unavailable", Cause: err}
	}
	defer tx.Rollback()
	nowUS := c.now
	var items []lrs.OutboxItem
	var orphans []int64
	if db.d.name == MySQL {
		items, orphans, err = claimScan(ctx, tx, c)
	} else {
		due, args := c.due()
		items, orphans, err = scanClaimed(tx.QueryContext(ctx, "SELECT "+claimCols+claimFrom+"WHERE "+due+
			" ORDER BY d.next_at_us, d.id LIMIT ?", append(args, c.limit)...))
	}
	if err != nil {
		return nil, err
	}
	if len(orphans) > 0 {
		if err := db.deleteOrphans(ctx, tx, orphans, nowUS); err != nil {
			return nil, err
		}
	}
	if len(items) == 0 {
		return nil, tx.Commit()
	}
	// Lease exactly the rows returned: a row leased but not returned would
	// not be sent until its lease ran out.
	leased := make([]any, 0, len(items)+1)
	leased = append(leased, c.lease)
	for _, it := range items {
		leased = append(leased, it.ID)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE deliveries SET lease_until_us = ? WHERE id IN "+inList(len(items)), leased...); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	for i := range items {
		items[i].Lease = c.lease
	}
	return items, nil
}

// scanClaimed reads rows of claimCols: deliveries with their statement, and
// the ids of those without one (only a LEFT JOIN returns those).
func scanClaimed(rows *sql.Rows, err error) (items []lrs.OutboxItem, orphans []int64, _ error) {
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var it lrs.OutboxItem
		var created, next int64
		var sid []byte
		if err := rows.Scan(&it.ID, &it.StoreID, &it.Target, &it.Rule, &it.PersonalKey, &it.Attempts, &created, &next,
			&it.LastStatus, &it.LastError, &sid, &it.Statement); err != nil {
			return nil, nil, err
		}
		if sid == nil {
			orphans = append(orphans, it.ID)
			continue
		}
		it.CreatedAt = time.UnixMicro(created).UTC()
		it.NextAt = time.UnixMicro(next).UTC()
		it.StatementID = uuidString(sid)
		if items == nil {
			items = make([]lrs.OutboxItem, 0, 64)
		}
		items = append(items, it)
	}
	return items, orphans, rows.Err()
}

// claimScan locks the first due deliveries on MySQL with a locking scan of
// the due index, FOR UPDATE SKIP LOCKED, and reads them with their
// statements.
func claimScan(ctx context.Context, tx *sql.Tx, c claim) ([]lrs.OutboxItem, []int64, error) {
	due, args := c.due()
	rows, err := tx.QueryContext(ctx, claimScanMySQL(due), append(args, c.limit)...)
	if err != nil {
		return nil, nil, err
	}
	var ids []any
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	return scanClaimed(tx.QueryContext(ctx, "SELECT "+claimCols+claimFrom+"WHERE d.id IN "+inList(len(ids))+" ORDER BY d.next_at_us, d.id", ids...))
}

// retryWrite runs fn again (a few times, briefly) when it failed only
// because of a concurrent transaction: a deadlock or a lock wait timeout on
// MySQL, a busy database on SQLite. Outcomes of deliveries that are not
// recorded are sent again after their lease, so these are worth retrying.
func (db *DB) retryWrite(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(attempt) * time.Duration(1+rand.IntN(5)) * time.Millisecond):
			}
		}
		if err = fn(); err == nil || !concurrencyError(err) {
			return err
		}
	}
	return err
}

func concurrencyError(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205 // deadlock, lock wait timeout
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}

// execRetry is ExecContext on the writer with retryWrite.
func (db *DB) execRetry(ctx context.Context, q string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := db.retryWrite(ctx, func() error {
		var err error
		res, err = db.w.ExecContext(ctx, q, args...)
		return err
	})
	return res, err
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (db *DB) outboxItems(ctx context.Context, q queryer, where string, args []any, order string) ([]lrs.OutboxItem, error) {
	// An inner join: a delivery whose statement is gone is not listed.
	items, _, err := scanClaimed(q.QueryContext(ctx, "SELECT "+claimCols+" FROM deliveries d JOIN statements s ON s.pk = d.stmt_pk WHERE "+where+" ORDER BY "+order, args...))
	if err != nil {
		return nil, lrs.Internal(err, "reading deliveries")
	}
	return items, nil
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// CompleteDeliveries implements lrs.Outbox.
func (db *DB) CompleteDeliveries(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := db.execRetry(ctx, "DELETE FROM deliveries WHERE id IN "+inList(len(ids)), int64Args(ids)...); err != nil {
		return lrs.Internal(err, "completing deliveries")
	}
	return nil
}

func clip(s string) string {
	if len(s) > 1000 {
		s = s[:1000]
	}
	return strings.ToValidUTF8(s, "?")
}

// RetryDelivery implements lrs.Outbox.
func (db *DB) RetryDelivery(ctx context.Context, id, lease int64, attempts int, next time.Time, status int, msg string) error {
	_, err := db.execRetry(ctx, "UPDATE deliveries SET attempts = ?, next_at_us = ?, lease_until_us = 0, last_status = ?, last_error = ? WHERE id = ? AND lease_until_us = ?",
		attempts, next.UnixMicro(), status, clip(msg), id, lease)
	if err != nil {
		return lrs.Internal(err, "recording delivery attempt")
	}
	return nil
}

// KillDelivery implements lrs.Outbox.
func (db *DB) KillDelivery(ctx context.Context, id, lease int64, attempts int, status int, msg string) error {
	_, err := db.execRetry(ctx, "UPDATE deliveries SET state = 1, attempts = ?, lease_until_us = 0, last_status = ?, last_error = ? WHERE id = ? AND lease_until_us = ?",
		attempts, status, clip(msg), id, lease)
	if err != nil {
		return lrs.Internal(err, "recording dead delivery")
	}
	return nil
}

// OutboxStats implements lrs.Outbox.
func (db *DB) OutboxStats(ctx context.Context) ([]lrs.TargetStats, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT target, state, COUNT(*) FROM deliveries GROUP BY target, state ORDER BY target")
	if err != nil {
		return nil, lrs.Internal(err, "counting deliveries")
	}
	defer rows.Close()
	var out []lrs.TargetStats
	for rows.Next() {
		var target string
		var state int
		var n int64
		if err := rows.Scan(&target, &state, &n); err != nil {
			return nil, lrs.Internal(err, "counting deliveries")
		}
		if len(out) == 0 || out[len(out)-1].Target != target {
			out = append(out, lrs.TargetStats{Target: target})
		}
		if state == deliveryDead {
			out[len(out)-1].Dead = n
		} else {
			out[len(out)-1].Pending = n
		}
	}
	return out, rows.Err()
}

// OutboxDetails implements lrs.Outbox: OutboxStats, then, for each target
// with pending deliveries, two queries that read only the index
// deliveries_attempts (target, state, attempts, created_us): the oldest
// delivery not yet attempted is its first entry at (target, pending, 0),
// and the retrying ones are its range (target, pending, > 0) with their
// oldest. Neither reads a row, so they stay cheap with a million pending
// for a target that is down.
func (db *DB) OutboxDetails(ctx context.Context) ([]lrs.TargetStats, error) {
	stats, err := db.OutboxStats(ctx)
	if err != nil {
		return nil, err
	}
	for i := range stats {
		s := &stats[i]
		if s.Pending == 0 {
			continue
		}
		var fresh, retried sql.NullInt64
		if err := db.r.QueryRowContext(ctx, "SELECT MIN(created_us) FROM deliveries WHERE target = ? AND state = ? AND attempts = 0",
			s.Target, deliveryPending).Scan(&fresh); err != nil {
			return nil, lrs.Internal(err, "reading the oldest delivery")
		}
		if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*), MIN(created_us) FROM deliveries WHERE target = ? AND state = ? AND attempts > 0",
			s.Target, deliveryPending).Scan(&s.Retrying, &retried); err != nil {
			return nil, lrs.Internal(err, "counting retrying deliveries")
		}
		var oldest sql.NullInt64
		for _, v := range []sql.NullInt64{fresh, retried} {
			if v.Valid && (!oldest.Valid || v.Int64 < oldest.Int64) {
				oldest = v
			}
		}
		if oldest.Valid {
			s.OldestPending = time.UnixMicro(oldest.Int64).UTC()
		}
	}
	return stats, nil
}

// upsertTarget writes cols of target's forward_targets row, creating it.
func (db *DB) upsertTarget(ctx context.Context, target string, cols []string, vals []any) error {
	sets := make([]string, len(cols))
	for i, c := range cols {
		if db.d.name == MySQL {
			sets[i] = c + " = VALUES(" + c + ")"
		} else {
			sets[i] = c + " = excluded." + c
		}
	}
	q := "INSERT INTO forward_targets (target, " + strings.Join(cols, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(cols)) + ")"
	if db.d.name == MySQL {
		q += " ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
	} else {
		q += " ON CONFLICT (target) DO UPDATE SET " + strings.Join(sets, ", ")
	}
	_, err := db.execRetry(ctx, q, append([]any{target}, vals...)...)
	return err
}

// RecordBreaker implements lrs.TargetHealthStore.
func (db *DB) RecordBreaker(ctx context.Context, target, state, cause string, at time.Time) error {
	if err := db.upsertTarget(ctx, target, []string{"breaker", "breaker_us", "breaker_cause"}, []any{state, at.UnixMicro(), clip(cause)}); err != nil {
		return lrs.Internal(err, "recording breaker state")
	}
	return nil
}

// RecordFailure implements lrs.TargetHealthStore.
func (db *DB) RecordFailure(ctx context.Context, target string, status int, msg string, at time.Time) error {
	if err := db.upsertTarget(ctx, target, []string{"last_status", "last_error", "last_error_us"}, []any{status, clip(msg), at.UnixMicro()}); err != nil {
		return lrs.Internal(err, "recording delivery failure")
	}
	return nil
}

// TargetHealth implements lrs.TargetHealthStore.
func (db *DB) TargetHealth(ctx context.Context) ([]lrs.TargetHealth, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT target, breaker, breaker_us, breaker_cause, last_status, last_error, last_error_us FROM forward_targets ORDER BY target")
	if err != nil {
		return nil, lrs.Internal(err, "reading target health")
	}
	defer rows.Close()
	var out []lrs.TargetHealth
	for rows.Next() {
		var h lrs.TargetHealth
		var since, at int64
		if err := rows.Scan(&h.Target, &h.Breaker, &since, &h.BreakerCause, &h.LastStatus, &h.LastError, &at); err != nil {
			return nil, lrs.Internal(err, "reading target health")
		}
		if since > 0 {
			h.BreakerSince = time.UnixMicro(since).UTC()
		}
		if at > 0 {
			h.LastErrorAt = time.UnixMicro(at).UTC()
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, lrs.Internal(err, "reading target health")
	}
	return out, nil
}

func deadWhere(f lrs.DeadFilter) (string, []any) {
	where := "d.state = 1"
	var args []any
	if f.Target != "" {
		where += " AND d.target = ?"
		args = append(args, f.Target)
	}
	if len(f.IDs) > 0 {
		where += " AND d.id IN " + inList(len(f.IDs))
		args = append(args, int64Args(f.IDs)...)
	}
	return where, args
}

// ListDead implements lrs.Outbox.
func (db *DB) ListDead(ctx context.Context, f lrs.DeadFilter) ([]lrs.OutboxItem, error) {
	where, args := deadWhere(f)
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	return db.outboxItems(ctx, db.r, where, args, "d.id LIMIT "+strconv.Itoa(limit))
}

// ReplayDead implements lrs.Outbox: the deliveries become pending again,
// due now, with a fresh attempt count.
func (db *DB) ReplayDead(ctx context.Context, f lrs.DeadFilter, now time.Time) (int64, error) {
	where, args := deadWhere(f)
	where = strings.ReplaceAll(where, "d.", "")
	res, err := db.execRetry(ctx, "UPDATE deliveries SET state = 0, attempts = 0, next_at_us = ?, created_us = ?, lease_until_us = 0, last_error = '' WHERE "+where,
		append([]any{now.UnixMicro(), now.UnixMicro()}, args...)...)
	if err != nil {
		return 0, lrs.Internal(err, "replaying deliveries")
	}
	return res.RowsAffected()
}

// DiscardDead implements lrs.Outbox.
func (db *DB) DiscardDead(ctx context.Context, f lrs.DeadFilter) (int64, error) {
	where, args := deadWhere(f)
	where = strings.ReplaceAll(where, "d.", "")
	res, err := db.execRetry(ctx, "DELETE FROM deliveries WHERE "+where, args...)
	if err != nil {
		return 0, lrs.Internal(err, "discarding deliveries")
	}
	return res.RowsAffected()
}

// Backfill implements lrs.Outbox, reading statements in pages by primary key.
func (db *DB) Backfill(ctx context.Context, storeID int64, since time.Time, route func(stmt map[string]any) []lrs.Delivery) (int64, error) {
	var total int64
	after := int64(0)
	for {
		rows, err := db.r.QueryContext(ctx, "SELECT pk, stored_us, body FROM statements WHERE store_id = ? AND pk > ? AND stored_us >= ? ORDER BY pk LIMIT 500",
			storeID, after, since.UnixMicro())
		if err != nil {
			return total, lrs.Internal(err, "reading statements")
		}
		var args []any
		n, seen := 0, 0
		for rows.Next() {
			var pk, stored int64
			var body []byte
			if err := rows.Scan(&pk, &stored, &body); err != nil {
				rows.Close()
				return total, lrs.Internal(err, "reading statements")
			}
			seen++
			after = pk
			v, err := xapi.DecodeJSON(body)
			m, _ := v.(map[string]any)
			if err != nil || m == nil {
				continue
			}
			for _, d := range route(m) {
				args = append(args, storeID, pk, d.Target, d.Rule, d.PersonalKey, time.Now().UnixMicro(), stored)
				n++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, lrs.Internal(err, "reading statements")
		}
		// In chunks: many rules and targets per statement must not exceed
		// the placeholder limits (SQLite 32766, MySQL 65535).
		for start := 0; start < n; start += 500 {
			end := min(start+500, n)
			res, err := db.w.ExecContext(ctx, db.d.insertIgnore+" INTO deliveries (store_id, stmt_pk, target, rule, personal_key, next_at_us, created_us) VALUES "+
				placeholders(end-start, 7), args[start*7:end*7]...)
			if err != nil {
				return total, lrs.Internal(err, "recording deliveries")
			}
			k, _ := res.RowsAffected()
			total += k
		}
		if seen < 500 {
			return total, nil
		}
	}
}

// PutPersonalLRS implements lrs.PersonalStore.
func (db *DB) PutPersonalLRS(ctx context.Context, p *lrs.PersonalLRS) error {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now()
	}
	_, err := db.w.ExecContext(ctx, "REPLACE INTO personal_lrs (store_id, agent_key, agent, endpoint, version, credentials, created_us) VALUES (?,?,?,?,?,?,?)",
		p.StoreID, p.AgentKey, string(p.Agent), p.Endpoint, p.Version, p.Credentials, p.CreatedAt.UnixMicro())
	if err != nil {
		return lrs.Internal(err, "storing personal LRS")
	}
	return nil
}

const personalCols = "store_id, agent_key, agent, endpoint, version, credentials, created_us"

func scanPersonal(sc interface{ Scan(...any) error }) (*lrs.PersonalLRS, error) {
	var p lrs.PersonalLRS
	var agent string
	var created int64
	if err := sc.Scan(&p.StoreID, &p.AgentKey, &agent, &p.Endpoint, &p.Version, &p.Credentials, &created); err != nil {
		return nil, err
	}
	p.Agent = []byte(agent)
	p.CreatedAt = time.UnixMicro(created).UTC()
	return &p, nil
}

// GetPersonalLRS implements lrs.PersonalStore.
func (db *DB) GetPersonalLRS(ctx context.Context, storeID int64, agentKey string) (*lrs.PersonalLRS, error) {
	p, err := scanPersonal(db.r.QueryRowContext(ctx, "SELECT "+personalCols+" FROM personal_lrs WHERE store_id = ? AND agent_key = ?", storeID, agentKey))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no personal LRS registered for %s", agentKey)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading personal LRS")
	}
	return p, nil
}

// ListPersonalLRS implements lrs.PersonalStore; storeID 0 lists every store.
func (db *DB) ListPersonalLRS(ctx context.Context, storeID int64) ([]*lrs.PersonalLRS, error) {
	q, args := "SELECT "+personalCols+" FROM personal_lrs", []any{}
	if storeID != 0 {
		q += " WHERE store_id = ?"
		args = append(args, storeID)
	}
	rows, err := db.r.QueryContext(ctx, q+" ORDER BY store_id, agent_key", args...)
	if err != nil {
		return nil, lrs.Internal(err, "listing personal LRSs")
	}
	defer rows.Close()
	var out []*lrs.PersonalLRS
	for rows.Next() {
		p, err := scanPersonal(rows)
		if err != nil {
			return nil, lrs.Internal(err, "listing personal LRSs")
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePersonalLRS implements lrs.PersonalStore.
func (db *DB) DeletePersonalLRS(ctx context.Context, storeID int64, agentKey string) error {
	if _, err := db.w.ExecContext(ctx, "DELETE FROM personal_lrs WHERE store_id = ? AND agent_key = ?", storeID, agentKey); err != nil {
		return lrs.Internal(err, "deleting personal LRS")
	}
	return nil
}
