package integration_test

// Fault tests of statement forwarding: the built binary forwards to REAL
// HTTP targets, an in-process fault-injectable server (faultServer) and a
// second bridge, while the tests switch the targets between working,
// failing, rejecting and stalling, kill the bridge, and run two bridges on
// one MariaDB database. Every scenario checks that what should arrive
// arrives, and that nothing arrives twice.

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/internal/testmysql"
)

// ---------------------------------------------------------------------------
// The fault-injectable target.

const (
	modeOK     = "ok"     // 2xx (an xAPI receiver answers like an LRS)
	modeFail   = "fail"   // 503, with Retry-After when set
	modeReject = "reject" // 400
	modeStall  = "stall"  // hold the request until the client gives up
)

// received is one request the fault server answered.
type received struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
	IDs                 []string // statement ids in the body (or the PUT's statementId)
	Status              int      // 0: stalled, the client went away
	At                  time.Time
}

// faultServer records every request and answers by its current mode. As an
// xAPI receiver (xapi true) it serves POST/PUT {url}/xapi/statements;
// otherwise any request is a webhook delivery.
type faultServer struct {
	t          *testing.T
	srv        *httptest.Server
	xapi       bool
	user, pass string        // required Basic credentials, when user is set
	stallFor   time.Duration // longest a stalled request is held
	okDelay    time.Duration // a slow receiver: how long ok mode takes to answer

	mu         sync.Mutex
	mode       string
	retryAfter string
	reqs       []received
	accepted   map[string]int // statement id -> times taken with a 2xx
	firstAt    map[string]time.Time
	inflight   int // stalled requests being held now
}

