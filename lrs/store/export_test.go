package store_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/lrs/admin"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

// routeAll sends every statement to target "t", so the outbox has rows.
type routeAll struct{}

func (routeAll) Routed() {}

func (routeAll) Route(int64, map[string]any) []lrs.Delivery {
	return []lrs.Delivery{{Target: "t", Rule: "r"}}
}

func scanAll(t *testing.T, db *store.DB, storeID int64, q lrs.Query, withVoided bool) []lrs.StoredStatement {
	t.Helper()
	var out []lrs.StoredStatement
	err := db.ScanStatements(context.Background(), storeID, q, withVoided, func(st lrs.StoredStatement) error {
		st.Body = append([]byte(nil), st.Body...)
		out = append(out, st)
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

func pending(t *testing.T, db *store.DB) int64 {
	t.Helper()
	st, err := db.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, s := range st {
		n += s.Pending
	}
	return n
}

func TestScanStatements(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := service(db)
		const n = 1203 // more than two pages
		var batch []map[string]any
		for i := 0; i < n; i++ {
			verb := "experienced"
			if i%3 == 0 {
				verb = "completed"
			}
			batch = append(batch, stmt(newID(), fmt.Sprintf("u%d", i%10), verb, fmt.Sprintf("a%d", i%7), nil))
		}
		ids := mustStore(t, svc, batch...)
		// Another store's statements never show up.
		other := *writer
		other.StoreID = 2
		if _, err := svc.StoreStatements(ctx, &other, "2.0.0", []map[string]any{clone(stmt("", "u1", "completed", "a1", nil))}, false, nil); err != nil {
			t.Fatal(err)
		}

		all := scanAll(t, db, 1, lrs.Query{}, false)
		if len(all) != n {
			t.Fatalf("scan: %d statements, want %d", len(all), n)
		}
		for i, st := range all {
			if st.ID != ids[i] {
				t.Fatalf("scan[%d] = %s, want %s (oldest first)", i, st.ID, ids[i])
			}
			if i > 0 && st.PK <= all[i-1].PK {
				t.Fatalf("scan not in pk order at %d", i)
			}
		}
		// Filters as GET /statements.
		completed := scanAll(t, db, 1, lrs.Query{Verb: "http://adlnet.gov/expapi/verbs/completed"}, false)
		if len(completed) != (n+2)/3 {
			t.Errorf("verb filter: %d, want %d", len(completed), (n+2)/3)
		}
		both := scanAll(t, db, 1, lrs.Query{Verb: "http://adlnet.gov/expapi/verbs/completed", Agent: "mbox::mailto:u3@example.org"}, false)
		for _, st := range both {
			if !bytes.Contains(st.Body, []byte("u3@example.org")) || !bytes.Contains(st.Body, []byte("verbs/completed")) {
				t.Fatalf("agent+verb filter returned %s", st.Body)
			}
		}
		if len(both) == 0 {
			t.Error("agent+verb filter found nothing")
		}
		// Voided: left out unless asked for.
		mustStore(t, svc, voiding(ids[5]))
		if got := scanAll(t, db, 1, lrs.Query{}, false); len(got) != n { // n-1 + the voiding statement
			t.Errorf("without voided: %d, want %d", len(got), n)
		}
		if got := scanAll(t, db, 1, lrs.Query{}, true); len(got) != n+1 {
			t.Errorf("with voided: %d, want %d", len(got), n+1)
		}
		// Since / Until by stored time.
		mid := all[600].Stored
		since := scanAll(t, db, 1, lrs.Query{Since: &mid, Verb: "http://adlnet.gov/expapi/verbs/completed"}, true)
		for _, st := range since {
			if !st.Stored.After(mid) {
				t.Fatalf("since: got a statement stored %v", st.Stored)
			}
		}
		// fn's error stops the scan and comes back as is.
		stop := fmt.Errorf("stop")
		seen := 0
		err := db.ScanStatements(ctx, 1, lrs.Query{}, false, func(lrs.StoredStatement) error {
			seen++
			if seen == 10 {
				return stop
			}
			return nil
		})
		if err != stop || seen != 10 {
			t.Errorf("stop: err %v after %d", err, seen)
		}
		if got := scanAll(t, db, 2, lrs.Query{}, false); len(got) != 1 {
			t.Errorf("store 2: %d statements, want 1", len(got))
		}
	})
}

func TestDeleteStatementsUpTo(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := service(db)
		svc.Router = routeAll{}
		const n = 2500 // several delete batches
		var batch []map[string]any
		for i := 0; i < n; i++ {
			batch = append(batch, stmt(newID(), fmt.Sprintf("u%d", i%10), "completed", "a1", nil))
		}
		for i := 0; i < n; i += 500 {
			mustStore(t, svc, batch[i:i+500]...)
		}
		other := *writer
		other.StoreID = 2
		if _, err := svc.StoreStatements(ctx, &other, "2.0.0", []map[string]any{clone(stmt("", "u1", "completed", "a1", nil))}, false, nil); err != nil {
			t.Fatal(err)
		}
		if p := pending(t, db); p != n+1 {
			t.Fatalf("pending deliveries %d, want %d", p, n+1)
		}
		all := scanAll(t, db, 1, lrs.Query{}, true)
		cut := all[2199].PK
		got, err := db.DeleteStatementsUpTo(ctx, 1, cut)
		if err != nil || got != 2200 {
			t.Fatalf("delete: %d, %v; want 2200", got, err)
		}
		rest := scanAll(t, db, 1, lrs.Query{}, true)
		if len(rest) != 300 || rest[0].PK <= cut {
			t.Fatalf("after delete: %d left, first pk %d (cut %d)", len(rest), rest[0].PK, cut)
		}
		// Index rows went too: a filtered scan sees only the rest.
		if f := scanAll(t, db, 1, lrs.Query{Activity: "http://example.org/activities/a1"}, true); len(f) != 300 {
			t.Errorf("filtered after delete: %d, want 300", len(f))
		}
		if ids := queryIDs(t, svc, lrs.Query{Agent: "mbox::mailto:u1@example.org", Limit: 1000}); len(ids) != 30 {
			t.Errorf("agent query after delete: %d, want 30", len(ids))
		}
		if p := pending(t, db); p != 301 {
			t.Errorf("pending deliveries after delete: %d, want 301", p)
		}
		if got := scanAll(t, db, 2, lrs.Query{}, true); len(got) != 1 {
			t.Errorf("store 2 touched: %d left", len(got))
		}
		// Nothing to delete is fine.
		if got, err := db.DeleteStatementsUpTo(ctx, 1, cut); err != nil || got != 0 {
			t.Errorf("second delete: %d, %v", got, err)
		}
	})
}

