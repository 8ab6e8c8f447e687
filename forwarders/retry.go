package forwarders

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy: exponential backoff with full jitter. The zero value means all defaults.
type RetryPolicy struct {
	InitialBackoff time.Duration // default 1s
	MaxBackoff     time.Duration // default 10m
	MaxAttempts    int           // default 20; 0 = use default; attempts after which the delivery is dead
	MaxAge         time.Duration // default 72h; a delivery older than this is dead after its next failure
}

// Retry policy defaults.
const (
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 10 * time.Minute
	DefaultMaxAttempts    = 20
	DefaultMaxAge         = 72 * time.Hour
)

// WithDefaults fills zero (or negative) fields with the defaults. MaxBackoff below InitialBackoff is
// raised to InitialBackoff.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = DefaultInitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.InitialBackoff {
		p.MaxBackoff = p.InitialBackoff
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.MaxAge <= 0 {
		p.MaxAge = DefaultMaxAge
	}
	return p
}

// Backoff returns the un-jittered backoff ceiling after attempts failed attempts:
// min(InitialBackoff * 2^(attempts-1), MaxBackoff).
func (p RetryPolicy) Backoff(attempts int) time.Duration {
	p = p.WithDefaults()
	if attempts < 1 {
		attempts = 1
	}
	d := p.InitialBackoff
	for i := 1; i < attempts; i++ {
		if d >= p.MaxBackoff/2 { // doubling would reach the cap (and avoids overflow)
			return p.MaxBackoff
		}
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

// Next returns how long to wait before trying again after attempts failed attempts (attempts >= 1;
// smaller values count as 1), or dead=true when the delivery should go to the dead letters instead
// (attempts >= MaxAttempts or age >= MaxAge; age is the time since the delivery was created).
//
// wait is full jitter: uniform in [0, Backoff(attempts)), then raised to retryAfter if that is larger.
// The backoff part never exceeds MaxBackoff; a retryAfter above MaxBackoff is honoured as is (the
// forwarders cap Retry-After at MaxRetryAfter). rnd returns values in [0, 1); nil means math/rand/v2.
func (p RetryPolicy) Next(attempts int, age, retryAfter time.Duration, rnd func() float64) (wait time.Duration, dead bool) {
	p = p.WithDefaults()
	if attempts >= p.MaxAttempts || age >= p.MaxAge {
		return 0, true
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	f := rnd()
	if f < 0 || f != f { // negative or NaN
		f = 0
	}
	if f >= 1 {
		f = 0.999999999
	}
	wait = time.Duration(f * float64(p.Backoff(attempts)))
	if retryAfter > wait {
		wait = retryAfter
	}
	return wait, false
}
