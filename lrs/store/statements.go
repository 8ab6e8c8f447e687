package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Kinds of statement_index rows.
const (
	kindAgent           = 1 // actor, or object when an Agent/Group
	kindRelatedAgent    = 2 // any agent anywhere (related_agents=true)
	kindActivity        = 3 // object activity
	kindRelatedActivity = 4 // object or any context activity (related_activities=true)
	kindVerb            = 5
	kindRegistration    = 6
	kindAuthority       = 7 // who stored it (statements/read/mine); not inherited
)

func keyHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:16]
}

type indexRow struct {
	kind int
	hash string // 16 bytes as a string, usable as a map key
}

func indexRows(ns *lrs.NewStatement) []indexRow {
	seen := map[indexRow]bool{}
	var out []indexRow
	add := func(kind int, key string) {
		if key == "" {
			return
		}
		r := indexRow{kind, string(keyHash(key))}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	r := ns.Refs
	for _, a := range r.Agents {
		add(kindAgent, a)
		add(kindRelatedAgent, a)
	}
	for _, a := range r.RelatedAgents {
		add(kindRelatedAgent, a)
	}
	for _, a := range r.Activities {
		add(kindActivity, a)
		add(kindRelatedActivity, a)
	}
	for _, a := range r.RelatedActivities {
		add(kindRelatedActivity, a)
	}
	add(kindVerb, r.Verb)
	add(kindRegistration, strings.ToLower(r.Registration))
	add(kindAuthority, ns.AuthorityKey)
	return out
}

func uuidBytes(s string) []byte {
	u, err := uuid.Parse(s)
	if err != nil {
		return nil
	}
	return u[:]
}

func uuidString(b []byte) string {
	u, err := uuid.FromBytes(b)
	if err != nil {
		return ""
	}
	return u.String()
}

// InsertStatements implements lrs.StatementStore.
func (db *DB) InsertStatements(ctx context.Context, storeID int64, stmts []*lrs.NewStatement, atts []lrs.Attachment) (int, error) {
	return db.insert(ctx, storeID, stmts, atts, nil)
}

// InsertStatementsAt implements lrs.CheckpointStore: it stores stmts and
// moves the source's cursor in one transaction. Ids that exist already are
// skipped whatever their content: a source's ids are derived from its rows,
// so an existing id means the row was stored before.
func (db *DB) InsertStatementsAt(ctx context.Context, storeID int64, stmts []*lrs.NewStatement, cp *lrs.Checkpoint) (int, error) {
	return db.insert(ctx, storeID, stmts, nil, cp)
}

// SyncCursor implements lrs.CheckpointStore.
func (db *DB) SyncCursor(ctx context.Context, source string) (*lrs.Checkpoint, error) {
	cp := &lrs.Checkpoint{Source: source}
	var status string
	var updated int64
	err := db.r.QueryRowContext(ctx, "SELECT position, status, updated_us FROM sync_cursors WHERE source = ?", source).Scan(&cp.Position, &status, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return cp, nil
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading sync cursor")
	}
	cp.Status = []byte(status)
	cp.Updated = time.UnixMicro(updated).UTC()
	return cp, nil
}

func (db *DB) insert(ctx context.Context, storeID int64, stmts []*lrs.NewStatement, atts []lrs.Attachment, cp *lrs.Checkpoint) (int, error) {
	// A statement or attachment too large for one query (MySQL's
	// max_allowed_packet) is a 413 before any transaction starts.
	if err := db.checkStatements(stmts, atts); err != nil {
		return 0, err
	}
	var n int
	// Concurrent writers (group commit's, a sync's) can deadlock on the
	// rows they share (activities, a cursor): the loser runs again.
	err := db.retryWrite(ctx, func() error {
		var err error
		n, err = db.insertOnce(ctx, storeID, stmts, atts, cp)
		if err != nil && isDuplicate(err) {
			// A concurrent request stored one of these ids between our
			// check and our insert; a second pass sees it and compares
			// contents.
			n, err = db.insertOnce(ctx, storeID, stmts, atts, cp)
		}
		return err
	})
	return n, err
}

const chunk = 400

func (db *DB) insertOnce(ctx context.Context, storeID int64, stmts []*lrs.NewStatement, atts []lrs.Attachment, cp *lrs.Checkpoint) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "database unavailable", Cause: err}
	}
	defer tx.Rollback()

	// 1. Ids that exist already: equivalent content is a no-op, else 409.
	// The same query finds statements stored earlier that reference these
	// ids (StatementRef), for step 6.
	fresh := make([]*lrs.NewStatement, 0, len(stmts))
	existing, referenced, err := db.existingAndReferenced(ctx, tx, storeID, stmts)
	if err != nil {
		return 0, err
	}
	for _, ns := range stmts {
		body, ok := existing[ns.ID]
		if !ok {
			fresh = append(fresh, ns)
			continue
		}
		if cp != nil {
			continue
		}
		old, err := xapi.DecodeJSON(body)
		om, _ := old.(map[string]any)
		if err != nil || !xapi.Equivalent(om, ns.Statement) {
			return 0, lrs.Errorf(lrs.ECONFLICT, "statement %s already exists with different content", ns.ID)
		}
	}
	if len(fresh) == 0 {
		if cp != nil {
			if err := db.moveCursor(ctx, tx, cp); err != nil {
				return 0, err
			}
			if err := tx.Commit(); err != nil {
				return 0, lrs.Internal(err, "committing sync cursor")
			}
		}
		return 0, nil
	}
	if err := db.insertAttachments(ctx, tx, storeID, atts); err != nil {
		return 0, err
	}

	// 2. The statements, in multi-row INSERTs, and 3. their primary keys.
	pks, err := db.insertRows(ctx, tx, storeID, fresh)
	if err != nil {
		return 0, err
	}

	// 3b. The forwarding outbox, in the same transaction: a stored
	// statement can never lose a delivery.
	if err := db.insertDeliveries(ctx, tx, storeID, fresh, pks); err != nil {
		return 0, err
	}

	// 4. The filter index.
	var rows []any
	nrows := 0
	flush := func() error {
		if nrows == 0 {
			return nil
		}
		q := "INSERT INTO statement_index (store_id, kind, hash, stmt_pk) VALUES " + placeholders(nrows, 4)
		_, err := tx.ExecContext(ctx, q, rows...)
		rows, nrows = rows[:0], 0
		return err
	}
	for _, ns := range fresh {
		pk := pks[ns.ID]
		for _, r := range indexRows(ns) {
			rows = append(rows, storeID, r.kind, []byte(r.hash), pk)
			nrows++
			if nrows == 4000 {
				if err := flush(); err != nil {
					return 0, lrs.Internal(err, "indexing statements")
				}
			}
		}
	}
	if err := flush(); err != nil {
		return 0, lrs.Internal(err, "indexing statements")
	}
	seenActs, err := db.upsertActivities(ctx, tx, storeID, fresh)
	if err != nil {
		return 0, err
	}

	// 5. StatementRefs: a referencing statement matches what its target
	// matches; voiding statements void their target (never another voiding
	// statement).
	for _, ns := range fresh {
		if ns.Refs.StatementRef == "" {
			continue
		}
		if err := db.inheritFrom(ctx, tx, storeID, pks[ns.ID], ns.Refs.StatementRef); err != nil {
			return 0, err
		}
		if ns.Refs.Voiding {
			if _, err := tx.ExecContext(ctx, "UPDATE statements SET voided = 1 WHERE store_id = ? AND id = ? AND voiding = 0",
				storeID, uuidBytes(ns.Refs.StatementRef)); err != nil {
				return 0, lrs.Internal(err, "voiding statement")
			}
		}
	}
	// 6. Statements stored earlier that reference the new ones.
	if err := db.propagateToReferrers(ctx, tx, storeID, fresh, pks, referenced); err != nil {
		return 0, err
	}
	// 7. The source's cursor, last: its row is the one every batch of a
	// source writes, and its lock is held from here to the commit, so a
	// second batch of the same source stores everything above in parallel
	// and waits only for this.
	if cp != nil {
		if err := db.moveCursor(ctx, tx, cp); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, lrs.Internal(err, "committing statements")
	}
	db.rememberActivities(seenActs)
	return len(fresh), nil
}

