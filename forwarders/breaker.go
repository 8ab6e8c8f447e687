package forwarders

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// BreakerConfig configures a Breaker. Zero fields take the defaults.
type BreakerConfig struct {
	Failures       uint32        // consecutive failed batches that open it; default 5
	OpenFor        time.Duration // how long it stays open before a half-open probe; default 30s
	HalfOpenProbes uint32        // requests allowed half-open (all must succeed to close); default 1
}

// Breaker states as returned by State and passed to the state-change callback.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half-open"
)

// CircuitOpen is the Outcome.Error of items a Breaker refused to send.
const CircuitOpen = "circuit open"

// Breaker wraps a Forwarder with a circuit breaker (sony/gobreaker/v2). Use one Breaker per target.
//
// A batch counts as a failure when every outcome is retryable-not-OK (the target is down or
// overloaded); any OK or Permanent outcome (the target is up and answered) counts as a success.
// A Send whose ctx was canceled before the target answered is not counted at all.
type Breaker struct {
	f       Forwarder
	cfg     BreakerConfig
	cb      *gobreaker.CircuitBreaker[[]Outcome]
	onState func(target, from, to string)

	// A mirror of the breaker's state, kept by its OnStateChange callback, so State and Ready never
	// take gobreaker's lock (the user's callback, which runs under that lock, may call them).
	mu       sync.Mutex
	state    gobreaker.State
	openedAt time.Time
	gen      uint64 // bumped on every state change
	probes   uint32 // requests started in the current half-open period
}

var errAllRetryable = errors.New("all items failed retryably")
var errCanceled = errors.New("send canceled")

// NewBreaker wraps f. onStateChange (may be nil) is called with f.Name() and the state names
// ("closed", "open", "half-open") on every transition. It runs synchronously while the breaker is
// locked: it may call State and Ready, but must not call Send and should not block.
func NewBreaker(f Forwarder, c BreakerConfig, onStateChange func(target string, from, to string)) *Breaker {
	if c.Failures == 0 {
		c.Failures = 5
	}
	if c.OpenFor <= 0 {
		c.OpenFor = 30 * time.Second
	}
	if c.HalfOpenProbes == 0 {
		c.HalfOpenProbes = 1
	}
	b := &Breaker{f: f, cfg: c, onState: onStateChange, state: gobreaker.StateClosed}
	failures := c.Failures
	b.cb = gobreaker.NewCircuitBreaker[[]Outcome](gobreaker.Settings{
		Name:        f.Name(),
		MaxRequests: c.HalfOpenProbes,
		Timeout:     c.OpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= failures },
		IsExcluded:  func(err error) bool { return errors.Is(err, errCanceled) },
		OnStateChange: func(name string, from, to gobreaker.State) {
			b.mu.Lock()
			b.state = to
			b.gen++
			b.probes = 0
			if to == gobreaker.StateOpen {
				b.openedAt = time.Now()
			}
			b.mu.Unlock()
			if b.onState != nil {
				b.onState(name, from.String(), to.String())
			}
		},
	})
	return b
}

// Name returns the wrapped forwarder's name.
func (b *Breaker) Name() string { return b.f.Name() }

// Unwrap returns the wrapped forwarder.
func (b *Breaker) Unwrap() Forwarder { return b.f }

// Send forwards items unless the circuit is open (or half-open with its probes already under way): then
// every item gets a retryable Outcome{Error: CircuitOpen, Status: 0, RetryAfter: time until the breaker
// is ready again} and the target is not called.
func (b *Breaker) Send(ctx context.Context, items []Item) []Outcome {
	if len(items) == 0 {
		return []Outcome{}
	}
	var gen uint64
	var counted bool
	out, err := b.cb.Execute(func() ([]Outcome, error) {
		b.mu.Lock()
		if b.state == gobreaker.StateHalfOpen {
			b.probes++
			gen, counted = b.gen, true
		}
		b.mu.Unlock()
		out := b.f.Send(ctx, items)
		if failed(out) {
			if ctx.Err() != nil {
				return out, errCanceled
			}
			return out, errAllRetryable
		}
		return out, nil
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		_, at := b.Ready()
		o := Outcome{Error: CircuitOpen, RetryAfter: max(time.Until(at), 0)}
		out = make([]Outcome, len(items))
		fill(out, seq(len(items)), o)
		return out
	}
	if errors.Is(err, errCanceled) && counted {
		// gobreaker does not count excluded requests against the half-open quota; neither do we.
		b.mu.Lock()
		if b.gen == gen && b.probes > 0 {
			b.probes--
		}
		b.mu.Unlock()
	}
	return out
}

// failed reports whether a batch counts as a breaker failure: every outcome retryable-not-OK.
func failed(out []Outcome) bool {
	if len(out) == 0 {
		return false
	}
	for _, o := range out {
		if !o.Retryable() {
			return false
		}
	}
	return true
}

// State returns "closed", "open" or "half-open". An open breaker whose OpenFor has passed reports
// "half-open" (gobreaker makes that transition lazily, on the next request).
func (b *Breaker) State() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.effective(time.Now()).String()
}

func (b *Breaker) effective(now time.Time) gobreaker.State {
	if b.state == gobreaker.StateOpen && now.After(b.openedAt.Add(b.cfg.OpenFor)) {
		return gobreaker.StateHalfOpen
	}
	return b.state
}

// Ready reports whether a Send would be attempted now (closed; or open long enough to probe; or
// half-open with a probe slot free), so the dispatcher does not claim deliveries it cannot send; and
// when it will be: now if ready, the end of the open period if open, otherwise (half-open, probes under
// way) a re-check time, since the probes' results decide.
func (b *Breaker) Ready() (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	switch b.effective(now) {
	case gobreaker.StateClosed:
		return true, now
	case gobreaker.StateOpen:
		// gobreaker's expiry is openedAt+OpenFor exclusive; ask for a moment after it.
		return false, b.openedAt.Add(b.cfg.OpenFor + time.Millisecond)
	default: // half-open
		if b.state == gobreaker.StateOpen || b.probes < b.cfg.HalfOpenProbes {
			return true, now
		}
		return false, now.Add(min(b.cfg.OpenFor, time.Second))
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
