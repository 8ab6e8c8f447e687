package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// The size of what one query can carry.
//
// MySQL and MariaDB refuse a query longer than max_allowed_packet (MariaDB
// 10.6+: 16 MiB by default; MySQL 8: 64 MiB) with error 1153 and drop the
// connection. The bridge interpolates arguments into its queries, escaped,
// so a statement body, a document or an attachment costs up to twice its
// size in the query (every ", ', \ and control byte doubles). The store
// reads the server's max_allowed_packet once and:
//   - refuses with lrs.ETOOLARGE (413), naming the limit, a statement,
//     document or attachment whose row cannot fit in one query;
//   - cuts multi-row INSERTs (statements, activities) by size as well as
//     by count, so a batch of statements that each fit is stored.
//
// SQLite has no such limit (its 1 GB SQLITE_MAX_LENGTH is far beyond the
// bodies the HTTP layer accepts).

// queryOverhead is what a query holds besides its large values: SQL text,
// placeholders' small values (ids, hashes, numbers, escaped), the command
// byte.
const queryOverhead = 4 << 10

// extras is what a DB keeps about sizes: the server's query limit and the
// activity definition limits, with the count of definitions they kept out.
type extras struct {
	// packet is the largest query the server takes, in bytes: 0 not read
	// yet, -1 no limit (SQLite).
	packet   atomic.Int64
	packetMu sync.Mutex

	limits atomic.Pointer[xapi.DefinitionLimits]
	capped atomic.Int64
}

func (db *DB) ext() *extras { return &db.extra }

// LoadMaxAllowedPacket reads the server's max_allowed_packet (MySQL; on
// SQLite it records that there is no limit). Open calls it once the
// database answers.
func (db *DB) LoadMaxAllowedPacket(ctx context.Context) error {
	e := db.ext()
	e.packetMu.Lock()
	defer e.packetMu.Unlock()
	if db.d.name != MySQL {
		e.packet.Store(-1)
		return nil
	}
	var server int64
	if err := db.r.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&server); err != nil {
		return lrs.Internal(err, "reading max_allowed_packet")
	}
	limit := server
	// A DSN's maxAllowedPacket bounds what the driver sends (0: the
	// server's value).
	if cfg, err := mysql.ParseDSN(db.dsn); err == nil && cfg.MaxAllowedPacket > 0 && int64(cfg.MaxAllowedPacket) < limit {
		limit = int64(cfg.MaxAllowedPacket)
	}
	e.packet.Store(limit)
	return nil
}

