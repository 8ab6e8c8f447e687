package cli_test

// `bridge forward ...` and `bridge personal add` in-process (cli.Execute),
// on a SQLite database the test fills through the bridge's own wiring: a
// dispatcher that ran against real HTTP targets that fail (503) and reject
// (400), then stopped, as an operator finds it.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/internal/app"
	"github.com/xapibridge/bridge/internal/cli"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// bridgeEnv is a config file and its database.
type bridgeEnv struct {
	t    *testing.T
	dir  string
	path string
	cfg  *config.Config
}

// newEnv writes dir/bridge.yaml: SQLite in dir, a fast poll, and extra.
func newEnv(t *testing.T, extra string) *bridgeEnv {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf("data_dir: %q\nlog:\n  level: warn\ndatabase:\n  driver: sqlite\n  dsn: %q\nforwarding:\n  poll_interval: 50ms\n",
		filepath.Join(dir, "data"), filepath.Join(dir, "lrs.db")) + extra
	path := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return &bridgeEnv{t: t, dir: dir, path: path, cfg: cfg}
}

// bridge runs `bridge args... --config <path>` and returns its output and error.
func (e *bridgeEnv) bridge(args ...string) (string, error) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	err := cli.Execute(context.Background(), "", append(args, "--config", e.path), &out, &errOut)
	return out.String() + errOut.String(), err
}

