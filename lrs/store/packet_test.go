package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// tooLarge checks err is a 413 naming MariaDB's limit.
func tooLarge(t *testing.T, what string, err error) {
	t.Helper()
	if lrs.ErrorCode(err) != lrs.ETOOLARGE || !strings.Contains(lrs.ErrorMessage(err), "max_allowed_packet") {
		t.Errorf("%s: got %v (%s), want %s naming max_allowed_packet", what, err, lrs.ErrorCode(err), lrs.ETOOLARGE)
	}
}

// On MariaDB a statement just under 16 MiB does not fit in a 16 MiB
// max_allowed_packet once escaped into its INSERT: 413 naming the limit,
// not 500. SQLite has no such limit and stores it.
func TestStatementOverMaxAllowedPacket(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		for _, c := range []struct {
			name string
			st   map[string]any
		}{
			{"just under 16 MiB", stmt(newID(), "ann", "answered", "q1", map[string]any{
				"result": map[string]any{"response": strings.Repeat("y", 16<<20-400)}})},
			// 10 MiB of JSON, but every byte needs escaping in the query.
			{"10 MiB of quotes", stmt(newID(), "ann", "answered", "q1", map[string]any{
				"result": map[string]any{"response": strings.Repeat(`"`, 5<<20)}})},
		} {
			err := storeAs(svc, writer, c.st)
			if db.Driver() == store.MySQL {
				tooLarge(t, c.name, err)
			} else if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
		// The store still works.
		if err := storeAs(svc, writer, stmt(newID(), "ann", "answered", "q1", nil)); err != nil {
			t.Fatal(err)
		}
	})
}

// Statements that each fit but together exceed max_allowed_packet are
// stored: multi-row INSERTs are cut by size, not only by count.
func TestBatchOverMaxAllowedPacketIsStored(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		var batch []map[string]any
		for i := 0; i < 420; i++ {
			batch = append(batch, clone(stmt(newID(), "ann", "answered", "q1", map[string]any{
				"result": map[string]any{"response": strings.Repeat("z", 42_000)}})))
		}
		ids, err := svc.StoreStatements(context.Background(), writer, xapi.V200, batch, true, nil)
		if err != nil || len(ids) != 420 {
			t.Fatalf("%d ids, %v", len(ids), err)
		}
	})
}

// State documents: a PUT just under 16 MiB, and two POSTs whose merge
// exceeds it, are 413, not 500.
func TestDocumentOverMaxAllowedPacket(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		docs := &lrs.Documents{Store: db}
		key := lrs.DocumentKey{Kind: lrs.KindState, ActivityID: "http://example.org/a", AgentKey: "mbox::mailto:ann@example.org", DocID: "s"}
		_, err := docs.Put(ctx, writer, xapi.V103, &lrs.DocumentWrite{Key: key, ContentType: "text/plain", Body: []byte(strings.Repeat("d", 16<<20-100))})
		if db.Driver() == store.MySQL {
			tooLarge(t, "PUT just under 16 MiB", err)
		} else if err != nil {
			t.Fatalf("PUT: %v", err)
		}
		key.DocID = "merged"
		post := func(k string) error {
			body := `{"` + k + `":"` + strings.Repeat("m", 9<<20) + `"}`
			_, err := docs.Post(ctx, writer, xapi.V103, &lrs.DocumentWrite{Key: key, ContentType: "application/json", Body: []byte(body)})
			return err
		}
		if err := post("a"); err != nil {
			t.Fatalf("first POST: %v", err)
		}
		err = post("b")
		if lrs.ErrorCode(err) != lrs.ETOOLARGE {
			t.Fatalf("second POST (merged document over 16 MiB): %v (%s), want %s", err, lrs.ErrorCode(err), lrs.ETOOLARGE)
		}
		d, err := docs.Get(ctx, writer, key)
		if err != nil || len(d.Body) > 10<<20 {
			t.Fatalf("the document after a refused merge: %d bytes, %v", len(d.Body), err)
		}
	})
}

