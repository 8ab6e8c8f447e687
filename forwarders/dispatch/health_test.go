package dispatch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs/store"
)

// recordingHealth records what the dispatcher reports.
type recordingHealth struct {
	fakeHealth
	mu       sync.Mutex
	breakers []string // target:state:cause
	failures []string // target:status:msg
}

func (r *recordingHealth) RecordBreaker(_ context.Context, target, state, cause string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.breakers = append(r.breakers, target+":"+state+":"+cause)
	return nil
}

func (r *recordingHealth) RecordFailure(_ context.Context, target string, status int, msg string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, target+":"+http.StatusText(status)+":"+msg)
	return nil
}

func (r *recordingHealth) lists() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.breakers...), append([]string(nil), r.failures...)
}

// runAgainst503 dispatches 3 deliveries to a webhook answering 503 until
// cond holds, with the breaker settings given, and returns what the
// dispatcher reported to Health and how many requests the target got.
func runAgainst503(t *testing.T, failures uint32, cond func(h *recordingHealth, requests int64) bool) (*recordingHealth, int64) {
	t.Helper()
	db, _, _ := outboxWith(t, store.SQLite, 3)
	var reqs atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	w, err := forwarders.NewWebhook(forwarders.WebhookConfig{Name: "local", URL: srv.URL, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := &recordingHealth{}
	var d *dispatch.Dispatcher
	b := forwarders.NewBreaker(w, forwarders.BreakerConfig{Failures: failures, OpenFor: time.Hour}, func(c forwarders.StateChange) { d.BreakerChanged(c) })
	d = &dispatch.Dispatcher{Outbox: db, Health: h, PollInterval: 10 * time.Millisecond, Targets: []*dispatch.Target{{
		Name: "local", Sender: b, Retry: forwarders.RetryPolicy{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond, MaxAttempts: 1000}}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(h, reqs.Load()) {
		if time.Now().After(deadline) {
			br, fl := h.lists()
			t.Fatalf("not within 10s: breakers %v, failures %v, %d requests", br, fl, reqs.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	return h, reqs.Load()
}

// The dispatcher records each target's breaker transitions, with their
// cause, and the error of its failed attempts (the real one, not "not
// sent"), for `bridge forward status` in another process.
func TestDispatcherRecordsHealth(t *testing.T) {
	h, _ := runAgainst503(t, 1, func(h *recordingHealth, _ int64) bool {
		br, fl := h.lists()
		return len(fl) > 0 && len(br) > 0 && strings.Contains(br[len(br)-1], ":open:")
	})
	br, fl := h.lists()
	if last := br[len(br)-1]; last != "local:open:HTTP 503 Service Unavailable: down" {
		t.Errorf("last breaker state recorded %q, want open because of the 503", last)
	}
	if br[0] != "local:closed:the bridge started" && br[0] != "local:open:HTTP 503 Service Unavailable: down" {
		t.Errorf("first breaker state recorded %q, want closed at start (or open, if it came first)", br[0])
	}
	if len(fl) != 1 || fl[0] != "local:Service Unavailable:HTTP 503 Service Unavailable: down" {
		t.Errorf("failures recorded %v, want the one failed batch's 503 (not its \"not sent\" items)", fl)
	}
}

// A target failing the same way, batch after batch, is not written to the
// database on every batch: at most once a second.
func TestDispatcherRecordsRepeatedFailureOnce(t *testing.T) {
	h, n := runAgainst503(t, 1000, func(_ *recordingHealth, requests int64) bool { return requests >= 5 })
	_, fl := h.lists()
	if n < 5 || len(fl) != 1 {
		t.Errorf("%d failed requests recorded %d times (%v), want once", n, len(fl), fl)
	}
}