// MaxAllowedPacket is the largest query the database takes in bytes (the
// server's max_allowed_packet, or the DSN's maxAllowedPacket when
// smaller), or -1 when there is no such limit (SQLite).
func (db *DB) MaxAllowedPacket() int64 {
	e := db.ext()
	if p := e.packet.Load(); p != 0 {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.LoadMaxAllowedPacket(ctx); err != nil {
		// Unknown: assume MariaDB's default rather than no limit. The
		// next call tries again.
		return 16 << 20
	}
	return e.packet.Load()
}

// queryBudget is how many bytes of escaped values one query may carry, or
// -1 for no limit.
func (db *DB) queryBudget() int64 {
	p := db.MaxAllowedPacket()
	if p < 0 {
		return -1
	}
	return max(p-queryOverhead, 0)
}

// escapedLen is the size of b in an interpolated query: _binary'…', with
// the bytes MySQL's backslash escaping doubles counted twice.
func escapedLen(b []byte) int64 {
	n := int64(len(b)) + 9
	for _, c := range []byte{'"', '\'', '\\', 0, '\n', '\r', 0x1a} {
		n += int64(bytes.Count(b, []byte{c}))
	}
	return n
}

// statementRowMax is the most one row of the statements INSERT can cost
// for a body of n bytes (every byte escaped): when it fits, the exact
// count (seven passes over the body) is not needed. Bodies are checked on
// ingest's path, so the common case costs no scan at all.
func statementRowMax(n int) int64 { return 2*int64(n) + 9 + 160 }

func escapedLenString(s string) int64 {
	// Escaping is the same for strings (without the _binary prefix).
	return escapedLen([]byte(s))
}

// tooLarge is the 413 for what (size bytes) when it does not fit.
func (db *DB) tooLarge(what string, size int) *lrs.Error {
	// The size last: the start of the message is the same for every
	// statement (a source counts its skips by the start of the reason).
	return lrs.Errorf(lrs.ETOOLARGE, "%s exceeds the database's max_allowed_packet of %d bytes once escaped into its query (it has %d bytes)",
		what, db.MaxAllowedPacket(), size)
}

// CheckStatementSize returns lrs.ETOOLARGE when a statement body cannot be
// stored in one query (MySQL's max_allowed_packet), nil otherwise. The
// service calls it on each statement (lrs.StatementSizeChecker), so a
// source's batch leaves such a statement out instead of failing.
func (db *DB) CheckStatementSize(body []byte) error {
	budget := db.queryBudget()
	if budget < 0 || statementRowMax(len(body)) <= budget || statementRowCost(body) <= budget {
		return nil
	}
	return db.tooLarge("statement", len(body))
}

// statementRowCost is what one row of the statements INSERT costs in the
// query: the escaped body and the row's other values (two escaped 16-byte
// ids, numbers, separators).
func statementRowCost(body []byte) int64 { return escapedLen(body) + 160 }

// checkStatements is CheckStatementSize for a whole insert and its
// attachments, before a transaction starts.
func (db *DB) checkStatements(stmts []*lrs.NewStatement, atts []lrs.Attachment) error {
	budget := db.queryBudget()
	if budget < 0 {
		return nil
	}
	for _, ns := range stmts {
		if statementRowMax(len(ns.Body)) > budget && statementRowCost(ns.Body) > budget {
			return db.tooLarge("statement "+ns.ID, len(ns.Body))
		}
	}
	for _, a := range atts {
		if err := db.checkAttachment(a, budget); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) checkAttachment(a lrs.Attachment, budget int64) error {
	if budget >= 0 && escapedLen(a.Content)+escapedLenString(a.ContentType)+100 > budget {
		return db.tooLarge("attachment "+a.SHA2, len(a.Content))
	}
	return nil
}

// checkDocument returns lrs.ETOOLARGE when the row of document d under key
// k cannot be written in one query.
func (db *DB) checkDocument(k lrs.DocumentKey, d *lrs.Document) error {
	budget := db.queryBudget()
	if budget < 0 {
		return nil
	}
	cost := escapedLen(d.Body) + escapedLenString(k.ActivityID) + escapedLenString(k.AgentKey) + escapedLenString(k.DocID) +
		escapedLenString(d.ContentType) + 200
	if cost > budget {
		return db.tooLarge(fmt.Sprintf("%s document", k.Kind), len(d.Body))
	}
	return nil
}

// rowBatcher cuts a multi-row INSERT by count and by size.
type rowBatcher struct {
	budget  int64 // -1: no size limit
	maxRows int
	rows    int
	bytes   int64
}

// fits reports whether a row costing cost bytes can join the INSERT being
// built; when it cannot, the caller flushes and calls add.
func (b *rowBatcher) fits(cost int64) bool {
	if b.rows == 0 {
		return true
	}
	if b.rows >= b.maxRows {
		return false
	}
	return b.budget < 0 || b.bytes+cost <= b.budget
}

func (b *rowBatcher) add(cost int64) { b.rows++; b.bytes += cost }
func (b *rowBatcher) reset()         { b.rows, b.bytes = 0, 0 }

// statementChunks cuts stmts into the row sets of multi-row INSERTs: at
// most chunk rows, and no more escaped bytes than one query takes.
func (db *DB) statementChunks(stmts []*lrs.NewStatement) [][]*lrs.NewStatement {
	b := rowBatcher{budget: db.queryBudget(), maxRows: chunk}
	if b.budget >= 0 {
		// Cut by size only when the rows could reach the limit at all.
		var most int64
		for _, ns := range stmts {
			most += statementRowMax(len(ns.Body))
		}
		if most <= b.budget {
			b.budget = -1
		}
	}
	var out [][]*lrs.NewStatement
	start := 0
	for i, ns := range stmts {
		var cost int64
		if b.budget >= 0 {
			cost = statementRowCost(ns.Body)
		}
		if !b.fits(cost) {
			out = append(out, stmts[start:i])
			start = i
			b.reset()
		}
		b.add(cost)
	}
	if start < len(stmts) {
		out = append(out, stmts[start:])
	}
	return out
}