// moveCursor writes a source's cursor in tx.
func (db *DB) moveCursor(ctx context.Context, tx *sql.Tx, cp *lrs.Checkpoint) error {
	status := cp.Status
	if len(status) == 0 {
		status = []byte("{}")
	}
	if _, err := tx.ExecContext(ctx, "REPLACE INTO sync_cursors (source, position, status, updated_us) VALUES (?,?,?,?)",
		cp.Source, cp.Position, string(status), time.Now().UnixMicro()); err != nil {
		return lrs.Internal(err, "moving sync cursor")
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func idArgs(storeID int64, stmts []*lrs.NewStatement) []any {
	args := make([]any, 0, len(stmts)+1)
	args = append(args, storeID)
	for _, ns := range stmts {
		args = append(args, uuidBytes(ns.ID))
	}
	return args
}

func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
}

// existingAndReferenced returns the stored bodies of the ids in stmts that
// exist, and which of those ids statements stored earlier reference, in
// one round trip per chunk.
func (db *DB) existingAndReferenced(ctx context.Context, tx *sql.Tx, storeID int64, stmts []*lrs.NewStatement) (map[string][]byte, map[string]bool, error) {
	existing := map[string][]byte{}
	referenced := map[string]bool{}
	for start := 0; start < len(stmts); start += chunk {
		part := stmts[start:min(start+chunk, len(stmts))]
		in := inList(len(part))
		args := idArgs(storeID, part)
		args = append(args, args...)
		rows, err := tx.QueryContext(ctx, "SELECT 0, id, body FROM statements WHERE store_id = ? AND id IN "+in+
			" UNION ALL SELECT DISTINCT 1, ref_id, NULL FROM statements WHERE store_id = ? AND ref_id IN "+in, args...)
		if err != nil {
			return nil, nil, lrs.Internal(err, "checking statement ids")
		}
		for rows.Next() {
			var kind int
			var id, body []byte
			if err := rows.Scan(&kind, &id, &body); err != nil {
				rows.Close()
				return nil, nil, lrs.Internal(err, "checking statement ids")
			}
			if kind == 0 {
				existing[uuidString(id)] = body
			} else {
				referenced[uuidString(id)] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, lrs.Internal(err, "checking statement ids")
		}
	}
	return existing, referenced, nil
}

// insertRows inserts the statements rows of fresh and returns their
// primary keys by id: with INSERT … RETURNING where the database has it,
// else with a SELECT after the INSERT.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, storeID int64, fresh []*lrs.NewStatement) (map[string]int64, error) {
	pks := make(map[string]int64, len(fresh))
	// By count and by size: a query must fit in max_allowed_packet.
	for _, part := range db.statementChunks(fresh) {
		args := make([]any, 0, len(part)*7)
		for _, ns := range part {
			var ref []byte
			if ns.Refs.StatementRef != "" {
				ref = uuidBytes(ns.Refs.StatementRef)
			}
			args = append(args, storeID, uuidBytes(ns.ID), ns.Stored.UnixMicro(), 0, boolInt(ns.Refs.Voiding), ref, ns.Body)
		}
		q := "INSERT INTO statements (store_id, id, stored_us, voided, voiding, ref_id, body) VALUES " + placeholders(len(part), 7)
		if !db.returning {
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return nil, lrs.Internal(err, "inserting statements")
			}
			continue
		}
		rows, err := tx.QueryContext(ctx, q+" RETURNING id, pk", args...)
		if err != nil {
			return nil, lrs.Internal(err, "inserting statements")
		}
		if err := scanIDKeys(rows, pks); err != nil {
			return nil, lrs.Internal(err, "inserting statements")
		}
	}
	if !db.returning {
		return db.pksByID(ctx, tx, storeID, fresh)
	}
	if len(pks) != len(fresh) {
		return nil, lrs.Internal(fmt.Errorf("INSERT … RETURNING gave %d keys for %d statements", len(pks), len(fresh)), "inserting statements")
	}
	return pks, nil
}

