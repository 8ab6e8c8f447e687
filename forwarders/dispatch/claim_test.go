package dispatch_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// outboxWith opens a fresh database (twice: two "processes" sharing it)
// holding n statements, each with one pending delivery to "local".
func outboxWith(t *testing.T, driver string, n int) (a, b *store.DB, dsn string) {
	t.Helper()
	ctx := context.Background()
	dsn = filepath.Join(t.TempDir(), "claim.db")
	if driver == store.MySQL {
		dsn = testmysql.New(t)
	}
	open := func() *store.DB {
		db, err := store.Open(ctx, driver, dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a = open()
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b = open()
	svc := &lrs.Service{Statements: a, Router: everything{target: "local"}, DefaultLimit: 100, MaxLimit: 100}
	p := &lrs.Principal{Key: "t", StoreID: 1, Scopes: []string{lrs.ScopeAll},
		Authority: map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://t", "name": "t"}}}
	for i := 0; i < n; i += 100 {
		var batch []map[string]any
		for j := i; j < min(i+100, n); j++ {
			batch = append(batch, statement(j))
		}
		if _, err := svc.StoreStatements(ctx, p, xapi.V200, batch, true, nil); err != nil {
			t.Fatal(err)
		}
	}
	return a, b, dsn
}

// Claimers running side by side, in two processes sharing the database,
// never get the same delivery, and together get every one.
func TestClaimConcurrent(t *testing.T) {
	for _, driver := range []string{store.SQLite, store.MySQL} {
		t.Run(driver, func(t *testing.T) {
			const n = 1500
			a, b, _ := outboxWith(t, driver, n)
			ctx := context.Background()
			var mu sync.Mutex
			seen := map[int64]int{}
			var wg sync.WaitGroup
			for w := 0; w < 6; w++ {
				db := a
				if w%2 == 1 {
					db = b
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						now := time.Now()
						items, err := db.ClaimDeliveries(ctx, "local", 37, now, now.Add(time.Minute))
						if err != nil {
							t.Error(err)
							return
						}
						if len(items) == 0 {
							return
						}
						ids := make([]int64, len(items))
						mu.Lock()
						for i, it := range items {
							ids[i] = it.ID
							seen[it.ID]++
							if len(it.Statement) == 0 || it.StatementID == "" || it.Lease != now.Add(time.Minute).UnixMicro() {
								t.Errorf("claimed item %+v", it)
							}
						}
						mu.Unlock()
						// Complete some, leave others leased.
						if ids[0]%2 == 0 {
							if err := db.CompleteDeliveries(ctx, ids); err != nil {
								t.Error(err)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			if len(seen) != n {
				t.Errorf("claimed %d distinct deliveries, want %d", len(seen), n)
			}
			for id, k := range seen {
				if k != 1 {
					t.Errorf("delivery %d claimed %d times", id, k)
				}
			}
		})
	}
}

// On MySQL a claim that meets rows locked by a transaction of another
// process (its claim in progress) waits for it, and then takes only what
// that transaction left: none of the rows it leased, all of them, or none
// when it cannot tell its own rows from those the other leased with the
// very same lease value (they are claimed again once that lease is over).
func TestClaimAgainstOtherProcessMySQL(t *testing.T) {
	for _, c := range []struct {
		name   string
		other  int  // of the first 100 rows (the claim's candidates), how many the other transaction leases
		same   bool // with the lease value of the claim
		claims int  // rows the claim returns
	}{
		{"some", 40, false, 60},
		{"all", 100, false, 100}, // the next 100, through the fallback
		{"same lease", 40, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, _, dsn := outboxWith(t, store.MySQL, 300)
			ctx := context.Background()
			cfg, err := mysql.ParseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := mysql.NewConnector(cfg)
			if err != nil {
				t.Fatal(err)
			}
			raw := sql.OpenDB(conn)
			defer raw.Close()
			var ids []string
			rows, err := raw.QueryContext(ctx, "SELECT id FROM deliveries ORDER BY next_at_us, id LIMIT 100")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				rows.Scan(&id)
				ids = append(ids, strconv.FormatInt(id, 10))
			}
			rows.Close()
			now := time.Now()
			lease := now.Add(time.Minute)
			otherLease := lease.Add(time.Second)
			if c.same {
				otherLease = lease
			}
			tx, err := raw.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "UPDATE deliveries SET lease_until_us = ? WHERE id IN ("+strings.Join(ids[:c.other], ",")+")", otherLease.UnixMicro()); err != nil {
				t.Fatal(err)
			}
			taken := map[string]bool{}
			for _, id := range ids[:c.other] {
				taken[id] = true
			}
			go func() {
				time.Sleep(300 * time.Millisecond)
				tx.Commit()
			}()
			items, err := db.ClaimDeliveries(ctx, "local", 100, now, lease)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != c.claims {
				t.Errorf("claimed %d, want %d", len(items), c.claims)
			}
			for _, it := range items {
				if taken[strconv.FormatInt(it.ID, 10)] {
					t.Errorf("claimed delivery %d, leased by the other transaction", it.ID)
				}
				if it.Lease != lease.UnixMicro() {
					t.Errorf("lease %d, want %d", it.Lease, lease.UnixMicro())
				}
			}
			// Nothing is lost: once both leases are over, every delivery is
			// claimed again.
			later := otherLease.Add(time.Second)
			rest, err := db.ClaimDeliveries(ctx, "local", 1000, later, later.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if len(rest) != 300 {
				t.Errorf("claimed %d after the leases, want all 300", len(rest))
			}
		})
	}
}

// A claim returns a delivery's attempts and last error as recorded by the
// previous attempt, and its statement.
func TestClaimAfterRetry(t *testing.T) {
	for _, driver := range []string{store.SQLite, store.MySQL} {
		t.Run(driver, func(t *testing.T) {
			db, _, _ := outboxWith(t, driver, 3)
			ctx := context.Background()
			now := time.Now()
			items, err := db.ClaimDeliveries(ctx, "local", 10, now, now.Add(time.Minute))
			if err != nil || len(items) != 3 {
				t.Fatalf("claim: %d items, %v", len(items), err)
			}
			if err := db.RetryDelivery(ctx, items[1].ID, items[1].Lease, 4, now, 503, "HTTP 503"); err != nil {
				t.Fatal(err)
			}
			again, err := db.ClaimDeliveries(ctx, "local", 10, now.Add(time.Millisecond), now.Add(time.Hour))
			if err != nil || len(again) != 1 {
				t.Fatalf("claim: %d items, %v", len(again), err)
			}
			it := again[0]
			if it.ID != items[1].ID || it.Attempts != 4 || it.LastStatus != 503 || it.LastError != "HTTP 503" ||
				it.StatementID != items[1].StatementID || string(it.Statement) != string(items[1].Statement) {
				t.Errorf("claimed again: %+v, first %+v", it, items[1])
			}
		})
	}
}

// While claims come back full, a worker claims several batches at once and
// sends them one after the other; when one fails retryably, the batches not
// sent yet are released without counting an attempt, and delivered later.
// The failed batch waits for its retry: full jitter makes that anywhere in
// [0, 1h), so (rarely) one of its deliveries is due again within the test;
// such early retries are allowed, and the rest must still be waiting.
func TestLargerClaimsReleaseUnsent(t *testing.T) {
	db, _, dsn := outboxWith(t, store.SQLite, 500)
	var mu sync.Mutex
	var reqs int
	failed := map[string]bool{}  // the statements of the failed request
	received := map[string]int{} // deliveries per statement, failed batch's retries included
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var stmts []struct {
			ID string `json:"id"`
		}
		json.NewDecoder(r.Body).Decode(&stmts)
		mu.Lock()
		defer mu.Unlock()
		if reqs++; reqs == 2 { // the first batch of the second, larger claim
			for _, s := range stmts {
				failed[s.ID] = true
			}
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		for _, s := range stmts {
			received[s.ID]++
		}
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	others := func() (n, retried int) { // statements outside the failed batch received, failed ones retried
		mu.Lock()
		defer mu.Unlock()
		for id := range received {
			if failed[id] {
				retried++
			} else {
				n++
			}
		}
		return n, retried
	}
	x, err := forwarders.NewXAPI(forwarders.XAPIConfig{Name: "local", Endpoint: srv.URL, Version: "2.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{Outbox: db, PollInterval: 50 * time.Millisecond, Targets: []*dispatch.Target{{
		Name: "local", Sender: forwarders.NewBreaker(x, forwarders.BreakerConfig{}, nil), BatchSize: 100, Concurrency: 1,
		Retry: forwarders.RetryPolicy{InitialBackoff: time.Hour, MaxBackoff: time.Hour}}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for n, _ := others(); n < 400 && time.Now().Before(deadline); n, _ = others() {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	n, retried := others()
	if len(failed) != 100 || n != 400 {
		t.Fatalf("delivered %d statements outside the failed batch of %d, want 400 (all but the failed batch)", n, len(failed))
	}
	mu.Lock()
	for id, k := range received {
		if k != 1 {
			t.Errorf("statement %s delivered %d times", id, k)
		}
	}
	mu.Unlock()
	raw, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var left, attempts, released int
	if err := raw.QueryRow("SELECT COUNT(*), COALESCE(MIN(attempts), 0), COALESCE(SUM(last_error LIKE 'not sent%'), 0) FROM deliveries").Scan(&left, &attempts, &released); err != nil {
		t.Fatal(err)
	}
	if left != 100-retried || (left > 0 && attempts != 1) || released != 0 {
		t.Errorf("left %d deliveries, fewest attempts %d, %d released: want the failed batch's %d not retried yet, 1 attempt each",
			left, attempts, released, 100-retried)
	}
}