// The limit is read from the server once; a DSN's smaller maxAllowedPacket
// (what the driver will send) wins. SQLite has none.
func TestMaxAllowedPacketRead(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		db := mustOpen(t, store.SQLite, filepath.Join(t.TempDir(), "b.db"))
		if err := db.LoadMaxAllowedPacket(ctx); err != nil || db.MaxAllowedPacket() != -1 {
			t.Errorf("%d %v, want -1 (no limit)", db.MaxAllowedPacket(), err)
		}
		if err := db.CheckStatementSize(make([]byte, 20<<20)); err != nil {
			t.Error(err)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := testmysql.New(t)
		db := mustOpen(t, store.MySQL, dsn)
		var server int64
		raw, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if err := raw.QueryRow("SELECT @@max_allowed_packet").Scan(&server); err != nil {
			t.Fatal(err)
		}
		// Read lazily by the first write that needs it, or at open.
		if got := db.MaxAllowedPacket(); got != server {
			t.Errorf("MaxAllowedPacket = %d, server says %d", got, server)
		}
		if err := db.LoadMaxAllowedPacket(ctx); err != nil || db.MaxAllowedPacket() != server {
			t.Errorf("after LoadMaxAllowedPacket: %d %v", db.MaxAllowedPacket(), err)
		}
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxAllowedPacket = 1 << 20
		small := mustOpen(t, store.MySQL, cfg.FormatDSN())
		if got := small.MaxAllowedPacket(); got != 1<<20 {
			t.Errorf("with maxAllowedPacket=1048576 in the DSN: %d", got)
		}
		err = small.CheckStatementSize([]byte(`{"x":"` + strings.Repeat("a", 1<<20) + `"}`))
		tooLarge(t, "1 MiB statement under a 1 MiB limit", err)
		if !strings.Contains(lrs.ErrorMessage(err), "1048576") {
			t.Errorf("message does not name the limit: %v", err)
		}
		if err := small.CheckStatementSize([]byte(`{"x":"` + strings.Repeat("a", 1<<20-5000) + `"}`)); err != nil {
			t.Errorf("a statement that fits: %v", err)
		}
	})
}

// A batch names the statement that is too large, and nothing is stored.
func TestBatchWithStatementOverMaxAllowedPacket(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		if db.Driver() != store.MySQL {
			t.Skip("SQLite has no such limit (see TestStatementOverMaxAllowedPacket)")
		}
		svc := service(db)
		ok := stmt(newID(), "ann", "answered", "q1", nil)
		big := stmt(newID(), "ann", "answered", "q1", map[string]any{"result": map[string]any{"response": strings.Repeat("y", 16<<20)}})
		_, err := svc.StoreStatements(context.Background(), writer, xapi.V200, []map[string]any{clone(ok), clone(big)}, true, nil)
		tooLarge(t, "batch", err)
		if !strings.HasPrefix(lrs.ErrorMessage(err), "[1]: statement exceeds") {
			t.Errorf("message %q does not name [1]", lrs.ErrorMessage(err))
		}
		if _, err := db.GetStatement(context.Background(), 1, ok["id"].(string)); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("the batch's other statement was stored: %v", err)
		}
	})
}

// An attachment too large for one query is a 413 too, and nothing of the
// request is stored.
func TestAttachmentOverMaxAllowedPacket(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		att := lrs.NewAttachment("application/octet-stream", []byte(strings.Repeat(`'`, 9<<20))) // 18 MiB escaped
		id := newID()
		err := storeAs(svc, writer, attStmt(id, att, ""), att)
		if db.Driver() != store.MySQL {
			if err != nil {
				t.Fatal(err)
			}
			return
		}
		tooLarge(t, "9 MiB attachment of quotes", err)
		if !strings.Contains(lrs.ErrorMessage(err), att.SHA2) {
			t.Errorf("message does not name the attachment: %v", err)
		}
		if _, err := db.GetStatement(context.Background(), 1, id); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("statement stored: %v", err)
		}
	})
}