func (db *DB) pksByID(ctx context.Context, tx *sql.Tx, storeID int64, stmts []*lrs.NewStatement) (map[string]int64, error) {
	out := make(map[string]int64, len(stmts))
	for start := 0; start < len(stmts); start += chunk {
		part := stmts[start:min(start+chunk, len(stmts))]
		rows, err := tx.QueryContext(ctx, "SELECT id, pk FROM statements WHERE store_id = ? AND id IN "+inList(len(part)), idArgs(storeID, part)...)
		if err != nil {
			return nil, lrs.Internal(err, "reading statement keys")
		}
		if err := scanIDKeys(rows, out); err != nil {
			return nil, lrs.Internal(err, "reading statement keys")
		}
	}
	return out, nil
}

// scanIDKeys reads (id, pk) rows into out, by id, and closes rows.
func scanIDKeys(rows *sql.Rows, out map[string]int64) error {
	defer rows.Close()
	for rows.Next() {
		var id []byte
		var pk int64
		if err := rows.Scan(&id, &pk); err != nil {
			return err
		}
		out[uuidString(id)] = pk
	}
	return rows.Err()
}

// copyIndex gives statement toPK every inheritable index row of fromPK.
func (db *DB) copyIndex(ctx context.Context, tx *sql.Tx, storeID, fromPK, toPK int64) error {
	q := db.d.insertIgnore + " INTO statement_index (store_id, kind, hash, stmt_pk) " +
		"SELECT store_id, kind, hash, ? FROM statement_index WHERE store_id = ? AND stmt_pk = ? AND kind <> ?"
	if _, err := tx.ExecContext(ctx, q, toPK, storeID, fromPK, kindAuthority); err != nil {
		return lrs.Internal(err, "indexing statement reference")
	}
	return nil
}

