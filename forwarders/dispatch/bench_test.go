package dispatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// everything routes every statement to one target; wake, when set, is
// called once routed statements are committed.
type everything struct {
	target string
	wake   func()
}

func (e everything) Routed() {
	if e.wake != nil {
		e.wake()
	}
}

func (e everything) Route(int64, map[string]any) []lrs.Delivery {
	return []lrs.Delivery{{Target: e.target, Rule: "all"}}
}

// receiver is a local xAPI target that counts statements and measures the
// delay from their stored time to their arrival.
type receiver struct {
	n      atomic.Int64
	mu     sync.Mutex
	delays []time.Duration
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var stmts []struct {
		ID     string `json:"id"`
		Stored string `json:"stored"`
	}
	json.Unmarshal(body, &stmts)
	now := time.Now()
	ids := make([]string, len(stmts))
	rc.mu.Lock()
	for i, s := range stmts {
		ids[i] = s.ID
		if t, err := xapi.ParseTimestamp(s.Stored); err == nil {
			rc.delays = append(rc.delays, now.Sub(t))
		}
	}
	rc.mu.Unlock()
	rc.n.Add(int64(len(stmts)))
	json.NewEncoder(w).Encode(ids)
}

func (rc *receiver) percentile(p float64) time.Duration {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.delays) == 0 {
		return 0
	}
	d := append([]time.Duration(nil), rc.delays...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// statement is a realistic ~2 KB Moodle-style statement.
func statement(i int) map[string]any {
	return map[string]any{
		"id": uuid.NewString(),
		"actor": map[string]any{"objectType": "Agent", "name": fmt.Sprintf("Learner %d", i%500),
			"account": map[string]any{"homePage": "https://moodle.example.org", "name": fmt.Sprint(i % 500)}},
		"verb": map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed", "display": map[string]any{"en": "completed"}},
		"object": map[string]any{"id": fmt.Sprintf("https://moodle.example.org/mod/quiz/view.php?id=%d", i%40), "objectType": "Activity",
			"definition": map[string]any{"type": "http://adlnet.gov/expapi/activities/assessment",
				"name":        map[string]any{"en": "Unit quiz: safeguarding in practice"},
				"description": map[string]any{"en": "A twenty-question quiz on the safeguarding policy, its reporting lines and the escalation steps for volunteers and staff."}}},
		"result": map[string]any{"score": map[string]any{"raw": 17, "min": 0, "max": 20, "scaled": 0.85}, "success": true, "completion": true, "duration": "PT14M32S"},
		"context": map[string]any{"registration": uuid.NewString(), "platform": "Moodle", "language": "en",
			"contextActivities": map[string]any{
				"grouping": []any{map[string]any{"id": "https://moodle.example.org/course/view.php?id=12", "objectType": "Activity",
					"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/lms/course", "name": map[string]any{"en": "Volunteer induction"}}}},
				"category": []any{map[string]any{"id": "http://moodle.org", "objectType": "Activity",
					"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/source", "name": map[string]any{"en": "Moodle"}}}}},
			"extensions": map[string]any{"http://lrs.learninglocker.net/define/extensions/info": map[string]any{
				"http://moodle.org": "4.5.6", "event_name": "\\mod_quiz\\event\\attempt_submitted", "event_function": "attempt_submitted"}}},
		"timestamp": "2026-11-24T10:00:00Z",
	}
}

// benchPrincipal stores the benchmarks' statements.
var benchPrincipal = &lrs.Principal{Key: "bench", StoreID: 1, Scopes: []string{lrs.ScopeAll},
	Authority: map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://bench", "name": "bench"}}}

// forwardSetup opens a fresh, migrated database for driver and returns a
// local xAPI receiver, a dispatcher (not started) forwarding to it, and an
// LRS service routing every statement there.
func forwardSetup(b *testing.B, ctx context.Context, driver string) (*receiver, *dispatch.Dispatcher, *lrs.Service) {
	dsn := filepath.Join(b.TempDir(), "bench.db")
	if driver == store.MySQL {
		dsn = testmysql.New(b)
	}
	db, err := store.Open(ctx, driver, dsn, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	b.Cleanup(srv.Close)
	x, err := forwarders.NewXAPI(forwarders.XAPIConfig{Name: "local", Endpoint: srv.URL + "/xapi", Version: "2.0.0"})
	if err != nil {
		b.Fatal(err)
	}
	d := &dispatch.Dispatcher{Outbox: db, PollInterval: 200 * time.Millisecond, Targets: []*dispatch.Target{{
		Name: "local", Sender: forwarders.NewBreaker(x, forwarders.BreakerConfig{}, nil), BatchSize: 100, Concurrency: 2}}}
	svc := &lrs.Service{Statements: db, Router: everything{target: "local"}, DefaultLimit: 100, MaxLimit: 100}
	return rc, d, svc
}

// storeBatches stores n statements in batches of 100.
func storeBatches(b *testing.B, ctx context.Context, svc *lrs.Service, n int) {
	for i := 0; i < n; i += 100 {
		batch := make([]map[string]any, 0, 100)
		for j := i; j < min(i+100, n); j++ {
			batch = append(batch, statement(j))
		}
		if _, err := svc.StoreStatements(ctx, benchPrincipal, xapi.V200, batch, true, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// waitDelivered waits until the receiver has n statements (5 minutes at most).
func waitDelivered(b *testing.B, rc *receiver, n int, start time.Time) {
	for rc.n.Load() < int64(n) {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("delivered %d of %d", rc.n.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkForward stores b.N statements (in batches of 100, each routed
// to one local xAPI target) and measures until all have been delivered:
// statements per second, and the store-to-delivery delay.
func BenchmarkForward(b *testing.B) {
	for _, driver := range []string{store.SQLite, store.MySQL} {
		b.Run(driver, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rc, d, svc := forwardSetup(b, ctx, driver)
			svc.Router = everything{target: "local", wake: d.Wake}
			done := make(chan struct{})
			go func() { d.Run(ctx); close(done) }()

			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			storeBatches(b, ctx, svc, b.N)
			waitDelivered(b, rc, b.N, start)
			el := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "stmts/s")
			// CPU of this process (producer, dispatcher and receiver) per
			// statement: steadier than the rate on a shared machine.
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/stmt")
			b.ReportMetric(float64(rc.percentile(0.5).Milliseconds()), "p50-delay-ms")
			b.ReportMetric(float64(rc.percentile(0.95).Milliseconds()), "p95-delay-ms")
			cancel()
			<-done
		})
	}
}

// BenchmarkDrain measures delivery capacity alone: it stores b.N
// statements (in batches of 100, each routed to one local xAPI target)
// before the dispatcher runs, then starts it and measures until all have
// been delivered.
func BenchmarkDrain(b *testing.B) {
	for _, driver := range []string{store.SQLite, store.MySQL} {
		b.Run(driver, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rc, d, svc := forwardSetup(b, ctx, driver)
			storeStart := time.Now()
			storeBatches(b, ctx, svc, b.N)
			storeEl := time.Since(storeStart)

			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			done := make(chan struct{})
			go func() { d.Run(ctx); close(done) }()
			waitDelivered(b, rc, b.N, start)
			el := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "stmts/s")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/stmt")
			// The producer alone, for comparison with BenchmarkForward
			// (which cannot deliver faster than it stores).
			b.ReportMetric(float64(b.N)/storeEl.Seconds(), "stored/s")
			cancel()
			<-done
		})
	}
}
