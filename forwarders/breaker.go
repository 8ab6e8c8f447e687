package forwarders

import (
	"context"
	"errors"
	"strings"
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

// StateChange is one transition of a Breaker, as passed to its state-change callback.
type StateChange struct {
	Target   string // the forwarder's name
	From, To string // "closed", "open", "half-open"
	// Cause says why: for a transition to open, the error of the failed batch that tripped the
	// breaker (its first real error: "HTTP 503 Service Unavailable: ...", "network error: dial tcp
	// ...: connect: connection refused", "timeout after 10s"); to half-open, that it has been open
	// long enough to let a probe through; to closed, that the probe was answered.
	Cause    string
	Failures uint32 // for a transition from closed to open: the consecutive failed batches that tripped it
}

// BreakerInfo is a Breaker's state for operators.
type BreakerInfo struct {
	State string    // as State returns it
	Since time.Time // when the breaker entered State (zero: closed since it was made)
	Cause string    // the Cause of the transition into State ("" if none yet)
}

// Breaker wraps a Forwarder with a circuit breaker (sony/gobreaker/v2). Use one Breaker per target.
//
// A batch counts as a failure when every outcome is retryable-not-OK (the target is down or
// overloaded); any OK or Permanent outcome (the target is up and answered) counts as a success.
// A Send whose ctx was canceled before the target answered is not counted at all.
type Breaker struct {
	f       Forwarder
	cfg     BreakerConfig
	cb      *gobreaker.CircuitBreaker[[]Outcome]
	onState func(StateChange)

	// A mirror of the breaker's state, kept by its OnStateChange callback, so State and Ready never
	// take gobreaker's lock (the user's callback, which runs under that lock, may call them).
	mu       sync.Mutex
	state    gobreaker.State
	openedAt time.Time
	gen      uint64 // bumped on every state change
	probes   uint32 // requests started in the current half-open period
	changed  time.Time
	cause    string // of the latest transition
	lastFail string // the error of the latest failed batch
}

var errAllRetryable = errors.New("all items failed retryably")
var errCanceled = errors.New("send canceled")

// NewBreaker wraps f. onStateChange (may be nil) is called on every transition with f.Name(), the
// state names ("closed", "open", "half-open") and the cause. It runs synchronously while the breaker
// is locked: it may call State, Ready and Info, but must not call Send and should not block.
func NewBreaker(f Forwarder, c BreakerConfig, onStateChange func(StateChange)) *Breaker {
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
			change := StateChange{Target: name, From: from.String(), To: to.String()}
			b.mu.Lock()
			b.state = to
			b.gen++
			b.probes = 0
			b.changed = time.Now()
			switch to {
			case gobreaker.StateOpen:
				b.openedAt = b.changed
				change.Cause = b.lastFail
				if from == gobreaker.StateClosed {
					change.Failures = failures
				}
			case gobreaker.StateHalfOpen:
				change.Cause = "open for " + c.OpenFor.String() + ": letting a probe through"
			case gobreaker.StateClosed:
				change.Cause = "the probe was answered: the target is back"
			}
			b.cause = change.Cause
			b.mu.Unlock()
			if b.onState != nil {
				b.onState(change)
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
			// Recorded before gobreaker counts the failure, so a transition to open it causes
			// names it.
			b.mu.Lock()
			b.lastFail = FailureCause(out)
			b.mu.Unlock()
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

// FailureCause is the error that best explains a failed batch: the first outcome's error that is
// not a consequence of another ("not sent: an earlier request ... failed: ..." and CircuitOpen are),
// else the first error.
func FailureCause(out []Outcome) string {
	first := ""
	for _, o := range out {
		if o.OK || o.Error == "" {
			continue
		}
		if first == "" {
			first = o.Error
		}
		if o.Error != CircuitOpen && !strings.HasPrefix(o.Error, "not sent: ") {
			return o.Error
		}
	}
	return first
}

// Info returns the breaker's state, since when, and why. Like State, an open breaker whose OpenFor
// has passed reports "half-open", since the end of the open period.
func (b *Breaker) Info() BreakerInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	st := b.effective(now)
	if st == gobreaker.StateHalfOpen && b.state == gobreaker.StateOpen {
		return BreakerInfo{State: st.String(), Since: b.openedAt.Add(b.cfg.OpenFor), Cause: "open for " + b.cfg.OpenFor.String() + ": the next delivery is the probe"}
	}
	return BreakerInfo{State: st.String(), Since: b.changed, Cause: b.cause}
}

// OpenFor is how long the breaker stays open before a half-open probe.
func (b *Breaker) OpenFor() time.Duration { return b.cfg.OpenFor }

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