// inheritFrom copies the index rows of the statement with id target (if it
// is stored) to statement pk.
func (db *DB) inheritFrom(ctx context.Context, tx *sql.Tx, storeID, pk int64, target string) error {
	var tpk int64
	err := tx.QueryRowContext(ctx, "SELECT pk FROM statements WHERE store_id = ? AND id = ?", storeID, uuidBytes(target)).Scan(&tpk)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return lrs.Internal(err, "reading referenced statement")
	}
	if tpk == pk {
		return nil
	}
	return db.copyIndex(ctx, tx, storeID, tpk, pk)
}

type target struct {
	pk      int64
	id      []byte
	voiding bool
}

// propagateToReferrers handles statements that reference the newly stored
// ones (possibly stored before them): they inherit the new statements'
// index rows, transitively, and a voiding statement among them voids its
// newly arrived target.
func (db *DB) propagateToReferrers(ctx context.Context, tx *sql.Tx, storeID int64, fresh []*lrs.NewStatement, pks map[string]int64, referenced map[string]bool) error {
	// Statements stored before this transaction that reference the new ones
	// were found with the id check (referenced). A new statement that
	// references another new one needs a fresh look, after the INSERT.
	var queue []target
	inBatch := false
	for _, ns := range fresh {
		if ns.Refs.StatementRef != "" {
			if _, ok := pks[strings.ToLower(ns.Refs.StatementRef)]; ok {
				inBatch = true
				break
			}
		}
	}
	if !inBatch {
		for _, ns := range fresh {
			if referenced[ns.ID] {
				queue = append(queue, target{pk: pks[ns.ID], id: uuidBytes(ns.ID)})
			}
		}
	}
	for start := 0; inBatch && start < len(fresh); start += chunk {
		part := fresh[start:min(start+chunk, len(fresh))]
		rows, err := tx.QueryContext(ctx, "SELECT DISTINCT ref_id FROM statements WHERE store_id = ? AND ref_id IN "+inList(len(part)), idArgs(storeID, part)...)
		if err != nil {
			return lrs.Internal(err, "finding statement references")
		}
		for rows.Next() {
			var id []byte
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return lrs.Internal(err, "finding statement references")
			}
			queue = append(queue, target{pk: pks[uuidString(id)], id: id})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return lrs.Internal(err, "finding statement references")
		}
	}
	if len(queue) == 0 {
		return nil
	}
	for _, ns := range fresh {
		for i := range queue {
			if pks[ns.ID] == queue[i].pk {
				queue[i].voiding = ns.Refs.Voiding
			}
		}
	}
	visited := map[int64]bool{}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		if visited[t.pk] {
			continue
		}
		visited[t.pk] = true
		rows, err := tx.QueryContext(ctx, "SELECT pk, id, voiding FROM statements WHERE store_id = ? AND ref_id = ?", storeID, t.id)
		if err != nil {
			return lrs.Internal(err, "finding statement references")
		}
		var refs []target
		for rows.Next() {
			var r target
			var v int
			if err := rows.Scan(&r.pk, &r.id, &v); err != nil {
				rows.Close()
				return lrs.Internal(err, "finding statement references")
			}
			r.voiding = v == 1
			refs = append(refs, r)
		}
		rows.Close()
		for _, r := range refs {
			if r.pk == t.pk {
				continue
			}
			if err := db.copyIndex(ctx, tx, storeID, t.pk, r.pk); err != nil {
				return err
			}
			if r.voiding && !t.voiding {
				if _, err := tx.ExecContext(ctx, "UPDATE statements SET voided = 1 WHERE store_id = ? AND pk = ?", storeID, t.pk); err != nil {
					return lrs.Internal(err, "voiding statement")
				}
			}
			queue = append(queue, r)
		}
	}
	return nil
}

