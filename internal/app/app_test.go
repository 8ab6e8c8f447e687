package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/internal/app"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/admin"
)

// loadConfig writes yaml to dir/bridge.yaml (with data_dir, listen and the
// log level set) and loads it as `bridge serve --config` would.
func loadConfig(t *testing.T, dir, yaml string) *config.Config {
	t.Helper()
	text := fmt.Sprintf("listen: 127.0.0.1:0\ndata_dir: %q\nshutdown_timeout: 5s\nlog:\n  level: warn\n", filepath.Join(dir, "data")) + yaml
	path := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return cfg
}

// running is an app serving in this test.
type running struct {
	*app.App
	stdout, stderr *bytes.Buffer
	done           chan error
}

func start(t *testing.T, cfg *config.Config) *running {
	t.Helper()
	r := &running{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	a, err := app.New(context.Background(), cfg, app.Options{Stdout: r.stdout, Stderr: r.stderr, Version: "test"})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	r.App = a
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

func do(t *testing.T, method, url, user, pass string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("X-Experience-API-Version", "2.0.0")
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func statement(id, verb string) map[string]any {
	return map[string]any{
		"id":     id,
		"actor":  map[string]any{"mbox": "mailto:ann@example.org"},
		"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/" + verb},
		"object": map[string]any{"id": "http://example.org/course/1"},
	}
}

// The whole bridge runs in-process on port 0: New listens and prints the
// banner, Run serves the xAPI endpoint, Close releases it.
func TestAppServesOnPort0(t *testing.T) {
	dir := t.TempDir()
	cfg := loadConfig(t, dir, "credentials:\n  - key: lms\n    secret: lms-secret-0123456789\n    scopes: [all]\n")
	r := start(t, cfg)
	if !strings.HasPrefix(r.Addr(), "127.0.0.1:") || strings.HasSuffix(r.Addr(), ":0") {
		t.Fatalf("Addr %q: want the port chosen for :0", r.Addr())
	}
	if r.Endpoint() != "http://"+r.Addr()+"/xapi" {
		t.Errorf("Endpoint %q", r.Endpoint())
	}
	if out := r.stdout.String(); !strings.Contains(out, "xAPI endpoint: "+r.Endpoint()) || !strings.Contains(out, "bridge test:") {
		t.Errorf("banner:\n%s", out)
	}
	const id = "6a1d2f4e-3b5c-4d7e-8f90-112233445566"
	if st, b := do(t, "POST", r.Endpoint()+"/statements", "lms", "lms-secret-0123456789", statement(id, "completed")); st != 200 {
		t.Fatalf("POST: %d %s", st, b)
	}
	st, b := do(t, "GET", r.Endpoint()+"/statements?statementId="+id, "lms", "lms-secret-0123456789", nil)
	if st != 200 || !strings.Contains(string(b), id) {
		t.Fatalf("GET: %d %s", st, b)
	}
	if st, _ := do(t, "GET", r.Endpoint()+"/statements", "lms", "wrong", nil); st != 401 {
		t.Errorf("wrong secret: %d, want 401", st)
	}
}

// hook is a webhook target that records the statement ids it receives.
type hook struct {
	*httptest.Server
	mu  sync.Mutex
	ids []string
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var st struct {
			ID string `json:"id"`
		}
		json.NewDecoder(req.Body).Decode(&st)
		h.mu.Lock()
		h.ids = append(h.ids, st.ID)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...)
}

// Rules see a store by its name, as `stores: [name]` and `store == "org/name"`
// say it, for stores made through the admin API or CLI (issue 14: the router
// gave rules the store's id, so such rules matched nothing, silently).
func TestRulesSeeStoreNames(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// The stores first, as an operator makes them (`bridge store create`).
	cfg := loadConfig(t, dir, "")
	db, err := app.OpenDB(ctx, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	adm := app.NewAdmin(db, "", nil)
	moodle, err := adm.CreateStore(ctx, 1, "moodle")
	if err != nil {
		t.Fatal(err)
	}
	acme, err := adm.CreateOrganisation(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	hr, err := adm.CreateStore(ctx, acme.ID, "hr")
	if err != nil {
		t.Fatal(err)
	}
	cred := func(storeID int64) (string, string) {
		info, secret, err := adm.CreateCredential(ctx, storeID, admin.CredentialSpec{Scopes: []string{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		return info.Key, secret
	}
	moodleKey, moodleSecret := cred(moodle.ID)
	hrKey, hrSecret := cred(hr.ID)
	defKey, defSecret := cred(1)
	db.Close()

	toMoodle, toHR := newHook(t), newHook(t)
	cfg = loadConfig(t, dir, fmt.Sprintf(`targets:
  - name: moodle-hook
    type: webhook
    url: %s
  - name: hr-hook
    type: webhook
    url: %s
forwarding:
  poll_interval: 50ms
rules:
  - name: moodle-only
    stores: [moodle]
    targets: [moodle-hook]
  - name: acme-hr
    when: store == "acme/hr"
    targets: [hr-hook]
`, toMoodle.URL, toHR.URL))
	r := start(t, cfg)
	post := func(key, secret, id string) {
		if st, b := do(t, "POST", r.Endpoint()+"/statements", key, secret, statement(id, "completed")); st != 200 {
			t.Fatalf("POST: %d %s", st, b)
		}
	}
	const inMoodle, inHR, inDefault = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003"
	post(moodleKey, moodleSecret, inMoodle)
	post(hrKey, hrSecret, inHR)
	post(defKey, defSecret, inDefault)
	deadline := time.Now().Add(10 * time.Second)
	for (len(toMoodle.got()) == 0 || len(toHR.got()) == 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a wrong extra delivery would arrive by now
	if got := toMoodle.got(); len(got) != 1 || got[0] != inMoodle {
		t.Errorf("stores: [moodle] forwarded %v, want only %s", got, inMoodle)
	}
	if got := toHR.got(); len(got) != 1 || got[0] != inHR {
		t.Errorf(`store == "acme/hr" forwarded %v, want only %s`, got, inHR)
	}
}

// A rule naming a store that does not exist would never match: start-up
// fails and names it.
func TestRuleNamingMissingStoreFailsStartup(t *testing.T) {
	dir := t.TempDir()
	cfg := loadConfig(t, dir, `targets:
  - name: hook
    type: webhook
    url: http://127.0.0.1:9/
rules:
  - name: typo
    stores: [mooodle]
    targets: [hook]
`)
	_, err := app.New(context.Background(), cfg, app.Options{Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), `rules[0] (typo): stores: no store "mooodle"`) || !strings.Contains(err.Error(), "default") {
		t.Fatalf("New: %v; want an error naming the rule, the store and the stores there are", err)
	}
}

// The banner says whether the admin API is on, which store the config
// credentials belong to and where forwarding.key is; listening beyond this
// machine with a local base_url warns (issue 14, start-up).
func TestBannerAndStartupWarnings(t *testing.T) {
	dir := t.TempDir()
	cfg := loadConfig(t, dir, "credentials:\n  - key: lms\n    secret: lms-secret-0123456789\n    scopes: [all]\nadmin:\n  tokens: [admin-token-0123456789abcdef]\n")
	r := start(t, cfg)
	out := r.stdout.String()
	for _, want := range []string{
		"admin API:     " + r.BaseURL() + "/api/v1 (1 token)",
		`credentials:   lms (from config, in store 1 "default")`,
		"key:           " + filepath.Join(dir, "data", "forwarding.key") + " (encrypts stored personal-LRS credentials: back it up with the database)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(r.stderr.String(), "base_url is local") {
		t.Errorf("warned about base_url while listening on loopback:\n%s", r.stderr.String())
	}

	dir2 := t.TempDir()
	cfg2 := loadConfig(t, dir2, "")
	cfg2.Listen = "0.0.0.0:0" // as `listen: 0.0.0.0:8080` without base_url: base_url defaults to localhost
	cfg2.BaseURL = "http://localhost:8080"
	r2 := start(t, cfg2)
	if out := r2.stdout.String(); !strings.Contains(out, "admin API:     off (set admin.tokens or BRIDGE_ADMIN_TOKENS to turn it on)") {
		t.Errorf("banner without admin tokens:\n%s", out)
	}
	if logs := r2.stderr.String(); !strings.Contains(logs, "base_url is local") || !strings.Contains(logs, "level=WARN") {
		t.Errorf("no warning for listen 0.0.0.0 with base_url localhost:\n%s", logs)
	}
}

// A rule that does not compile stops start-up before the database is
// created or migrated (issue 14).
func TestRuleErrorBeforeDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg := loadConfig(t, dir, `targets:
  - name: hook
    type: webhook
    url: http://127.0.0.1:9/
rules:
  - name: typo
    when: verbb.id == "x"
    targets: [hook]
`)
	_, err := app.New(context.Background(), cfg, app.Options{Stdout: io.Discard, Stderr: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "typo") {
		t.Fatalf("New: %v, want the rule's error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "bridge.db")); err == nil {
		t.Errorf("the database was created before the rule error was reported")
	}
}

// A short admin token is logged as a warning, as a short credential
// secret is (issue 15 #14).
func TestShortAdminTokenWarns(t *testing.T) {
	cfg := loadConfig(t, t.TempDir(), "admin:\n  tokens: [short-token]\n")
	r := start(t, cfg)
	if logs := r.stderr.String(); !strings.Contains(logs, "admin token is short") || !strings.Contains(logs, "admin.tokens[0]") || strings.Contains(logs, "short-token") {
		t.Errorf("logs (want a warning naming admin.tokens[0], not the token):\n%s", logs)
	}
}

// The limits are config keys: they reach the HTTP layer and the store
// (issue 15).
func TestLimitsFromConfig(t *testing.T) {
	cfg := loadConfig(t, t.TempDir(), `credentials:
  - key: lms
    secret: lms-secret-0123456789
    scopes: [all]
xapi:
  max_statements: 2
  max_definition_bytes: 200
metrics:
  token: metrics-token-0123456789
`)
	r := start(t, cfg)
	three := []any{statement("00000000-0000-4000-8000-00000000000a", "completed"),
		statement("00000000-0000-4000-8000-00000000000b", "completed"), statement("00000000-0000-4000-8000-00000000000c", "completed")}
	if st, b := do(t, "POST", r.Endpoint()+"/statements", "lms", "lms-secret-0123456789", three); st != 413 || !strings.Contains(string(b), "at most 2 statements") {
		t.Errorf("3 statements with xapi.max_statements 2: %d %s", st, b)
	}
	big := statement("00000000-0000-4000-8000-00000000000d", "completed")
	big["object"] = map[string]any{"id": "http://example.org/course/1", "definition": map[string]any{"name": map[string]any{"en": strings.Repeat("x", 300)}}}
	if st, b := do(t, "POST", r.Endpoint()+"/statements", "lms", "lms-secret-0123456789", big); st != 200 {
		t.Errorf("a statement whose definition is over xapi.max_definition_bytes is still stored: %d %s", st, b)
	}
	req, _ := http.NewRequest("GET", r.BaseURL()+"/metrics", nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
		t.Errorf("/metrics without metrics.token: %v %v", res.StatusCode, err)
	}
	req.Header.Set("Authorization", "Bearer metrics-token-0123456789")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/metrics with the token: %v %v", res, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "bridge_activity_definitions_capped_total 1") {
		t.Errorf("/metrics lacks bridge_activity_definitions_capped_total 1")
	}
}

// A config credential with trusted: true may trigger personal forwarding
// (issue 15 #10): the mark is stored with it, and taken away when the
// config drops it.
func TestConfigCredentialTrusted(t *testing.T) {
	dir := t.TempDir()
	cred := "credentials:\n  - key: app\n    secret: app-secret-0123456789\n    scopes: [statements/write]\n"
	check := func(yaml string, want bool) {
		t.Helper()
		r := start(t, loadConfig(t, dir, yaml))
		c, err := r.DB().GetCredential(context.Background(), "app")
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(c.Scopes, lrs.ScopePersonalForward); got != want {
			t.Errorf("trusted %v, want %v (scopes %v)", got, want, c.Scopes)
		}
	}
	check(cred+"    trusted: true\n", true)
	check(cred, false)
}

// forwarding.rule_budget reaches the rules (issue 15 #12).
func TestRuleBudgetFromConfig(t *testing.T) {
	cfg := loadConfig(t, t.TempDir(), "targets:\n  - name: hook\n    type: webhook\n    url: http://127.0.0.1:9/\nrules:\n  - name: any-parent\n    when: any(context.contextActivities.parent, {.id == \"http://example.org/none\"})\n    targets: [hook]\nforwarding:\n  rule_budget: 3\n")
	e, err := app.CompileRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.Budget() != 3 {
		t.Fatalf("budget %d, want 3", e.Budget())
	}
	parents := []any{}
	for i := range 5 {
		parents = append(parents, map[string]any{"id": fmt.Sprintf("http://example.org/p%d", i)})
	}
	st := statement("00000000-0000-4000-8000-0000000000ee", "completed")
	st["context"] = map[string]any{"contextActivities": map[string]any{"parent": parents}}
	if m, err := e.Match("default", st); len(m) != 0 || err == nil || !strings.Contains(err.Error(), "budget of 3 steps") {
		t.Errorf("Match: %v %v, want the rule stopped by its budget", m, err)
	}
}
