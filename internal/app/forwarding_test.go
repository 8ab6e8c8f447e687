package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/internal/app"
)

// syncBuffer is a bytes.Buffer the logger and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLogged runs the app with the config text (its own log level) and
// returns its logs.
func startLogged(t *testing.T, yaml string) (*app.App, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	text := fmt.Sprintf("listen: 127.0.0.1:0\ndata_dir: %q\nshutdown_timeout: 5s\n", filepath.Join(dir, "data")) + yaml
	path := filepath.Join(dir, "bridge.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	logs := &syncBuffer{}
	a, err := app.New(context.Background(), cfg, app.Options{Stdout: &bytes.Buffer{}, Stderr: logs, Version: "test"})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		a.Close()
	})
	return a, logs
}

func waitFor(t *testing.T, d time.Duration, cond func() bool, what string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, fmt.Sprintf(what, args...))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// logLine returns the first log line matching re, or "".
func logLine(logs, re string) string {
	return regexp.MustCompile(`(?m)^.*` + re + `.*$`).FindString(logs)
}

// A breaker's transitions are logged with their cause: the error of the
// failure that opened it ("HTTP 503 ...", "connection refused"); its
// recovery, closed again, is good news and logged at INFO, not WARN.
func TestBreakerTransitionsLoggedWithCause(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "maintenance window", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer flaky.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close() // connection refused from now on

	delivery := `    delivery:
      timeout: 2s
      retry: {initial_backoff: 50ms, max_backoff: 200ms, max_attempts: 1000}
      breaker: {failures: 1, open_for: 200ms}
`
	a, logs := startLogged(t, fmt.Sprintf(`log:
  level: info
credentials:
  - key: lms
    secret: lms-secret-0123456789
    scopes: [all]
forwarding:
  poll_interval: 50ms
targets:
  - name: flaky
    type: webhook
    url: %s/hook
%s  - name: gone
    type: webhook
    url: %s/hook
%srules:
  - name: all
    targets: [flaky, gone]
`, flaky.URL, delivery, goneURL, delivery))
	if st, b := do(t, "POST", a.Endpoint()+"/statements", "lms", "lms-secret-0123456789", statement("7b1d2f4e-3b5c-4d7e-8f90-112233445566", "completed")); st != 200 {
		t.Fatalf("POST: %d %s", st, b)
	}
	opened := func(target string) string {
		return logLine(logs.String(), `msg="circuit breaker opened: .*target=`+target+`\b`)
	}
	waitFor(t, 10*time.Second, func() bool { return opened("flaky") != "" && opened("gone") != "" },
		"both breakers logged as opened:\n%s", logs)
	if l := opened("flaky"); !strings.Contains(l, "level=WARN") || !strings.Contains(l, `cause="HTTP 503 Service Unavailable: maintenance window"`) {
		t.Errorf("flaky opened: %s\nwant WARN with cause=\"HTTP 503 Service Unavailable: maintenance window\"", l)
	}
	if l := opened("gone"); !strings.Contains(l, "level=WARN") || !regexp.MustCompile(`cause="[^"]*connection refused`).MatchString(l) {
		t.Errorf("gone opened: %s\nwant WARN with a cause saying connection refused", l)
	}

	down.Store(false)
	closed := func() string { return logLine(logs.String(), `msg="circuit breaker closed: .*target=flaky\b`) }
	waitFor(t, 10*time.Second, func() bool { return closed() != "" }, "flaky's recovery logged:\n%s", logs)
	if l := closed(); !strings.Contains(l, "level=INFO") || !strings.Contains(l, "from=half-open") {
		t.Errorf("recovery: %s\nwant INFO, from half-open", l)
	}
	if l := logLine(logs.String(), `level=WARN.*breaker.*to=closed`); l != "" {
		t.Errorf("a recovery logged at WARN: %s", l)
	}
}

// A target no rule sends to is configured for nothing: start-up warns,
// naming it.
func TestUnusedTargetWarns(t *testing.T) {
	hook := newHook(t)
	_, logs := startLogged(t, fmt.Sprintf(`log:
  level: warn
targets:
  - name: used
    type: webhook
    url: %s/hook
  - name: forgotten
    type: webhook
    url: %s/hook
rules:
  - name: all
    targets: [used]
`, hook.URL, hook.URL))
	l := logLine(logs.String(), `target=forgotten\b`)
	if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "no rule") {
		t.Errorf("start-up logs:\n%s\nwant a WARN naming target forgotten and saying no rule sends to it", logs)
	}
	if l := logLine(logs.String(), `level=WARN.*target=used\b`); l != "" {
		t.Errorf("warned about a used target: %s", l)
	}
}