// GetStatement implements lrs.StatementStore.
func (db *DB) GetStatement(ctx context.Context, storeID int64, id string) (*lrs.StoredStatement, error) {
	b := uuidBytes(id)
	if b == nil {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no statement with id %s", id)
	}
	var st lrs.StoredStatement
	var storedUS int64
	var voided int
	var idb []byte
	err := db.r.QueryRowContext(ctx, "SELECT pk, id, stored_us, voided, body FROM statements WHERE store_id = ? AND id = ?", storeID, b).
		Scan(&st.PK, &idb, &storedUS, &voided, &st.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no statement with id %s", id)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading statement")
	}
	st.ID = uuidString(idb)
	st.Stored = time.UnixMicro(storedUS).UTC()
	st.Voided = voided == 1
	return &st, nil
}

// QueryStatements implements lrs.StatementStore. It pages by primary key
// (keyset), never by OFFSET, so page 20 costs what page 1 costs.
func (db *DB) QueryStatements(ctx context.Context, storeID int64, q lrs.Query) ([]lrs.StoredStatement, bool, error) {
	from, where, args, pkCol := db.statementFilter(storeID, q, false)
	order, cmp := "DESC", "<"
	if q.Ascending {
		order, cmp = "ASC", ">"
	}
	var sb strings.Builder
	sb.WriteString("SELECT s.pk, s.id, s.stored_us, s.body FROM " + from + " WHERE " + where)
	if q.After > 0 {
		sb.WriteString(" AND " + pkCol + " " + cmp + " ?")
		args = append(args, q.After)
	}
	sb.WriteString(" ORDER BY " + pkCol + " " + order + " LIMIT ?")
	args = append(args, q.Limit+1)

	rows, err := db.r.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, false, lrs.Internal(err, "querying statements")
	}
	defer rows.Close()
	out := make([]lrs.StoredStatement, 0, min(q.Limit+1, 128))
	var size int64
	for rows.Next() {
		var st lrs.StoredStatement
		var idb []byte
		var storedUS int64
		if err := rows.Scan(&st.PK, &idb, &storedUS, &st.Body); err != nil {
			return nil, false, lrs.Internal(err, "querying statements")
		}
		st.ID = uuidString(idb)
		st.Stored = time.UnixMicro(storedUS).UTC()
		out = append(out, st)
		// A page holds at most q.MaxBytes of bodies (at least one
		// statement): the rest comes with the next page.
		if size += int64(len(st.Body)); q.MaxBytes > 0 && size >= q.MaxBytes && len(out) <= q.Limit {
			more := rows.Next()
			if err := rows.Err(); err != nil {
				return nil, false, lrs.Internal(err, "querying statements")
			}
			return out, more, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, lrs.Internal(err, "querying statements")
	}
	more := len(out) > q.Limit
	if more {
		out = out[:q.Limit]
	}
	return out, more, nil
}