// mustBridge is bridge for a command that must succeed.
func (e *bridgeEnv) mustBridge(args ...string) string {
	e.t.Helper()
	out, err := e.bridge(args...)
	if err != nil {
		e.t.Fatalf("bridge %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// open opens the database, migrated, and the bridge's forwarding on it.
func (e *bridgeEnv) open() (*store.DB, *app.Forwarding) {
	e.t.Helper()
	ctx := context.Background()
	db, err := app.OpenDB(ctx, e.cfg, true)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	if err := app.CheckSchema(ctx, e.cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		e.t.Fatal(err)
	}
	fwd, err := app.NewForwarding(ctx, e.cfg, db, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return db, fwd
}

var writer = &lrs.Principal{
	Key: "test", StoreID: 1, Scopes: []string{lrs.ScopeAll},
	Authority:    map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://lrs.test", "name": "test"}},
	AuthorityKey: "account::http://lrs.test::test",
}

func statements(n int) []map[string]any {
	var out []map[string]any
	for i := range n {
		out = append(out, map[string]any{
			"id":     uuid.NewString(),
			"actor":  map[string]any{"objectType": "Agent", "mbox": fmt.Sprintf("mailto:learner%d@example.org", i)},
			"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed"},
			"object": map[string]any{"objectType": "Activity", "id": "http://example.org/course/1"},
		})
	}
	return out
}

// countingServer answers every request with status and counts them.
func countingServer(t *testing.T, status int, body string) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, body, status)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

const statusTargets = `targets:
  - name: fail
    type: webhook
    url: %s/hook
    delivery:
      timeout: 2s
      retry: {initial_backoff: 1m, max_backoff: 10m}
      breaker: {failures: 1, open_for: 1h}
  - name: reject
    type: webhook
    url: %s/hook
    delivery:
      timeout: 2s
      retry: {initial_backoff: 1m, max_backoff: 10m}
  - name: idle
    type: webhook
    url: http://127.0.0.1:9/hook
rules:
  - name: all
    targets: [fail, reject]
  - name: never
    when: verbIs("nothing-ever")
    targets: [idle]
  - name: learners-own
    targets: [personal]
`

// failedOnce is an environment whose dispatcher ran once against a target
// that answers 503 (its breaker opened) and one that answers 400 (three
// dead letters), and stopped.
func failedOnce(t *testing.T) (*bridgeEnv, *store.DB) {
	t.Helper()
	fail, failed := countingServer(t, http.StatusServiceUnavailable, "down for maintenance")
	reject, _ := countingServer(t, http.StatusBadRequest, "no thanks")
	e := newEnv(t, fmt.Sprintf(statusTargets, fail.URL, reject.URL))
	db, fwd := e.open()
	ctx := context.Background()
	svc := &lrs.Service{Statements: db, Router: fwd.Router, DefaultLimit: 10, MaxLimit: 10}
	if _, err := svc.StoreStatements(ctx, writer, xapi.V200, statements(3), true, nil); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { fwd.Dispatcher.Run(runCtx); close(done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		dead, err := db.ListDead(ctx, lrs.DeadFilter{Target: "reject"})
		if err == nil && len(dead) == 3 && failed.Load() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dispatcher: %d dead for reject (%v), %d requests to fail", len(dead), err, failed.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done // every outcome is recorded when Run returns
	return e, db
}

// statusRow is a row of `bridge forward status`.
type statusRow struct {
	breaker, pending, oldest, retrying, dead, lastError string
}

func parseStatus(t *testing.T, out string) map[string]statusRow {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !regexp.MustCompile(`^TARGET\s+BREAKER\s+PENDING\s+OLDEST\s+RETRYING\s+DEAD\s+LAST ERROR\s*$`).MatchString(lines[0]) {
		t.Fatalf("forward status header: want TARGET BREAKER PENDING OLDEST RETRYING DEAD LAST ERROR:\n%s", out)
	}
	rows := map[string]statusRow{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 7 {
			t.Fatalf("forward status row %q: want 7 columns", l)
		}
		rows[f[0]] = statusRow{f[1], f[2], f[3], f[4], f[5], strings.Join(f[6:], " ")}
	}
	return rows
}

// `bridge forward status` shows, per target, the breaker as the bridge
// last recorded it, pending, the oldest pending delivery's age, retrying,
// dead and the error of the most recent failed attempt; every configured
// target and "personal" have a row even when they have nothing (issue 14).
func TestForwardStatusShowsWhatFailed(t *testing.T) {
	e, _ := failedOnce(t)
	out := e.mustBridge("forward", "status")
	t.Logf("bridge forward status:\n%s", out)
	rows := parseStatus(t, out)
	for _, name := range []string{"fail", "reject", "idle", "personal"} {
		if _, ok := rows[name]; !ok {
			t.Errorf("no row for %s:\n%s", name, out)
		}
	}
	if len(rows) != 4 {
		t.Errorf("%d rows, want fail, reject, idle and personal:\n%s", len(rows), out)
	}
	fail := rows["fail"]
	if fail.breaker != "open" || fail.pending != "3" || fail.retrying != "3" || fail.dead != "0" || fail.oldest == "-" ||
		!strings.HasPrefix(fail.lastError, "HTTP 503 Service Unavailable: down for maintenance") || !strings.HasSuffix(fail.lastError, "ago)") {
		t.Errorf("fail: %+v, want open, 3 pending (an age), 3 retrying, 0 dead, HTTP 503 ... (... ago)\n%s", fail, out)
	}
	if !regexp.MustCompile(`^\d+s$`).MatchString(fail.oldest) {
		t.Errorf("fail: oldest pending %q, want seconds", fail.oldest)
	}
	reject := rows["reject"]
	if reject.breaker != "closed" || reject.pending != "0" || reject.oldest != "-" || reject.retrying != "0" || reject.dead != "3" ||
		!strings.HasPrefix(reject.lastError, "HTTP 400 Bad Request: no thanks") {
		t.Errorf("reject: %+v, want closed, nothing pending, 3 dead, HTTP 400 ...\n%s", reject, out)
	}
	for _, name := range []string{"idle", "personal"} {
		r := rows[name]
		if r.pending != "0" || r.oldest != "-" || r.retrying != "0" || r.dead != "0" || r.lastError != "-" {
			t.Errorf("%s: %+v, want nothing\n%s", name, r, out)
		}
	}
	if rows["idle"].breaker != "closed" || rows["personal"].breaker != "-" {
		t.Errorf("breakers: idle %q (want closed), personal %q (want -, one per personal LRS)", rows["idle"].breaker, rows["personal"].breaker)
	}
}

// replay and discard say what they did, in words an operator reads: the
// deliveries were queued again (they are sent by a running bridge), with
// the grammar for one.
func TestForwardReplayDiscardSayWhatHappened(t *testing.T) {
	e, db := failedOnce(t)
	dead, err := db.ListDead(context.Background(), lrs.DeadFilter{Target: "reject"})
	if err != nil || len(dead) != 3 {
		t.Fatalf("dead letters: %d, %v", len(dead), err)
	}
	out := e.mustBridge("forward", "replay", "--id", fmt.Sprint(dead[0].ID))
	if !strings.Contains(out, "1 dead delivery queued again") {
		t.Errorf("replay of one: %q, want \"1 dead delivery queued again\"", out)
	}
	out = e.mustBridge("forward", "discard", "--id", fmt.Sprint(dead[1].ID))
	if !strings.Contains(out, "1 dead delivery discarded") {
		t.Errorf("discard of one: %q, want \"1 dead delivery discarded\"", out)
	}
	// Another bridge with three dead letters: all of a target at once.
	e2, db2 := failedOnce(t)
	if out := e2.mustBridge("forward", "replay", "--target", "reject"); !strings.Contains(out, "3 dead deliveries queued again") {
		t.Errorf("replay of three: %q, want \"3 dead deliveries queued again\"", out)
	}
	if n, _ := db2.ListDead(context.Background(), lrs.DeadFilter{}); len(n) != 0 {
		t.Errorf("after the replay, %d dead letters", len(n))
	}
	if out := e2.mustBridge("forward", "discard", "--all"); !strings.Contains(out, "no dead deliveries") {
		t.Errorf("discard with nothing dead: %q, want it to say there were none", out)
	}
}

// --target must name a target: a typo is an error that lists the targets,
// not an empty list (or a replay of nothing) that looks like success.
func TestForwardUnknownTarget(t *testing.T) {
	e, _ := failedOnce(t)
	for _, cmd := range []string{"dead", "replay", "discard"} {
		out, err := e.bridge("forward", cmd, "--target", "rejct")
		if err == nil {
			t.Errorf("forward %s --target rejct: no error\n%s", cmd, out)
			continue
		}
		msg := err.Error()
		t.Logf("forward %s --target rejct: %s", cmd, msg)
		if !strings.Contains(msg, `"rejct"`) || !strings.Contains(msg, "fail, idle, personal, reject") {
			t.Errorf("forward %s --target rejct: %q, want it to name rejct and the targets (fail, idle, personal, reject)", cmd, msg)
		}
	}
	if out := e.mustBridge("forward", "dead", "--target", "reject"); strings.Count(out, "no thanks") != 3 {
		t.Errorf("forward dead --target reject:\n%s", out)
	}
}

// A target no longer in the config whose deliveries are still in the
// database is shown, and its dead letters can still be listed and
// discarded.
func TestForwardRemovedTargetStillManaged(t *testing.T) {
	e, db := failedOnce(t)
	// The same database, with a config that no longer has "reject".
	cfg := strings.Replace(string(must(os.ReadFile(e.path))), "targets: [fail, reject]", "targets: [fail]", 1)
	cfg = regexp.MustCompile(`(?s)  - name: reject\n.*?(  - name: idle)`).ReplaceAllString(cfg, "$1")
	if err := os.WriteFile(e.path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rows := parseStatus(t, e.mustBridge("forward", "status"))
	if r, ok := rows["reject"]; !ok || r.dead != "3" || r.breaker != "-" {
		t.Errorf("removed target reject: %+v (listed %v), want 3 dead, no breaker", r, ok)
	}
	if out := e.mustBridge("forward", "discard", "--target", "reject"); !strings.Contains(out, "3 dead deliveries discarded") {
		t.Errorf("discard --target reject: %q", out)
	}
	if n, _ := db.ListDead(context.Background(), lrs.DeadFilter{}); len(n) != 0 {
		t.Errorf("%d dead letters left", len(n))
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// --since takes a date (midnight UTC) or an RFC 3339 time, and a bad value
// says which formats it takes.
func TestForwardBackfillSince(t *testing.T) {
	e, _ := failedOnce(t)
	// Without reject's dead letters, a back-fill of "all" queues the three
	// statements for reject again (fail has them pending already).
	e.mustBridge("forward", "discard", "--all")
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format("2006-01-02")
	if out := e.mustBridge("forward", "backfill", "--rule", "all", "--since", tomorrow); !strings.Contains(out, "queued 0 deliveries") {
		t.Errorf("backfill --since %s (tomorrow): %s", tomorrow, out)
	}
	if out := e.mustBridge("forward", "backfill", "--rule", "all", "--since", "2025-01-01T01:00:00+01:00"); !strings.Contains(out, "queued 3 deliveries") {
		t.Errorf("backfill --since 2025-01-01T01:00:00+01:00: %s", out)
	}
	for _, since := range []string{"2025-01-01", "2025-01-01T00:00:00Z"} {
		if out, err := e.bridge("forward", "backfill", "--rule", "all", "--since", since); err != nil || !strings.Contains(out, "queued 0 deliveries") {
			t.Errorf("backfill --since %s: %v\n%s", since, err, out)
		}
	}
	for _, bad := range []string{"yesterday", "2025-13-01", "01/02/2025"} {
		_, err := e.bridge("forward", "backfill", "--rule", "all", "--since", bad)
		if err == nil {
			t.Errorf("backfill --since %s: no error", bad)
			continue
		}
		t.Logf("--since %s: %v", bad, err)
		if msg := err.Error(); !strings.Contains(msg, "--since") || !strings.Contains(msg, bad) ||
			!strings.Contains(msg, "2025-01-01") || !strings.Contains(msg, "RFC 3339") {
			t.Errorf("backfill --since %s: %q, want the value and the formats (a date such as 2025-01-01, or RFC 3339)", bad, msg)
		}
	}
}
