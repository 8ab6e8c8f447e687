package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/internal/testmysql"
)

// The ids check of a big batch (chunks of 400 ids) must look up
// statements.ref_id by range, not scan every statement of the store: the
// column is NULL in almost every row, and past eq_range_index_dive_limit
// values the planner's guess from index statistics made a full scan look
// cheaper, so inserts slowed as the store grew.
func TestRefLookupPlanUsesRange(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, MySQL, testmysql.New(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// 4,000 statements without a StatementRef, then fresh statistics.
	for b := 0; b < 4; b++ {
		var q strings.Builder
		q.WriteString("INSERT INTO statements (store_id, id, stored_us, body) VALUES ")
		for i := 0; i < 1000; i++ {
			if i > 0 {
				q.WriteByte(',')
			}
			fmt.Fprintf(&q, "(1, UNHEX('%x'), %d, '{}')", randomID(), b*1000+i)
		}
		if _, err := db.w.ExecContext(ctx, q.String()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.w.ExecContext(ctx, "ANALYZE TABLE statements"); err != nil {
		t.Fatal(err)
	}
	args := []any{int64(1)}
	for i := 0; i < chunk; i++ {
		args = append(args, randomID())
	}
	// One connection, as a transaction has: the session variable is the
	// connection's.
	conn, err := db.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.QueryContext(ctx, "EXPLAIN SELECT DISTINCT 1, ref_id, NULL FROM statements WHERE store_id = ? AND ref_id IN "+inList(chunk), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	// By column name: MySQL's EXPLAIN has more columns than MariaDB's.
	cols, _ := res.Columns()
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !res.Next() {
		t.Fatal("EXPLAIN returned no row")
	}
	if err := res.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	plan := map[string]string{}
	for i, c := range cols {
		plan[c] = vals[i].String
	}
	typ, key := plan["type"], plan["key"]
	rows, _ := strconv.ParseInt(plan["rows"], 10, 64)
	if typ != "range" || key != "statements_ref" || rows > int64(chunk) {
		t.Fatalf("plan for %d ref ids: type %q key %q rows %d; want a range on statements_ref of at most %d rows", chunk, typ, key, rows, chunk)
	}
}

func randomID() []byte {
	b := make([]byte, 16)
	rand.Read(b)
	return b
}
