package moodle

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/xapibridge/bridge/internal/moodletest"
	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

// lrsSink stores into a real bridge database through the LRS service.
type lrsSink struct {
	svc *lrs.Service
	db  *store.DB
}

func (s lrsSink) StoreFromSource(ctx context.Context, p *lrs.Principal, stmts []map[string]any, cp *lrs.Checkpoint) (int, []lrs.Rejected, error) {
	return s.svc.StoreFromSource(ctx, p, stmts, cp)
}

func (s lrsSink) PrepareFromSource(p *lrs.Principal, stmts []map[string]any) (*lrs.PreparedBatch, error) {
	return s.svc.PrepareFromSource(p, stmts)
}

func (s lrsSink) StorePrepared(ctx context.Context, p *lrs.Principal, b *lrs.PreparedBatch, cp *lrs.Checkpoint) (int, []lrs.Rejected, error) {
	return s.svc.StorePrepared(ctx, p, b, cp)
}

func (s lrsSink) SyncCursor(ctx context.Context, source string) (*lrs.Checkpoint, error) {
	return s.db.SyncCursor(ctx, source)
}

// BenchmarkSync syncs b.N log rows from a MariaDB Moodle database into the
// bridge (on MariaDB, and on SQLite) and reports log rows per second. Run
// it with a million rows:
//
//	go test ./adapters/moodle -run X -bench Sync -benchtime 1000000x
func BenchmarkSync(b *testing.B) {
	for _, driver := range []string{store.MySQL, store.SQLite} {
		b.Run(driver, func(b *testing.B) {
			ctx := context.Background()
			mdb := moodleDB(b)
			if err := moodletest.Site(mdb, max(b.N, 10), false); err != nil {
				b.Fatal(err)
			}
			dsn := filepath.Join(b.TempDir(), "bridge.db")
			if driver == store.MySQL {
				dsn = testmysql.New(b)
			}
			db, err := store.Open(ctx, driver, dsn, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			sink := lrsSink{svc: &lrs.Service{Statements: db}, db: db}
			src := &Source{Name: "bench", DB: mdb, Dialect: MySQL, BatchSize: 1000, Options: Options{WWWRoot: "https://moodle.example.org"}, Persons: db,
				Authority: map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://bridge", "name": "moodle"}}}
			b.ResetTimer()
			start := time.Now()
			st, err := (&Syncer{Source: src, Sink: sink, Writers: 2}).Run(ctx, nil)
			el := time.Since(start)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if st.Cursor != int64(max(b.N, 10)) {
				b.Fatalf("cursor %d", st.Cursor)
			}
			b.ReportMetric(float64(st.RowsRead)/el.Seconds(), "rows/s")
			b.ReportMetric(float64(st.Statements)/el.Seconds(), "stmts/s")
		})
	}
}
