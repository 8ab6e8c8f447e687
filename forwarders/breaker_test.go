package forwarders

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"
)

type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) record(b **Breaker) func(StateChange) {
	return func(c StateChange) {
		target, from, to := c.Target, c.From, c.To
		// The callback may look at the breaker (it runs under gobreaker's lock).
		if *b != nil {
			(*b).State()
			(*b).Ready()
			(*b).Info()
		}
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.got = append(tr.got, target+":"+from+"->"+to)
	}
}

func (tr *transitions) list() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

// waitReady sleeps until the breaker says it is ready (bounded, for tests with small OpenFor).
func waitReady(t *testing.T, b *Breaker) {
	t.Helper()
	ok, at := b.Ready()
	if ok {
		return
	}
	d := time.Until(at)
	if d > 200*time.Millisecond {
		t.Fatalf("breaker not ready for %v", d)
	}
	time.Sleep(d)
	if ok, at := b.Ready(); !ok {
		t.Fatalf("breaker still not ready (until %v)", time.Until(at))
	}
}

func TestBreakerOpensShortCircuitsProbesAndCloses(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusServiceUnavailable, "down")
	x := newXAPI(t, XAPIConfig{Name: "lrs2", Endpoint: ft.URL()})
	var tr transitions
	var b *Breaker
	b = NewBreaker(x, BreakerConfig{Failures: 3, OpenFor: 100 * time.Millisecond}, tr.record(&b))
	if b.Name() != "lrs2" || b.State() != "closed" {
		t.Fatalf("new breaker: %q %q", b.Name(), b.State())
	}
	if ok, _ := b.Ready(); !ok {
		t.Fatal("closed breaker not ready")
	}
	ctx := context.Background()
	for i := range 3 {
		if b.State() != "closed" {
			t.Fatalf("opened after %d failures", i)
		}
		for _, o := range b.Send(ctx, items("a", "b")) {
			checkRetryable(t, o, 503)
		}
	}
	if b.State() != "open" {
		t.Fatalf("state after 3 failed batches = %q", b.State())
	}
	ok, at := b.Ready()
	if ok || time.Until(at) <= 0 || time.Until(at) > 110*time.Millisecond {
		t.Errorf("Ready when open = %v, in %v", ok, time.Until(at))
	}

	// Open: no request reaches the target.
	ft.Respond(http.StatusOK, "")
	n := ft.Count()
	out := b.Send(ctx, items("a", "b"))
	for _, o := range out {
		if o.OK || o.Permanent || o.Status != 0 || o.Error != CircuitOpen || o.RetryAfter <= 0 || o.RetryAfter > 110*time.Millisecond {
			t.Errorf("short-circuited outcome = %+v", o)
		}
	}
	if ft.Count() != n {
		t.Errorf("open breaker called the target (%d requests)", ft.Count()-n)
	}

	// After OpenFor: half-open, one probe, which succeeds and closes it.
	waitReady(t, b)
	if b.State() != "half-open" {
		t.Errorf("state after OpenFor = %q", b.State())
	}
	checkOK(t, b.Send(ctx, items("a")), 1)
	if ft.Count() != n+1 {
		t.Errorf("probe requests = %d", ft.Count()-n)
	}
	if b.State() != "closed" {
		t.Errorf("state after successful probe = %q", b.State())
	}
	checkOK(t, b.Send(ctx, items("a", "b")), 2)

	want := []string{"lrs2:closed->open", "lrs2:open->half-open", "lrs2:half-open->closed"}
	if got := tr.list(); !reflect.DeepEqual(got, want) {
		t.Errorf("transitions = %v, want %v", got, want)
	}
}

func TestBreakerFailedProbeReopens(t *testing.T) {
	ft := newTarget(t)
	ft.Stall() // timeouts count as failures too
	x := newXAPI(t, XAPIConfig{Name: "slow", Endpoint: ft.URL(), Timeout: 30 * time.Millisecond})
	var tr transitions
	var b *Breaker
	b = NewBreaker(x, BreakerConfig{Failures: 2, OpenFor: 60 * time.Millisecond}, tr.record(&b))
	ctx := context.Background()
	b.Send(ctx, items("a"))
	b.Send(ctx, items("a"))
	if b.State() != "open" {
		t.Fatalf("state = %q", b.State())
	}
	waitReady(t, b)
	checkRetryable(t, b.Send(ctx, items("a"))[0], 0) // probe times out
	if b.State() != "open" {
		t.Errorf("state after failed probe = %q", b.State())
	}
	if ok, _ := b.Ready(); ok {
		t.Error("ready right after a failed probe")
	}
	if ft.Count() != 3 {
		t.Errorf("requests = %d, want 3", ft.Count())
	}
	want := []string{"slow:closed->open", "slow:open->half-open", "slow:half-open->open"}
	if got := tr.list(); !reflect.DeepEqual(got, want) {
		t.Errorf("transitions = %v, want %v", got, want)
	}
}

