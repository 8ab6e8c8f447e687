package store

import (
	"context"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// scanPage is how many statements ScanStatements reads per query: memory
// is bounded by one page of bodies whatever the size of the store.
const scanPage = 500

// deleteBatch is how many statements DeleteStatementsUpTo removes per
// transaction.
const deleteBatch = 1000

// statementFilter builds the FROM and WHERE of a statement query from the
// filters of q (as QueryStatements applies them: registration, agent,
// activity, verb, authority, agents, since, until), for an ascending scan.
// pkCol is the column to page and order by. Voided statements match only
// when withVoided.
//
// Without filters, the scan walks the primary key: on SQLite NOT INDEXED
// (the rowid order, never a sort of the whole store per page), on MySQL the
// (store_id, voided, pk) index or, with voided statements, the primary key.
func (db *DB) statementFilter(storeID int64, q lrs.Query, withVoided bool) (from, where string, args []any, pkCol string) {
	type filter struct {
		kind int
		key  string
	}
	var filters []filter
	if q.Registration != "" {
		filters = append(filters, filter{kindRegistration, strings.ToLower(q.Registration)})
	}
	if q.Agent != "" {
		k := kindAgent
		if q.RelatedAgents {
			k = kindRelatedAgent
		}
		filters = append(filters, filter{k, q.Agent})
	}
	if q.Activity != "" {
		k := kindActivity
		if q.RelatedActivities {
			k = kindRelatedActivity
		}
		filters = append(filters, filter{k, q.Activity})
	}
	if q.Verb != "" {
		filters = append(filters, filter{kindVerb, q.Verb})
	}
	if q.AuthorityKey != "" {
		filters = append(filters, filter{kindAuthority, q.AuthorityKey})
	}
	agentsKind := kindAgent
	if q.RelatedAgents {
		agentsKind = kindRelatedAgent
	}

	var w strings.Builder
	if len(filters) > 0 {
		pkCol = "i0.stmt_pk"
		from = "statement_index i0 JOIN statements s ON s.pk = i0.stmt_pk"
		w.WriteString("i0.store_id = ? AND i0.kind = ? AND i0.hash = ?")
		args = append(args, storeID, filters[0].kind, keyHash(filters[0].key))
		for _, f := range filters[1:] {
			w.WriteString(" AND EXISTS (SELECT 1 FROM statement_index x WHERE x.store_id = ? AND x.kind = ? AND x.hash = ? AND x.stmt_pk = s.pk)")
			args = append(args, storeID, f.kind, keyHash(f.key))
		}
		w.WriteString(" AND s.store_id = ?")
		args = append(args, storeID)
	} else {
		pkCol = "s.pk"
		switch {
		case db.d.name == SQLite:
			from = "statements s NOT INDEXED"
		case withVoided:
			from = "statements s FORCE INDEX (PRIMARY)"
		default:
			from = "statements s FORCE INDEX (statements_store_pk)"
		}
		w.WriteString("s.store_id = ?")
		args = append(args, storeID)
	}
	if !withVoided {
		w.WriteString(" AND s.voided = 0")
	}
	if len(q.Agents) > 0 {
		w.WriteString(" AND EXISTS (SELECT 1 FROM statement_index y WHERE y.store_id = ? AND y.kind = ? AND y.hash IN " +
			inList(len(q.Agents)) + " AND y.stmt_pk = s.pk)")
		args = append(args, storeID, agentsKind)
		for _, a := range q.Agents {
			args = append(args, keyHash(a))
		}
	}
	if q.Since != nil {
		w.WriteString(" AND s.stored_us > ?")
		args = append(args, q.Since.UnixMicro())
	}
	if q.Until != nil {
		w.WriteString(" AND s.stored_us <= ?")
		args = append(args, q.Until.UnixMicro())
	}
	return from, w.String(), args, pkCol
}

// ScanStatements implements admin.Exporter. It reads pages of scanPage
// statements by primary key (keyset, never OFFSET), closes each page's
// result set before calling fn, and stops at the first error fn returns
// (which it returns as is).
func (db *DB) ScanStatements(ctx context.Context, storeID int64, q lrs.Query, withVoided bool, fn func(lrs.StoredStatement) error) error {
	from, where, args, pkCol := db.statementFilter(storeID, q, withVoided)
	query := "SELECT s.pk, s.id, s.stored_us, s.voided, s.body FROM " + from + " WHERE " + where +
		" AND " + pkCol + " > ? ORDER BY " + pkCol + " ASC LIMIT ?"
	after := q.After
	page := make([]lrs.StoredStatement, 0, scanPage)
	for {
		page = page[:0]
		rows, err := db.r.QueryContext(ctx, query, append(args, after, scanPage)...)
		if err != nil {
			return lrs.Internal(err, "scanning statements")
		}
		for rows.Next() {
			var st lrs.StoredStatement
			var idb []byte
			var storedUS int64
			var voided int
			if err := rows.Scan(&st.PK, &idb, &storedUS, &voided, &st.Body); err != nil {
				rows.Close()
				return lrs.Internal(err, "scanning statements")
			}
			st.ID = uuidString(idb)
			st.Stored = time.UnixMicro(storedUS).UTC()
			st.Voided = voided == 1
			page = append(page, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return lrs.Internal(err, "scanning statements")
		}
		for i := range page {
			if err := fn(page[i]); err != nil {
				return err
			}
			page[i].Body = nil // let the page's bodies go as soon as they are written
		}
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].PK
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// DeleteStatementsUpTo implements admin.Exporter: it removes the store's
// statements with pk <= maxPK, with their index rows and deliveries, in
// transactions of deleteBatch statements, so a huge delete never holds one
// giant transaction (or, on SQLite, the write lock for long).
func (db *DB) DeleteStatementsUpTo(ctx context.Context, storeID, maxPK int64) (int64, error) {
	var total int64
	var lo int64 // pks <= lo are done
	pkQuery := "SELECT pk FROM statements NOT INDEXED WHERE store_id = ? AND pk > ? AND pk <= ? ORDER BY pk LIMIT 1 OFFSET ?"
	if db.d.name == MySQL {
		pkQuery = "SELECT pk FROM statements FORCE INDEX (PRIMARY) WHERE store_id = ? AND pk > ? AND pk <= ? ORDER BY pk LIMIT 1 OFFSET ?"
	}
	for lo < maxPK {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		// hi: the deleteBatch-th pk of the store after lo, or maxPK.
		hi := maxPK
		var p int64
		err := db.r.QueryRowContext(ctx, pkQuery, storeID, lo, maxPK, deleteBatch-1).Scan(&p)
		if err == nil {
			hi = p
		}
		n, err := db.deleteRange(ctx, storeID, lo, hi)
		if err != nil {
			return total, err
		}
		total += n
		lo = hi
	}
	return total, nil
}

// deleteRange deletes the statements of a store with lo < pk <= hi, their
// index rows and deliveries, in one transaction.
func (db *DB) deleteRange(ctx context.Context, storeID, lo, hi int64) (int64, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "database unavailable", Cause: err}
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM statement_index WHERE store_id = ? AND stmt_pk > ? AND stmt_pk <= ?", storeID, lo, hi); err != nil {
		return 0, lrs.Internal(err, "deleting statement index")
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM deliveries WHERE store_id = ? AND stmt_pk > ? AND stmt_pk <= ?", storeID, lo, hi); err != nil {
		return 0, lrs.Internal(err, "deleting deliveries")
	}
	del := "DELETE FROM statements WHERE store_id = ? AND pk > ? AND pk <= ?"
	if db.d.name == SQLite {
		del = "DELETE FROM statements NOT INDEXED WHERE store_id = ? AND pk > ? AND pk <= ?" // by rowid range
	}
	res, err := tx.ExecContext(ctx, del, storeID, lo, hi)
	if err != nil {
		return 0, lrs.Internal(err, "deleting statements")
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, lrs.Internal(err, "deleting statements")
	}
	return n, nil
}
