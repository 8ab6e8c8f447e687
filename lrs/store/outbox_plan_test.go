package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/internal/testmysql"
)

// The per-target queries of OutboxDetails read the index
// deliveries_attempts alone, on both databases, however many deliveries a
// target has pending: the status of a target that is down with a million
// pending must not read a million rows.
//
// And the claims' plans stay as they were before that index.
func TestOutboxDetailsPlansUseIndex(t *testing.T) {
	queries := []string{
		"SELECT MIN(created_us) FROM deliveries WHERE target = ? AND state = ? AND attempts = 0",
		"SELECT COUNT(*), MIN(created_us) FROM deliveries WHERE target = ? AND state = ? AND attempts > 0",
	}
	for _, driver := range []string{SQLite, MySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			dsn := filepath.Join(t.TempDir(), "plan.db")
			if driver == MySQL {
				dsn = testmysql.New(t)
			}
			db, err := Open(ctx, driver, dsn, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			// 3,000 deliveries for two targets, a tenth retrying, then fresh
			// statistics.
			var q strings.Builder
			q.WriteString("INSERT INTO deliveries (store_id, stmt_pk, target, rule, attempts, next_at_us, created_us) VALUES ")
			for i := range 3000 {
				if i > 0 {
					q.WriteByte(',')
				}
				fmt.Fprintf(&q, "(1, %d, '%s', 'r', %d, %d, %d)", i, []string{"lake", "archive"}[i%2], map[bool]int{true: 1}[i%10 == 0], i, i)
			}
			if _, err := db.w.ExecContext(ctx, q.String()); err != nil {
				t.Fatal(err)
			}
			analyze := "ANALYZE"
			if driver == MySQL {
				analyze = "ANALYZE TABLE deliveries"
			}
			if _, err := db.w.ExecContext(ctx, analyze); err != nil {
				t.Fatal(err)
			}
			for _, query := range queries {
				if !indexOnly(driver, planOf(t, db, driver, query, "lake", deliveryPending)) {
					t.Errorf("%s: does not read the index deliveries_attempts alone", query)
				}
			}
			// The claims keep to the due index (SELECTs) and the primary key
			// (the lease UPDATE): deliveries_attempts must not change their
			// plans (see claimLeaseMySQL).
			c := claim{target: "lake", parts: 1, limit: 100, now: 5000, lease: 9000}
			due, args := c.due()
			if driver == SQLite {
				q := "SELECT " + claimCols + claimFrom + "WHERE " + due + " ORDER BY d.next_at_us, d.id LIMIT ?"
				if p := planOf(t, db, driver, q, append(args, c.limit)...); !strings.Contains(p, "INDEX deliveries_due") || strings.Contains(p, "TEMP B-TREE") {
					t.Errorf("SQLite claim: %s, want the due index, in its order", p)
				}
				return
			}
			for _, q := range []string{claimReadMySQL(due), claimScanMySQL(due)} {
				if p := planOf(t, db, driver, q, append(args, c.limit)...); !strings.Contains(p, "key=deliveries_due ") || strings.Contains(p, "filesort") {
					t.Errorf("%s: %s, want the due index, in its order", q, p)
				}
			}
			lease := []any{c.lease, c.target, c.now, c.now}
			for i := 1; i <= 400; i++ {
				lease = append(lease, int64(i))
			}
			for i := 1; i <= 400; i++ {
				lease = append(lease, int64(i), 0, int64(i))
			}
			if p := planOf(t, db, driver, claimLeaseMySQL(400), lease...); !strings.Contains(p, "key=PRIMARY ") || strings.Contains(p, "deliveries_attempts") {
				t.Errorf("lease UPDATE: %s, want the primary key, deliveries_attempts not considered", p)
			}
		})
	}
}

// indexOnly reports whether a plan reads deliveries_attempts alone (a
// covering index, or MySQL answering MIN from the index without reading
// the table).
func indexOnly(driver, plan string) bool {
	if driver == MySQL {
		return strings.Contains(plan, "Select tables optimized away") ||
			(strings.Contains(plan, "key=deliveries_attempts ") && strings.Contains(plan, "Using index"))
	}
	return strings.Contains(plan, "COVERING INDEX deliveries_attempts")
}

// planOf is the plan of query, one line per table, logged.
func planOf(t *testing.T, db *DB, driver, query string, args ...any) string {
	t.Helper()
	prefix := "EXPLAIN QUERY PLAN "
	if driver == MySQL {
		prefix = "EXPLAIN "
	}
	rows, err := db.r.QueryContext(context.Background(), prefix+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for i, c := range cols {
			m[c] = vals[i].String
		}
		if driver == MySQL {
			lines = append(lines, fmt.Sprintf("type=%s possible_keys=%s key=%s rows=%s extra=%s", m["type"], m["possible_keys"], m["key"], m["rows"], m["Extra"]))
		} else {
			lines = append(lines, m["detail"])
		}
	}
	plan := strings.Join(lines, "; ")
	if len(query) > 200 {
		query = query[:200] + "..."
	}
	t.Logf("%s: %s", query, plan)
	return plan
}