func newFaultServer(t *testing.T, xapi bool) *faultServer {
	f := &faultServer{t: t, xapi: xapi, mode: modeOK, stallFor: 5 * time.Second,
		accepted: map[string]int{}, firstAt: map[string]time.Time{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// endpoint is the xAPI endpoint of an xAPI-mode server.
func (f *faultServer) endpoint() string { return f.srv.URL + "/xapi" }

func (f *faultServer) setMode(mode, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode, f.retryAfter = mode, retryAfter
}

func statementIDs(body []byte) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case map[string]any:
		list = []any{x}
	}
	var ids []string
	for _, s := range list {
		if m, ok := s.(map[string]any); ok {
			if id, ok := m["id"].(string); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

func (f *faultServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, At: time.Now()}
	if id := r.URL.Query().Get("statementId"); r.Method == http.MethodPut && id != "" {
		rec.IDs = []string{id}
	} else {
		rec.IDs = statementIDs(body)
	}
	f.mu.Lock()
	mode, retryAfter := f.mode, f.retryAfter
	if mode == modeStall {
		f.inflight++
	}
	f.mu.Unlock()

	status := f.answer(w, r, &rec, mode, retryAfter)

	f.mu.Lock()
	defer f.mu.Unlock()
	if mode == modeStall {
		f.inflight--
	}
	rec.Status = status
	if status >= 200 && status < 300 {
		for _, id := range rec.IDs {
			f.accepted[id]++
			if _, ok := f.firstAt[id]; !ok {
				f.firstAt[id] = rec.At
			}
		}
	}
	f.reqs = append(f.reqs, rec)
}

// answer writes the response and returns its status (0 for a stalled
// request whose client gave up).
func (f *faultServer) answer(w http.ResponseWriter, r *http.Request, rec *received, mode, retryAfter string) int {
	if f.user != "" {
		if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.pass {
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return http.StatusUnauthorized
		}
	}
	switch mode {
	case modeFail:
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return http.StatusServiceUnavailable
	case modeReject:
		http.Error(w, "rejected by the fault server", http.StatusBadRequest)
		return http.StatusBadRequest
	case modeStall:
		select {
		case <-r.Context().Done():
			return 0
		case <-time.After(f.stallFor):
			http.Error(w, "stalled", http.StatusServiceUnavailable)
			return http.StatusServiceUnavailable
		}
	}
	if f.okDelay > 0 {
		select {
		case <-r.Context().Done():
			return 0
		case <-time.After(f.okDelay):
		}
	}
	if !f.xapi {
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	}
	if r.URL.Path != "/xapi/statements" || r.Header.Get("X-Experience-API-Version") == "" {
		http.Error(w, "not an xAPI statements request", http.StatusBadRequest)
		return http.StatusBadRequest
	}
	switch r.Method {
	case http.MethodPut:
		w.WriteHeader(http.StatusNoContent) // an LRS answers 204, also for the same statement again
		return http.StatusNoContent
	case http.MethodPost:
		f.mu.Lock()
		dup := false
		for _, id := range rec.IDs {
			dup = dup || f.accepted[id] > 0
		}
		f.mu.Unlock()
		if dup { // as an LRS does for an id it has: the bridge falls back to PUT
			http.Error(w, "statement id already stored", http.StatusConflict)
			return http.StatusConflict
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(rec.IDs)
		return http.StatusOK
	}
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return http.StatusMethodNotAllowed
}

func (f *faultServer) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func (f *faultServer) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accepted[id]
}

func (f *faultServer) inFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.inflight
}

// allArrived reports whether every id was accepted at least once.
func (f *faultServer) allArrived(ids []string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if f.accepted[id] == 0 {
			return false
		}
	}
	return true
}

func (f *faultServer) missing(ids []string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, id := range ids {
		if f.accepted[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// checkOnce fails the test for every id accepted more than once, and for
// every id accepted that is not in want.
func (f *faultServer) checkOnce(t *testing.T, want []string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	wanted := map[string]bool{}
	for _, id := range want {
		wanted[id] = true
	}
	dups := 0
	for id, n := range f.accepted {
		if n > 1 {
			dups++
			t.Errorf("statement %s accepted %d times", id, n)
		}
		if !wanted[id] {
			t.Errorf("statement %s arrived but should not have", id)
		}
	}
	for _, id := range want {
		if f.accepted[id] == 0 {
			t.Errorf("statement %s never arrived", id)
		}
	}
}

// ---------------------------------------------------------------------------
// Bridges and helpers.

const (
	fwKey        = "lrs-admin"
	fwSecret     = "lrs-admin-secret-0123456789"
	fwAdminToken = "admin-token-0123456789abcdef"
)

// fwConfig writes dir/bridge.yaml: a SQLite bridge (unless db is given)
// with an xAPI credential, the admin API on, fast polling, and extra (the
// scenario's targets and rules).
func fwConfig(t *testing.T, dir, db, extra string) string {
	t.Helper()
	if db == "" {
		db = "database:\n  driver: sqlite\n  dsn: \"" + filepath.Join(dir, "lrs.db") + "\"\n"
	}
	cfg := fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: "%s"
shutdown_timeout: 5s
log:
  level: debug
%scredentials:
  - key: %s
    secret: %s
    scopes: [all]
admin:
  tokens: [%s]
forwarding:
  poll_interval: 100ms
`, filepath.Join(dir, "data"), db, fwKey, fwSecret, fwAdminToken) + extra
	path := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fastDelivery is a target's delivery block with test-sized retries.
func fastDelivery(timeout string, failures int) string {
	return fmt.Sprintf(`    delivery:
      timeout: %s
      retry: {initial_backoff: 50ms, max_backoff: 300ms}
      breaker: {failures: %d, open_for: 300ms}
`, timeout, failures)
}

// startFw starts `bridge serve` with the config and logs its output if the
// test fails.
func startFw(t *testing.T, dir, cfg string, env ...string) *proc {
	t.Helper()
	return startFwWith(t, bridgeOpts{}, dir, cfg, env...)
}

func startFwWith(t *testing.T, o bridgeOpts, dir, cfg string, env ...string) *proc {
	t.Helper()
	p := startBridgeWith(t, o, dir, env, "serve", "--config", cfg)
	t.Cleanup(func() {
		if t.Failed() {
			if d := os.Getenv("FW_DUMP"); d != "" {
				os.WriteFile(filepath.Join(d, strings.NewReplacer(":", "_", "/", "_").Replace(p.base)+".log"), []byte(p.Stderr()), 0o644)
			}
			t.Logf("bridge %s stderr (tail):\n%s", p.base, tail(p.Stderr(), 60))
		}
	})
	return p
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func xapiClient(t *testing.T, p *proc) *client {
	return &client{t: t, endpoint: p.endpoint, user: fwKey, secret: fwSecret, version: "2.0.0"}
}

// adminCall calls the admin API of p.
func adminCall(t *testing.T, p *proc, method, path string, body any) *response {
	t.Helper()
	c := &client{t: t, endpoint: p.base}
	return c.do(method, "/api/v1"+path, body, "Authorization", "Bearer "+fwAdminToken)
}

type targetStatus struct {
	Target               string     `json:"target"`
	Pending              int64      `json:"pending"`
	Dead                 int64      `json:"dead"`
	Breaker              string     `json:"breaker"`
	BreakerCause         string     `json:"breaker_cause"`
	Retrying             int64      `json:"retrying"`
	OldestPending        *time.Time `json:"oldest_pending"`
	OldestPendingSeconds float64    `json:"oldest_pending_seconds"`
	LastError            string     `json:"last_error"`
	LastStatus           int        `json:"last_status"`
	LastErrorAt          *time.Time `json:"last_error_at"`
}

func targetStatuses(t *testing.T, p *proc) map[string]targetStatus {
	t.Helper()
	r := adminCall(t, p, "GET", "/forwarding/targets", nil)
	if r.Status != 200 {
		t.Fatalf("GET /api/v1/forwarding/targets: %d %s", r.Status, r.Body)
	}
	var res struct{ Targets []targetStatus }
	r.JSON(t, &res)
	out := map[string]targetStatus{}
	for _, s := range res.Targets {
		out[s.Target] = s
	}
	return out
}

func metricsText(t *testing.T, p *proc) string {
	t.Helper()
	c := &client{t: t, endpoint: p.base}
	r, err := c.try("GET", "/metrics", nil)
	if err != nil || r.Status != 200 {
		return ""
	}
	return string(r.Body)
}

// fwStatement is a statement with an id chosen here.
func fwStatement(actor, verb string) map[string]any {
	s := statement(actor, verb, "course-"+verb)
	s["id"] = uuid.NewString()
	return s
}

func idOf(s map[string]any) string { return s["id"].(string) }

func idsOf(stmts []map[string]any) []string {
	out := make([]string, len(stmts))
	for i, s := range stmts {
		out[i] = idOf(s)
	}
	return out
}

// eventually polls cond until it holds or d has passed.
func eventually(t *testing.T, d time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, fmt.Sprintf(format, args...))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runBridgeTimeout is runBridge for commands that might not return (a
// serve that unexpectedly starts).
func runBridgeTimeout(t *testing.T, d time.Duration, dir string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, bridgeBin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("bridge %s did not finish within %s:\n%s", strings.Join(args, " "), d, out)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func sha1Hex(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// ---------------------------------------------------------------------------
// 1. Bridge to bridge.

func TestForwardBridgeToBridge(t *testing.T) {
	t.Parallel()
	dirB := t.TempDir()
	b := startFw(t, dirB, fwConfig(t, dirB, "", ""))
	dirA := t.TempDir()
	a := startFw(t, dirA, fwConfig(t, dirA, "", fmt.Sprintf(`targets:
  - name: lrs-b
    type: xapi
    endpoint: %s
    username: %s
    password: %s
%srules:
  - name: completions
    when: verbIs("completed")
    targets: [lrs-b]
    transform:
      hash: [actor.mbox]
      drop: [actor.name]
`, b.endpoint, fwKey, fwSecret, fastDelivery("2s", 5))))
	ca, cb := xapiClient(t, a), xapiClient(t, b)

	var completed, others []map[string]any
	var batch []map[string]any
	for i, verb := range []string{"completed", "attempted", "completed", "experienced", "passed", "completed", "completed", "failed"} {
		s := fwStatement(fmt.Sprintf("learner%d", i), verb)
		batch = append(batch, s)
		if verb == "completed" {
			completed = append(completed, s)
		} else {
			others = append(others, s)
		}
	}
	ca.expect(200, "POST", "/statements", batch[:4])
	for _, s := range batch[4:] {
		ca.expect(200, "POST", "/statements", s)
	}

	arrived := func(id string) bool {
		r, err := cb.try("GET", "/statements?statementId="+id, nil)
		return err == nil && r.Status == 200
	}
	for _, s := range completed {
		eventually(t, 15*time.Second, func() bool { return arrived(idOf(s)) }, "statement %s at bridge B", idOf(s))
	}
	eventually(t, 10*time.Second, func() bool { return targetStatuses(t, a)["lrs-b"].Pending == 0 }, "bridge A's queue for lrs-b empties")
	for _, s := range completed {
		var got map[string]any
		cb.expect(200, "GET", "/statements?statementId="+idOf(s), nil).JSON(t, &got)
		actor, _ := got["actor"].(map[string]any)
		wantSum := sha1Hex(s["actor"].(map[string]any)["mbox"].(string))
		if actor["mbox_sha1sum"] != wantSum || actor["mbox"] != nil || actor["name"] != nil {
			t.Errorf("statement %s at B: actor %v, want only mbox_sha1sum %s", idOf(s), actor, wantSum)
		}
		if got["id"] != idOf(s) {
			t.Errorf("id at B %v, want %s", got["id"], idOf(s))
		}
	}
	for _, s := range others {
		if r := cb.do("GET", "/statements?statementId="+idOf(s), nil); r.Status != 404 {
			t.Errorf("%s statement %s reached bridge B (status %d)", s["verb"].(map[string]any)["id"], idOf(s), r.Status)
		}
	}
	var all struct{ Statements []map[string]any }
	cb.expect(200, "GET", "/statements?limit=100", nil).JSON(t, &all)
	if len(all.Statements) != len(completed) {
		t.Errorf("bridge B stores %d statements, want %d", len(all.Statements), len(completed))
	}

	// Store-to-delivery delay of single statements: POST to A, poll B.
	var delays []time.Duration
	for range 5 {
		s := fwStatement("solo", "completed")
		start := time.Now()
		ca.expect(200, "POST", "/statements", s)
		for !arrived(idOf(s)) { // a tight poll: eventually's 10ms would blur the measurement
			if time.Since(start) > 10*time.Second {
				t.Fatalf("single statement %s not at B within 10s", idOf(s))
			}
			time.Sleep(500 * time.Microsecond)
		}
		delays = append(delays, time.Since(start))
	}
	slices.Sort(delays)
	t.Logf("store-to-delivery delay A -> B (POST to A acknowledged, until readable at B), 5 runs: min %s, median %s, max %s",
		delays[0].Round(time.Microsecond), delays[2].Round(time.Microsecond), delays[4].Round(time.Microsecond))
	if delays[2] > time.Second {
		t.Errorf("median store-to-delivery delay %s, want well under 1s", delays[2])
	}
}

// ---------------------------------------------------------------------------
// 2. Webhooks with HMAC signatures, single and batch.

func TestForwardWebhookHMAC(t *testing.T) {
	t.Parallel()
	single, batch := newFaultServer(t, false), newFaultServer(t, false)
	const secretSingle, secretBatch = "single-hmac-secret", "batch-hmac-secret"
	dir := t.TempDir()
	p := startFw(t, dir, fwConfig(t, dir, "", fmt.Sprintf(`targets:
  - name: hook-single
    type: webhook
    url: %s/hooks/single
    hmac_secret: %s
    headers: ["X-Tenant: charity-1"]
%s  - name: hook-batch
    type: webhook
    url: %s/hooks/batch
    batch: true
    hmac_secret: %s
%srules:
  - name: everything
    targets: [hook-single, hook-batch]
`, single.srv.URL, secretSingle, fastDelivery("2s", 5), batch.srv.URL, secretBatch, fastDelivery("2s", 5))))
	c := xapiClient(t, p)

	var stmts []map[string]any
	for i := range 12 {
		stmts = append(stmts, fwStatement(fmt.Sprintf("hooked%d", i), "answered"))
	}
	c.expect(200, "POST", "/statements", stmts[:10]) // one transaction: one batch
	c.expect(200, "POST", "/statements", stmts[10])
	c.expect(200, "POST", "/statements", stmts[11])
	ids := idsOf(stmts)
	eventually(t, 15*time.Second, func() bool { return single.allArrived(ids) && batch.allArrived(ids) },
		"all statements at both webhooks (single missing %v, batch missing %v)", single.missing(ids), batch.missing(ids))
	eventually(t, 10*time.Second, func() bool {
		st := targetStatuses(t, p)
		return st["hook-single"].Pending == 0 && st["hook-batch"].Pending == 0
	}, "queues empty")

	verify := func(name string, f *faultServer, secret string, wantArray bool) {
		reqs := f.requests()
		deliveries := map[string]bool{}
		largest := 0
		for _, r := range reqs {
			if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("User-Agent") != "bridge" {
				t.Errorf("%s: %s with Content-Type %q, User-Agent %q", name, r.Method, r.Header.Get("Content-Type"), r.Header.Get("User-Agent"))
			}
			ts, sig := r.Header.Get(forwarders.HeaderTimestamp), r.Header.Get(forwarders.HeaderSignature)
			if err := forwarders.VerifyRequest(secret, r.Header, r.Body, 5*time.Minute, time.Now()); err != nil {
				t.Errorf("%s: signature does not verify: %v (timestamp %q, signature %q)", name, err, ts, sig)
			}
			if err := forwarders.VerifyRequest("wrong-secret", r.Header, r.Body, 5*time.Minute, time.Now()); err == nil {
				t.Errorf("%s: signature verifies with a wrong secret", name)
			}
			tampered := append(slices.Clone(r.Body[:len(r.Body)-1]), ' ', r.Body[len(r.Body)-1])
			if err := forwarders.VerifyRequest(secret, r.Header, tampered, 5*time.Minute, time.Now()); err == nil {
				t.Errorf("%s: signature verifies a changed body", name)
			}
			other := r.Header.Clone()
			other.Set(forwarders.HeaderDelivery, "999999")
			if err := forwarders.VerifyRequest(secret, other, r.Body, 5*time.Minute, time.Now()); err == nil {
				t.Errorf("%s: signature verifies a changed %s", name, forwarders.HeaderDelivery)
			}
			dh := r.Header.Get(forwarders.HeaderDelivery)
			if dh == "" {
				t.Errorf("%s: request without %s", name, forwarders.HeaderDelivery)
			}
			parts := strings.Split(dh, ",")
			if len(parts) != len(r.IDs) {
				t.Errorf("%s: %s %q names %d deliveries for %d statements", name, forwarders.HeaderDelivery, dh, len(parts), len(r.IDs))
			}
			for _, d := range parts {
				if deliveries[d] {
					t.Errorf("%s: delivery %s sent twice", name, d)
				}
				deliveries[d] = true
			}
			isArray := strings.HasPrefix(strings.TrimSpace(string(r.Body)), "[")
			if isArray != wantArray {
				t.Errorf("%s: body is an array: %v, want %v: %.80s", name, isArray, wantArray, r.Body)
			}
			largest = max(largest, len(r.IDs))
		}
		if wantArray && largest < 2 {
			t.Errorf("%s: no request carried more than one statement (largest %d)", name, largest)
		}
		if !wantArray && len(reqs) != len(ids) {
			t.Errorf("%s: %d requests for %d statements", name, len(reqs), len(ids))
		}
		f.checkOnce(t, ids)
	}
	verify("hook-single", single, secretSingle, false)
	verify("hook-batch", batch, secretBatch, true)
	if got := single.requests()[0].Header.Get("X-Tenant"); got != "charity-1" {
		t.Errorf("configured header X-Tenant: %q", got)
	}
	// A webhook gets the statement as stored, untransformed.
	var first map[string]any
	json.Unmarshal(single.requests()[0].Body, &first)
	if a, _ := first["actor"].(map[string]any); a == nil || a["mbox"] == nil || first["stored"] == nil {
		t.Errorf("webhook body: %v", first)
	}
}

// ---------------------------------------------------------------------------
// 3. A target that fails, then recovers.

func TestForwardFailThenRecover(t *testing.T) {
	t.Parallel()
	f := newFaultServer(t, true)
	f.setMode(modeFail, "")
	dir := t.TempDir()
	p := startFw(t, dir, fwConfig(t, dir, "", fmt.Sprintf(`targets:
  - name: flaky
    type: xapi
    endpoint: %s
    version: 2.0.0
%srules:
  - name: all
    targets: [flaky]
`, f.endpoint(), fastDelivery("1s", 2))))
	c := xapiClient(t, p)
	var stmts []map[string]any
	for i := range 10 {
		s := fwStatement(fmt.Sprintf("waiting%d", i), "completed")
		stmts = append(stmts, s)
		c.expect(200, "POST", "/statements", s)
	}
	ids := idsOf(stmts)

	const openMetric = `bridge_forward_breaker_state{target="flaky"} 2`
	var sawPending, sawOpen, sawOpenMetric bool
	eventually(t, 15*time.Second, func() bool {
		st := targetStatuses(t, p)["flaky"]
		sawPending = sawPending || st.Pending == int64(len(ids))
		sawOpen = sawOpen || st.Breaker == "open"
		sawOpenMetric = sawOpenMetric || strings.Contains(metricsText(t, p), openMetric)
		return sawPending && sawOpen && sawOpenMetric
	}, "while failing: pending=%d seen %v, breaker open in admin API %v, %s in /metrics %v", len(ids), sawPending, sawOpen, openMetric, sawOpenMetric)
	// The open breaker lets a probe through every open_for (300ms); each
	// fails and opens it again.
	openedAt := time.Now()
	eventually(t, 10*time.Second, func() bool { return len(f.requests()) >= 4 }, "half-open probes while failing")
	failed := len(f.requests())
	if perSecond := float64(failed) / max(time.Since(openedAt).Seconds(), 0.3); failed > 4 && perSecond > 20 {
		t.Errorf("%d requests while failing (%.0f/s): the breaker does not hold them back", failed, perSecond)
	}
	if n := len(f.missing(ids)); n != len(ids) {
		t.Fatalf("%d statements accepted while failing", len(ids)-n)
	}

	f.setMode(modeOK, "")
	eventually(t, 15*time.Second, func() bool { return f.allArrived(ids) }, "all arrive after recovery; missing %v", f.missing(ids))
	eventually(t, 10*time.Second, func() bool {
		st := targetStatuses(t, p)["flaky"]
		return st.Pending == 0 && st.Dead == 0 && st.Breaker == "closed" &&
			strings.Contains(metricsText(t, p), `bridge_forward_breaker_state{target="flaky"} 0`)
	}, "queue empty and breaker closed: %+v", targetStatuses(t, p)["flaky"])
	f.checkOnce(t, ids)
	t.Logf("%d failed requests before recovery, %d requests in all", failed, len(f.requests()))
	if m := metricsText(t, p); !strings.Contains(m, fmt.Sprintf(`bridge_forward_delivered_total{target="flaky"} %d`, len(ids))) {
		t.Errorf("metrics: delivered_total for flaky is not %d", len(ids))
	}
}

// What an operator reads while a target is down and once it has recovered:
// the admin API and `bridge forward status` (another process, reading what
// the serving bridge recorded) show the breaker, pending, the oldest
// pending, retrying and the last error with its cause; the logs say why the
// breaker opened, and its recovery at INFO (issue 14).
func TestForwardStatusWhileDownAndAfter(t *testing.T) {
	t.Parallel()
	f := newFaultServer(t, true)
	f.setMode(modeFail, "")
	dir := t.TempDir()
	cfg := fwConfig(t, dir, "", fmt.Sprintf(`targets:
  - name: flaky
    type: xapi
    endpoint: %s
    delivery:
      timeout: 1s
      retry: {initial_backoff: 50ms, max_backoff: 300ms}
      breaker: {failures: 2, open_for: 1s}
rules:
  - name: all
    targets: [flaky]
`, f.endpoint()))
	p := startFw(t, dir, cfg)
	c := xapiClient(t, p)
	var stmts []map[string]any
	for i := range 4 {
		stmts = append(stmts, fwStatement(fmt.Sprintf("operator%d", i), "completed"))
	}
	c.expect(200, "POST", "/statements", stmts)
	ids := idsOf(stmts)

	var st targetStatus
	eventually(t, 15*time.Second, func() bool {
		st = targetStatuses(t, p)["flaky"]
		return st.Breaker == "open" && st.Retrying == 4
	}, "breaker open and 4 retrying")
	if st.Pending != 4 || st.OldestPending == nil || st.OldestPendingSeconds <= 0 || st.OldestPendingSeconds > 60 ||
		!strings.HasPrefix(st.LastError, "HTTP 503 Service Unavailable") || st.LastStatus != 503 || st.LastErrorAt == nil ||
		!strings.HasPrefix(st.BreakerCause, "HTTP 503 Service Unavailable") {
		t.Errorf("admin API while down: %+v", st)
	}
	if ps, ok := targetStatuses(t, p)["personal"]; !ok || ps.Pending != 0 || ps.Dead != 0 {
		t.Errorf("admin API: personal %+v (listed %v), want a row with nothing", ps, ok)
	}
	// A target that does not exist is refused, naming the targets.
	for _, r := range []*response{adminCall(t, p, "GET", "/forwarding/dead?target=flakey", nil),
		adminCall(t, p, "POST", "/forwarding/dead/replay", map[string]any{"target": "flakey"}),
		adminCall(t, p, "POST", "/forwarding/dead/discard", map[string]any{"target": "flakey"})} {
		if r.Status != 400 || !strings.Contains(string(r.Body), "flakey") || !strings.Contains(string(r.Body), "flaky, personal") {
			t.Errorf("target flakey: %d %s, want 400 naming the targets", r.Status, r.Body)
		}
	}
	out, code := runBridgeTimeout(t, 30*time.Second, dir, "forward", "status", "--config", cfg)
	if code != 0 || !regexpMatch(`(?m)^flaky\s+(open|half-open)\s+4\s+\d+s\s+4\s+0\s+HTTP 503 Service Unavailable: temporarily unavailable \(\d+s ago\)\s*$`, out) {
		t.Errorf("bridge forward status while down: exit %d:\n%s", code, out)
	}

	f.setMode(modeOK, "")
	eventually(t, 15*time.Second, func() bool { return f.allArrived(ids) }, "all arrive after recovery; missing %v", f.missing(ids))
	eventually(t, 10*time.Second, func() bool {
		st = targetStatuses(t, p)["flaky"]
		return st.Pending == 0 && st.Breaker == "closed"
	}, "queue empty, breaker closed")
	if st.Retrying != 0 || st.OldestPending != nil || !strings.HasPrefix(st.LastError, "HTTP 503") {
		t.Errorf("admin API after recovery: %+v, want nothing retrying or pending, the last error still told", st)
	}
	eventually(t, 10*time.Second, func() bool {
		out, code = runBridgeTimeout(t, 30*time.Second, dir, "forward", "status", "--config", cfg)
		return code == 0 && regexpMatch(`(?m)^flaky\s+closed\s+0\s+-\s+0\s+0\s+HTTP 503 Service Unavailable: temporarily unavailable \(\d+s ago\)\s*$`, out)
	}, "bridge forward status after recovery: exit %d:\n%s", code, out)
	f.checkOnce(t, ids)

	logs := p.Stderr()
	if l := grepLines(logs, `msg="circuit breaker opened: `); !strings.Contains(l, "level=WARN") || !strings.Contains(l, `cause="HTTP 503 Service Unavailable: temporarily unavailable"`) {
		t.Errorf("breaker opening logged as:\n%s", l)
	}
	if l := grepLines(logs, `msg="circuit breaker closed: `); !strings.Contains(l, "level=INFO") {
		t.Errorf("breaker recovery logged as:\n%s", l)
	}
}

// ---------------------------------------------------------------------------
// 4. Rejections become dead letters; replay sends them.

type deadLetter struct {
	ID          int64  `json:"id"`
	Target      string `json:"target"`
	StatementID string `json:"statement_id"`
	LastStatus  int    `json:"last_status"`
	LastError   string `json:"last_error"`
}

func deadLetters(t *testing.T, p *proc) []deadLetter {
	t.Helper()
	r := adminCall(t, p, "GET", "/forwarding/dead", nil)
	if r.Status != 200 {
		t.Fatalf("GET /api/v1/forwarding/dead: %d %s", r.Status, r.Body)
	}
	var res struct{ Dead []deadLetter }
	r.JSON(t, &res)
	return res.Dead
}

func TestForwardDeadLetters(t *testing.T) {
	t.Parallel()
	f := newFaultServer(t, false)
	f.setMode(modeReject, "")
	dir := t.TempDir()
	cfg := fwConfig(t, dir, "", fmt.Sprintf(`targets:
  - name: strict
    type: webhook
    url: %s/in
%srules:
  - name: all
    targets: [strict]
`, f.srv.URL, fastDelivery("1s", 5)))
	p := startFw(t, dir, cfg)
	c := xapiClient(t, p)

	// Round 1: dead letters listed by the CLI and the API, replayed by the CLI.
	var first []map[string]any
	for i := range 3 {
		first = append(first, fwStatement(fmt.Sprintf("rejected%d", i), "completed"))
	}
	c.expect(200, "POST", "/statements", first)
	ids1 := idsOf(first)
	eventually(t, 15*time.Second, func() bool { return len(deadLetters(t, p)) == 3 }, "3 dead letters")
	for _, d := range deadLetters(t, p) {
		if d.Target != "strict" || d.LastStatus != 400 || !strings.Contains(d.LastError, "400") || !slices.Contains(ids1, d.StatementID) {
			t.Errorf("dead letter %+v", d)
		}
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("%d requests for 3 rejected statements: a 400 must not be retried", n)
	}
	out, code := runBridgeTimeout(t, 30*time.Second, dir, "forward", "dead", "--config", cfg)
	if code != 0 {
		t.Fatalf("bridge forward dead: exit %d: %s", code, out)
	}
	for _, id := range ids1 {
		if !strings.Contains(out, id) {
			t.Errorf("bridge forward dead does not list %s:\n%s", id, out)
		}
	}
	out, code = runBridgeTimeout(t, 30*time.Second, dir, "forward", "status", "--config", cfg)
	// TARGET BREAKER PENDING OLDEST RETRYING DEAD LAST ERROR
	if code != 0 || !regexpMatch(`(?m)^strict\s+closed\s+0\s+-\s+0\s+3\s+HTTP 400 Bad Request: rejected by the fault server \(\d+\w+ ago\)\s*$`, out) ||
		!regexpMatch(`(?m)^personal\s+-\s+0\s+-\s+0\s+0\s+-\s*$`, out) {
		t.Errorf("bridge forward status: exit %d:\n%s", code, out)
	}
	out, code = runBridgeTimeout(t, 30*time.Second, dir, "forward", "replay", "--config", cfg)
	if code == 0 || !strings.Contains(out, "--all") {
		t.Errorf("replay without a selection: exit %d: %s", code, out)
	}

	f.setMode(modeOK, "")
	out, code = runBridgeTimeout(t, 30*time.Second, dir, "forward", "replay", "--all", "--config", cfg)
	if code != 0 || !strings.Contains(out, "3 dead deliveries queued again") {
		t.Fatalf("bridge forward replay --all: exit %d: %s", code, out)
	}
	// The CLI cannot wake the server's dispatcher: its poll finds them.
	eventually(t, 15*time.Second, func() bool { return f.allArrived(ids1) }, "replayed statements arrive; missing %v", f.missing(ids1))

	// Round 2: replayed through the admin API.
	f.setMode(modeReject, "")
	second := []map[string]any{fwStatement("rejected-again", "completed"), fwStatement("rejected-again2", "completed")}
	c.expect(200, "POST", "/statements", second)
	ids2 := idsOf(second)
	eventually(t, 15*time.Second, func() bool { return len(deadLetters(t, p)) == 2 }, "2 new dead letters")
	if r := adminCall(t, p, "POST", "/forwarding/dead/replay", map[string]any{}); r.Status != 400 {
		t.Errorf("replay with an empty selection: %d %s", r.Status, r.Body)
	}
	f.setMode(modeOK, "")
	r := adminCall(t, p, "POST", "/forwarding/dead/replay", map[string]any{"all": true})
	if r.Status != 200 || !strings.Contains(string(r.Body), `"count":2`) {
		t.Fatalf("POST /api/v1/forwarding/dead/replay: %d %s", r.Status, r.Body)
	}
	all := append(ids1, ids2...)
	eventually(t, 15*time.Second, func() bool { return f.allArrived(all) }, "all arrive; missing %v", f.missing(all))
	eventually(t, 10*time.Second, func() bool {
		st := targetStatuses(t, p)["strict"]
		return st.Pending == 0 && st.Dead == 0
	}, "queue and dead letters empty")
	f.checkOnce(t, all)
}

// ---------------------------------------------------------------------------
// 5. A stalled target does not hold up another.

func TestForwardStall(t *testing.T) {
	t.Parallel()
	slow, fast := newFaultServer(t, false), newFaultServer(t, true)
	slow.setMode(modeStall, "")
	dir := t.TempDir()
	p := startFw(t, dir, fwConfig(t, dir, "", fmt.Sprintf(`targets:
  - name: slow
    type: webhook
    url: %s/hook
%s  - name: fast
    type: xapi
    endpoint: %s
%srules:
  - name: both
    targets: [slow, fast]
`, slow.srv.URL, fastDelivery("300ms", 100), fast.endpoint(), fastDelivery("2s", 5))))
	c := xapiClient(t, p)

	var stmts []map[string]any
	var worst time.Duration
	for i := range 5 {
		s := fwStatement(fmt.Sprintf("prompt%d", i), "completed")
		stmts = append(stmts, s)
		start := time.Now()
		c.expect(200, "POST", "/statements", s)
		eventually(t, 5*time.Second, func() bool { return fast.count(idOf(s)) > 0 }, "statement %d at the healthy target", i)
		worst = max(worst, time.Since(start))
		if i == 0 {
			eventually(t, 5*time.Second, func() bool { return slow.inFlight() > 0 }, "a stalled request at the slow target")
		}
	}
	t.Logf("healthy target while the other stalls: slowest store-to-delivery %s", worst.Round(time.Millisecond))
	if worst > 2*time.Second {
		t.Errorf("the healthy target waited %s for a statement: held up by the stalled one", worst)
	}
	ids := idsOf(stmts)
	eventually(t, 10*time.Second, func() bool { return len(slow.requests()) >= 3 }, "the stalled target is retried")
	if len(slow.missing(ids)) != len(ids) {
		t.Fatalf("the stalled target accepted statements")
	}
	eventually(t, 5*time.Second, func() bool {
		st := targetStatuses(t, p)
		return st["slow"].Pending == int64(len(ids)) && st["fast"].Pending == 0
	}, "while stalled: all pending for slow, none for fast: %+v", targetStatuses(t, p))

	slow.setMode(modeOK, "")
	eventually(t, 15*time.Second, func() bool { return slow.allArrived(ids) }, "statements at the recovered target; missing %v", slow.missing(ids))
	eventually(t, 10*time.Second, func() bool { return targetStatuses(t, p)["slow"].Pending == 0 }, "queue empty")
	slow.checkOnce(t, ids)
	fast.checkOnce(t, ids)
	stalled := 0
	for _, r := range slow.requests() {
		if r.Status == 0 {
			stalled++
		}
	}
	t.Logf("stalled target: %d requests timed out, %d in all", stalled, len(slow.requests()))
	if stalled < 2 {
		t.Errorf("%d timed-out requests, want retries", stalled)
	}
}

// A slow receiver, one request per statement: a claimed batch takes longer
// than the dispatcher allows for sending it. What was delivered must be
// recorded as delivered, not sent again once the lease is over.
func TestForwardSlowReceiverLongBatch(t *testing.T) {
	t.Parallel()
	f := newFaultServer(t, false)
	f.okDelay = 100 * time.Millisecond
	dir := t.TempDir()
	cfg := fwConfig(t, dir, "", fmt.Sprintf(`targets:
  - name: slowpoke
    type: webhook
    url: %s/hook
    delivery:
      batch_size: 25
      timeout: 300ms
      retry: {initial_backoff: 50ms, max_backoff: 300ms}
      breaker: {failures: 5, open_for: 300ms}
rules:
  - name: all
    targets: [slowpoke]
`, f.srv.URL))
	// Lease 3*300ms + 1s; a batch may send for 1.4s, 25 statements take 2.5s.
	p := startFwWith(t, bridgeOpts{leaseExtra: time.Second}, dir, cfg)
	c := xapiClient(t, p)
	var stmts []map[string]any
	for i := range 25 {
		stmts = append(stmts, fwStatement(fmt.Sprintf("patient%d", i), "completed"))
	}
	c.expect(200, "POST", "/statements", stmts)
	ids := idsOf(stmts)
	eventually(t, 20*time.Second, func() bool { return f.allArrived(ids) }, "all arrive; missing %d", len(f.missing(ids)))
	eventually(t, 10*time.Second, func() bool { return targetStatuses(t, p)["slowpoke"].Pending == 0 }, "queue empty")
	f.checkOnce(t, ids)
}

// ---------------------------------------------------------------------------
// 6. SIGKILL while deliveries are in flight.

func TestForwardKillMidDispatch(t *testing.T) {
	t.Parallel()
	f := newFaultServer(t, true)
	f.setMode(modeStall, "")
	dir := t.TempDir()
	cfg := fwConfig(t, dir, "", fmt.Sprintf(`targets:
  - name: victim
    type: xapi
    endpoint: %s
%srules:
  - name: all
    targets: [victim]
`, f.endpoint(), fastDelivery("300ms", 1000)))
	// The lease of a claim is 3*timeout + 20s; shorten the 20s so the
	// deliveries the killed process held are free again in under 2s.
	p := startFwWith(t, bridgeOpts{process: true, leaseExtra: time.Second}, dir, cfg)
	c := xapiClient(t, p)
	var stmts []map[string]any
	for i := range 10 {
		stmts = append(stmts, fwStatement(fmt.Sprintf("killed%d", i), "completed"))
	}
	c.expect(200, "POST", "/statements", stmts)
	ids := idsOf(stmts)
	eventually(t, 10*time.Second, func() bool { return f.inFlight() > 0 }, "a delivery in flight")
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("bridge did not die of SIGKILL: %v", p.cmd.ProcessState)
	}
	eventually(t, 5*time.Second, func() bool { return f.inFlight() == 0 }, "the killed bridge's request ends")

	restarted := time.Now()
	p2 := startFwWith(t, bridgeOpts{leaseExtra: time.Second}, dir, cfg)
	if st := targetStatuses(t, p2)["victim"]; st.Pending != int64(len(ids)) {
		t.Errorf("after restart: %+v, want %d pending", st, len(ids))
	}
	f.setMode(modeOK, "")
	eventually(t, 15*time.Second, func() bool { return f.allArrived(ids) }, "all arrive after the restart; missing %v", f.missing(ids))
	t.Logf("after SIGKILL: all %d delivered %s after the restart", len(ids), time.Since(restarted).Round(time.Millisecond))
	eventually(t, 10*time.Second, func() bool { return targetStatuses(t, p2)["victim"].Pending == 0 }, "queue empty")
	f.checkOnce(t, ids)
}

// ---------------------------------------------------------------------------
// 7. Two bridges on one MariaDB database.

func TestForwardTwoBridgesMySQL(t *testing.T) {
	t.Parallel()
	dsn := testmysql.New(t)
	f := newFaultServer(t, false)
	dir := t.TempDir()
	cfg := fwConfig(t, dir, fmt.Sprintf("database:\n  driver: mysql\n  dsn: \"%s\"\n", dsn), fmt.Sprintf(`  secret_key: shared-forwarding-key
targets:
  - name: counter
    type: webhook
    url: %s/count
    batch: true
    delivery:
      batch_size: 10
      concurrency: 3
      timeout: 2s
      retry: {initial_backoff: 50ms, max_backoff: 300ms}
      breaker: {failures: 5, open_for: 300ms}
rules:
  - name: all
    targets: [counter]
`, f.srv.URL))
	if out, code := runBridgeTimeout(t, 60*time.Second, dir, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("bridge migrate: exit %d: %s", code, out)
	}
	bridges := []*proc{startFw(t, dir, cfg), startFw(t, dir, cfg)}
	clients := []*client{xapiClient(t, bridges[0]), xapiClient(t, bridges[1])}

	const n = 200
	stmts := make([]map[string]any, n)
	for i := range stmts {
		stmts[i] = fwStatement(fmt.Sprintf("shared%d", i), "completed")
	}
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 8 {
				r, err := clients[i%2].try("POST", "/statements", stmts[i])
				if err != nil || r.Status != 200 {
					errs <- fmt.Sprintf("POST %d to bridge %d: %v %v", i, i%2, err, r)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	ids := idsOf(stmts)
	eventually(t, 20*time.Second, func() bool { return f.allArrived(ids) }, "all %d delivered; missing %d", n, len(f.missing(ids)))
	eventually(t, 10*time.Second, func() bool { return targetStatuses(t, bridges[0])["counter"].Pending == 0 }, "queue empty")
	// Each process delivered some (they share the work) and none twice.
	perProcess := map[string]int{}
	for _, b := range bridges {
		m := metricsText(t, b)
		for _, line := range strings.Split(m, "\n") {
			if strings.HasPrefix(line, `bridge_forward_delivered_total{target="counter"}`) {
				perProcess[b.base] = int(mustFloat(strings.Fields(line)[1]))
			}
		}
	}
	t.Logf("deliveries per process: %v, requests: %d", perProcess, len(f.requests()))
	total := 0
	for _, v := range perProcess {
		total += v
	}
	if total != n {
		t.Errorf("the processes count %d deliveries, want %d", total, n)
	}
	f.checkOnce(t, ids)
	for _, b := range bridges {
		logs := b.Stderr()
		if strings.Contains(logs, "level=ERROR") {
			t.Errorf("bridge %s logged errors:\n%s", b.base, grepLines(logs, "level=ERROR"))
		}
		if w := grepLines(logs, "level=WARN"); w != "" {
			t.Logf("bridge %s warnings:\n%s", b.base, w)
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func mustFloat(s string) float64 {
	var v float64
	fmt.Sscan(s, &v)
	return v
}

// ---------------------------------------------------------------------------
// 8. Rules that do not compile stop start-up; `bridge rules test`.

func TestForwardRuleErrorsAndRulesTest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	targets := `targets:
  - name: hook
    type: webhook
    url: http://127.0.0.1:9/hook
  - name: archive
    type: xapi
    endpoint: http://127.0.0.1:9/xapi
`
	bad := fwConfig(t, dir, "", targets+`rules:
  - name: good-rule
    when: verbIs("completed")
    targets: [hook]
  - name: typo-rule
    when: verbb.id == "http://adlnet.gov/expapi/verbs/completed"
    targets: [hook]
`)
	out, code := runBridgeTimeout(t, 30*time.Second, dir, "serve", "--config", bad)
	if code == 0 || !strings.Contains(out, `typo-rule`) || !strings.Contains(out, "line 1, column") || strings.Contains(out, "good-rule") {
		t.Errorf("serve with a rule that does not compile: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "xAPI endpoint") {
		t.Errorf("serve started despite the bad rule:\n%s", out)
	}

	dir2 := t.TempDir()
	good := fwConfig(t, dir2, "", targets+`rules:
  - name: completions
    when: verbIs("completed")
    targets: [hook, archive]
    transform:
      hash: [actor.mbox]
  - name: failures
    when: verbIs("failed") && actor.name == "Bea"
    targets: [archive]
`)
	stmtFile := filepath.Join(dir2, "statement.json")
	completed := statement("ann", "completed", "course-1")
	os.WriteFile(stmtFile, mustJSON(t, completed), 0o600)
	out, code = runBridgeTimeout(t, 30*time.Second, dir2, "rules", "test", "--config", good, stmtFile)
	if code != 0 || !strings.Contains(out, `rule "completions" -> target "hook"`) || !strings.Contains(out, `rule "completions" -> target "archive"`) ||
		strings.Contains(out, "failures") {
		t.Errorf("rules test (completed): exit %d:\n%s", code, out)
	}
	out, code = runBridgeTimeout(t, 30*time.Second, dir2, "rules", "test", "--show", "--config", good, stmtFile)
	if code != 0 || !strings.Contains(out, sha1Hex("mailto:ann@example.org")) || strings.Contains(out, `"mbox": "mailto:ann@example.org"`) {
		t.Errorf("rules test --show: exit %d:\n%s", code, out)
	}
	bea := statement("Bea", "failed", "course-2")
	bea["actor"].(map[string]any)["name"] = "Bea"
	os.WriteFile(stmtFile, mustJSON(t, []any{bea, statement("cy", "attempted", "course-3")}), 0o600)
	out, code = runBridgeTimeout(t, 30*time.Second, dir2, "rules", "test", "--config", good, stmtFile)
	if code != 0 || !strings.Contains(out, `statement 0: rule "failures" -> target "archive"`) ||
		!strings.Contains(out, "statement 1: no rule matches") {
		t.Errorf("rules test (array): exit %d:\n%s", code, out)
	}
	// rules test compiles the rules too.
	out, code = runBridgeTimeout(t, 30*time.Second, dir, "rules", "test", "--config", bad, stmtFile)
	if code == 0 || !strings.Contains(out, "typo-rule") || !strings.Contains(out, "line 1, column") {
		t.Errorf("rules test with a bad rule: exit %d:\n%s", code, out)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// ---------------------------------------------------------------------------
// 9. Personal LRSs.

func TestForwardPersonalLRS(t *testing.T) {
	t.Parallel()
	f := newFaultServer(t, true)
	f.user, f.pass = "ann-at-home", "ann-home-secret"
	dir := t.TempDir()
	p := startFw(t, dir, fwConfig(t, dir, "", `  personal:
    timeout: 2s
    retry: {initial_backoff: 50ms, max_backoff: 300ms}
    breaker: {failures: 5, open_for: 300ms}
rules:
  - name: learners-own
    targets: [personal]
`))
	ann := map[string]any{"mbox": "mailto:ann@example.org"}
	r := adminCall(t, p, "POST", "/personal-lrs", map[string]any{"agent": ann, "endpoint": f.endpoint(), "version": "2.0.0",
		"username": f.user, "password": f.pass})
	if r.Status != 201 {
		t.Fatalf("POST /api/v1/personal-lrs: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), f.pass) {
		t.Errorf("registration reply shows the password: %s", r.Body)
	}
	r = adminCall(t, p, "GET", "/personal-lrs", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), f.endpoint()) || strings.Contains(string(r.Body), f.pass) {
		t.Errorf("GET /api/v1/personal-lrs: %d %s", r.Status, r.Body)
	}
	if r := (&client{t: t, endpoint: p.base}).do("GET", "/api/v1/personal-lrs", nil, "Authorization", "Bearer not-the-token"); r.Status != 401 {
		t.Errorf("admin API with a wrong token: %d", r.Status)
	}

	// Only the statements of a trusted credential (or a Moodle source) go
	// to personal LRSs (issue 15, Low #10): the config's credential is not
	// trusted (config has no `trusted` key yet), so ann's statements come
	// through a credential the admin API marks trusted. Those the untrusted
	// credential writes "by" ann stay away from her LRS.
	r = adminCall(t, p, "POST", "/stores/1/credentials", map[string]any{"key": "learning-app", "scopes": []string{"statements/write"}, "trusted": true})
	var cred struct {
		Key, Secret string
		Trusted     bool
	}
	if r.Status != 201 {
		t.Fatalf("POST /api/v1/stores/1/credentials: %d %s", r.Status, r.Body)
	}
	if r.JSON(t, &cred); !cred.Trusted {
		t.Fatalf("credential created with trusted: true is not trusted: %s", r.Body)
	}
	trusted := &client{t: t, endpoint: p.endpoint, user: cred.Key, secret: cred.Secret, version: "2.0.0"}
	c := xapiClient(t, p)
	var annS, bobS, forged []map[string]any
	for i := range 3 {
		b := fwStatement("bob", "completed")
		bobS = append(bobS, b)
		trusted.expect(200, "POST", "/statements", b)
		a := fwStatement("ann", []string{"completed", "attempted", "passed"}[i])
		annS = append(annS, a)
		trusted.expect(200, "POST", "/statements", a)
		f := fwStatement("ann", "failed")
		forged = append(forged, f)
		c.expect(200, "POST", "/statements", f)
	}
	annIDs := idsOf(annS)
	eventually(t, 15*time.Second, func() bool { return f.allArrived(annIDs) }, "ann's statements at her LRS; missing %v", f.missing(annIDs))
	eventually(t, 10*time.Second, func() bool {
		st := targetStatuses(t, p)["personal"]
		return st.Pending == 0 && st.Dead == 0
	}, "personal queue empty")
	f.checkOnce(t, annIDs) // also: none of bob's, nor those of the untrusted credential, arrived
	f.mu.Lock()
	for _, id := range idsOf(forged) {
		if f.accepted[id] > 0 {
			t.Errorf("statement %s of an untrusted credential went to ann's LRS", id)
		}
	}
	f.mu.Unlock()
	for _, req := range f.requests() {
		if u, _, _ := (&http.Request{Header: req.Header}).BasicAuth(); u != f.user {
			t.Errorf("request to the personal LRS authenticated as %q", u)
		}
		if v := req.Header.Get("X-Experience-API-Version"); v != "2.0.0" {
			t.Errorf("personal LRS spoken to with version %q", v)
		}
		for _, id := range req.IDs {
			if slices.Contains(idsOf(bobS), id) {
				t.Errorf("bob's statement %s went to ann's LRS", id)
			}
		}
	}
	// Bob's statements were never queued anywhere.
	for name, st := range targetStatuses(t, p) {
		if st.Pending != 0 || st.Dead != 0 {
			t.Errorf("target %s: %+v", name, st)
		}
	}
}