func TestAdminExportFormats(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := service(db)
		a := &admin.Admin{Exporter: db}
		s1 := stmt(newID(), "ann", "completed", "a1", map[string]any{
			"result": map[string]any{"score": map[string]any{"scaled": json.Number("0.75")}, "success": true},
			"context": map[string]any{"registration": "ec231277-b27b-4c15-8291-d29225b2b8f7",
				"contextActivities": map[string]any{"parent": []any{map[string]any{"id": "http://example.org/course"}}}},
		})
		s2 := stmt(newID(), "bob", "attempted", "a2", map[string]any{
			"actor": map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "https://moodle.example.org", "name": "bob,\"b\""}},
		})
		ids := mustStore(t, svc, s1, s2)

		var nd bytes.Buffer
		n, err := a.Export(ctx, 1, lrs.Query{}, "ndjson", nil, &nd)
		if err != nil || n != 2 {
			t.Fatalf("ndjson: %d, %v", n, err)
		}
		lines := strings.Split(strings.TrimSuffix(nd.String(), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("ndjson lines: %q", nd.String())
		}
		for i, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil || m["id"] != ids[i] {
				t.Fatalf("ndjson line %d: %s (%v)", i, l, err)
			}
		}

		var cb bytes.Buffer
		cols := []string{"id", "actor.mbox", "actor.account.name", "verb.id", "result.score.scaled", "result.success",
			"context.registration", "context.contextActivities.parent.0.id", "result.score", "missing.path"}
		if _, err := a.Export(ctx, 1, lrs.Query{}, "csv", cols, &cb); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&cb).ReadAll()
		if err != nil || len(recs) != 3 {
			t.Fatalf("csv: %v, %q", err, cb.String())
		}
		if strings.Join(recs[0], ",") != strings.Join(cols, ",") {
			t.Errorf("csv header %v", recs[0])
		}
		want1 := []string{ids[0], "mailto:ann@example.org", "", "http://adlnet.gov/expapi/verbs/completed", "0.75", "true",
			"ec231277-b27b-4c15-8291-d29225b2b8f7", "http://example.org/course", `{"scaled":0.75}`, ""}
		if strings.Join(recs[1], "|") != strings.Join(want1, "|") {
			t.Errorf("csv row 1:\n got %q\nwant %q", recs[1], want1)
		}
		if recs[2][2] != `bob,"b"` || recs[2][1] != "" {
			t.Errorf("csv row 2: %q", recs[2])
		}
		// Default columns, filters.
		cb.Reset()
		if n, err := a.Export(ctx, 1, lrs.Query{Verb: "http://adlnet.gov/expapi/verbs/attempted"}, "csv", nil, &cb); err != nil || n != 1 {
			t.Fatalf("csv default columns: %d, %v", n, err)
		}
		if !strings.HasPrefix(cb.String(), strings.Join(admin.DefaultExportColumns, ",")+"\n") {
			t.Errorf("default header: %q", cb.String())
		}
		// Bad arguments fail before writing anything.
		var bad bytes.Buffer
		if _, err := a.Export(ctx, 1, lrs.Query{}, "xml", nil, &bad); lrs.ErrorCode(err) != lrs.EINVALID || bad.Len() != 0 {
			t.Errorf("format xml: %v, wrote %d bytes", err, bad.Len())
		}
		if _, err := a.Export(ctx, 1, lrs.Query{}, "csv", []string{"actor..mbox"}, &bad); lrs.ErrorCode(err) != lrs.EINVALID || bad.Len() != 0 {
			t.Errorf("bad column: %v, wrote %d bytes", err, bad.Len())
		}
	})
}

// flushCounter counts flushes, as an HTTP response would see them.
type flushCounter struct {
	bytes.Buffer
	flushes int
}

func (f *flushCounter) Flush() { f.flushes++ }

func TestAdminExportFlushes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		var batch []map[string]any
		for i := 0; i < 2500; i++ {
			batch = append(batch, stmt(newID(), "ann", "completed", "a1", nil))
		}
		mustStore(t, svc, batch...)
		var w flushCounter
		n, err := (&admin.Admin{Exporter: db}).Export(context.Background(), 1, lrs.Query{}, "ndjson", nil, &w)
		if err != nil || n != 2500 {
			t.Fatal(n, err)
		}
		if w.flushes != 3 { // at 1000, 2000 and the end
			t.Errorf("flushes: %d, want 3", w.flushes)
		}
	})
}
