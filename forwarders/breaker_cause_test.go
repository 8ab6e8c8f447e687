package forwarders

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// changes records a breaker's StateChanges.
type changes struct {
	mu  sync.Mutex
	got []StateChange
}

func (c *changes) record(sc StateChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, sc)
}

func (c *changes) list() []StateChange {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]StateChange(nil), c.got...)
}

// A transition to open carries the error of the failure that tripped the
// breaker: the first real one of the batch, not the "not sent" of the items
// after it; the way back says why too, and Info reports the state, since
// when and the cause.
func TestBreakerTransitionCauses(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusServiceUnavailable, "maintenance window")
	// A webhook sends one request per statement: after the first 503 the
	// others are "not sent".
	w, err := NewWebhook(WebhookConfig{Name: "hook", URL: ft.URL() + "/hook", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var ch changes
	b := NewBreaker(w, BreakerConfig{Failures: 2, OpenFor: 50 * time.Millisecond}, ch.record)
	ctx := context.Background()
	before := time.Now()
	b.Send(ctx, items("a", "b", "c"))
	if got := ch.list(); len(got) != 0 {
		t.Fatalf("one failed batch of two: transitions %+v", got)
	}
	out := b.Send(ctx, items("a", "b", "c"))
	if !strings.HasPrefix(out[1].Error, "not sent: ") {
		t.Fatalf("second item: %+v, want not sent", out[1])
	}
	got := ch.list()
	if len(got) != 1 {
		t.Fatalf("transitions %+v, want closed->open", got)
	}
	want := StateChange{Target: "hook", From: "closed", To: "open", Cause: "HTTP 503 Service Unavailable: maintenance window", Failures: 2}
	if got[0] != want {
		t.Errorf("opening: %+v\nwant %+v", got[0], want)
	}
	info := b.Info()
	if info.State != "open" || info.Cause != want.Cause || info.Since.Before(before) || time.Since(info.Since) > time.Second {
		t.Errorf("Info while open: %+v", info)
	}

	waitReady(t, b)
	if info := b.Info(); info.State != "half-open" || !strings.Contains(info.Cause, "probe") {
		t.Errorf("Info once open_for has passed: %+v, want half-open, the next delivery probing", info)
	}
	ft.Respond(http.StatusOK, "")
	checkOK(t, b.Send(ctx, items("a")), 1)
	got = ch.list()
	if len(got) != 3 || got[1].To != "half-open" || !strings.Contains(got[1].Cause, "50ms") ||
		got[2].From != "half-open" || got[2].To != "closed" || !strings.Contains(got[2].Cause, "answered") || got[2].Failures != 0 {
		t.Errorf("recovery: %+v, want open->half-open (open for 50ms), half-open->closed (the probe was answered)", got)
	}
	if info := b.Info(); info.State != "closed" || info.Cause != got[2].Cause {
		t.Errorf("Info after recovery: %+v", info)
	}
}

// A target nothing listens on: the cause is the connection error; a probe
// that fails again says so.
func TestBreakerCauseConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var ch changes
	b := NewBreaker(newXAPI(t, XAPIConfig{Name: "gone", Endpoint: url + "/xapi"}), BreakerConfig{Failures: 1, OpenFor: 30 * time.Millisecond}, ch.record)
	b.Send(context.Background(), items("a"))
	waitReady(t, b)
	b.Send(context.Background(), items("a"))
	got := ch.list()
	if len(got) != 3 {
		t.Fatalf("transitions %+v, want closed->open->half-open->open", got)
	}
	for _, i := range []int{0, 2} {
		if got[i].To != "open" || !strings.Contains(got[i].Cause, "connection refused") {
			t.Errorf("transition %d: %+v, want to open because the connection was refused", i, got[i])
		}
	}
	if got[0].Failures != 1 || got[2].Failures != 0 {
		t.Errorf("failed batches: %d opening, %d re-opening after the probe (want 1, 0)", got[0].Failures, got[2].Failures)
	}
}

func TestFailureCause(t *testing.T) {
	for _, c := range []struct {
		out  []Outcome
		want string
	}{
		{nil, ""},
		{[]Outcome{{OK: true}}, ""},
		{[]Outcome{{Error: "not sent: an earlier request of this batch failed: HTTP 502"}, {Error: "HTTP 502 Bad Gateway"}}, "HTTP 502 Bad Gateway"},
		{[]Outcome{{Error: CircuitOpen}, {Error: "timeout after 1s"}}, "timeout after 1s"},
		{[]Outcome{{Error: CircuitOpen}}, CircuitOpen},
		{[]Outcome{{OK: true}, {Error: "network error: connection reset"}, {Error: "HTTP 500"}}, "network error: connection reset"},
	} {
		if got := FailureCause(c.out); got != c.want {
			t.Errorf("FailureCause(%+v) = %q, want %q", c.out, got, c.want)
		}
	}
}