// While the half-open probe is in flight, other sends are short-circuited and Ready says no.
func TestBreakerHalfOpenSingleProbe(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusBadGateway, "")
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	b := NewBreaker(x, BreakerConfig{Failures: 1, OpenFor: 50 * time.Millisecond}, nil)
	ctx := context.Background()
	b.Send(ctx, items("a"))
	if b.State() != "open" {
		t.Fatalf("state = %q", b.State())
	}
	waitReady(t, b)

	started := make(chan struct{})
	ft.Handle(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		close(started)
		<-ft.release
		w.WriteHeader(http.StatusOK)
	})
	done := make(chan []Outcome)
	go func() { done <- b.Send(ctx, items("probe")) }()
	<-started
	if ok, at := b.Ready(); ok || time.Until(at) <= 0 {
		t.Errorf("Ready during probe = %v, %v", ok, time.Until(at))
	}
	out := b.Send(ctx, items("other"))
	if out[0].Error != CircuitOpen || ft.Count() != 2 {
		t.Errorf("second send during probe: %+v, %d requests", out[0], ft.Count())
	}
	ft.Release()
	checkOK(t, <-done, 1)
	if b.State() != "closed" {
		t.Errorf("state = %q", b.State())
	}
}

func TestBreakerPermanentDoesNotOpen(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusUnauthorized, "who are you")
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	var tr transitions
	var b *Breaker
	b = NewBreaker(x, BreakerConfig{Failures: 2, OpenFor: time.Minute}, tr.record(&b))
	for range 5 {
		checkPermanent(t, b.Send(context.Background(), items("a"))[0], 401)
	}
	if b.State() != "closed" || ft.Count() != 5 || len(tr.list()) != 0 {
		t.Errorf("state %q, %d requests, transitions %v", b.State(), ft.Count(), tr.list())
	}
}

// A success or a permanent outcome in a batch resets the consecutive-failure count.
func TestBreakerMixedBatchCountsAsSuccess(t *testing.T) {
	ft := newTarget(t)
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	b := NewBreaker(x, BreakerConfig{Failures: 2, OpenFor: time.Minute}, nil)
	ctx := context.Background()
	ft.Respond(http.StatusInternalServerError, "")
	b.Send(ctx, items("a"))
	// An invalid statement is Permanent without a request: the batch is not "all retryable".
	ft.Respond(http.StatusInternalServerError, "")
	mixed := items("a", "b")
	mixed[1].Statement = []byte("{")
	b.Send(ctx, mixed)
	b.Send(ctx, items("a"))
	if b.State() != "closed" {
		t.Errorf("state = %q, want closed (failures were not consecutive)", b.State())
	}
	b.Send(ctx, items("a"))
	if b.State() != "open" {
		t.Errorf("state = %q, want open", b.State())
	}
}

func TestBreakerCanceledNotCounted(t *testing.T) {
	ft := newTarget(t)
	ft.Stall()
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	b := NewBreaker(x, BreakerConfig{Failures: 1, OpenFor: time.Minute}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	checkRetryable(t, b.Send(ctx, items("a"))[0], 0)
	if b.State() != "closed" {
		t.Errorf("a canceled send opened the breaker")
	}
	if out := b.Send(context.Background(), nil); len(out) != 0 {
		t.Errorf("empty send: %v", out)
	}
}

func TestBreakerDefaults(t *testing.T) {
	b := NewBreaker(newXAPI(t, XAPIConfig{Endpoint: "http://127.0.0.1:1"}), BreakerConfig{}, nil)
	if b.cfg != (BreakerConfig{Failures: 5, OpenFor: 30 * time.Second, HalfOpenProbes: 1}) {
		t.Errorf("defaults = %+v", b.cfg)
	}
	var _ Forwarder = b
	var _ Forwarder = (*XAPI)(nil)
	var _ Forwarder = (*Webhook)(nil)
}
