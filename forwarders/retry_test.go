package forwarders

import (
	"math/rand/v2"
	"testing"
	"time"
)

func constRnd(f float64) func() float64 { return func() float64 { return f } }

func TestRetryPolicyDefaults(t *testing.T) {
	p := RetryPolicy{}.WithDefaults()
	want := RetryPolicy{InitialBackoff: time.Second, MaxBackoff: 10 * time.Minute, MaxAttempts: 20, MaxAge: 72 * time.Hour}
	if p != want {
		t.Errorf("defaults = %+v", p)
	}
	p = RetryPolicy{InitialBackoff: time.Minute, MaxBackoff: time.Second, MaxAttempts: 3}.WithDefaults()
	if p.MaxBackoff != time.Minute || p.MaxAttempts != 3 {
		t.Errorf("WithDefaults kept/adjusted wrongly: %+v", p)
	}
}

func TestRetryPolicyGrowthAndCap(t *testing.T) {
	p := RetryPolicy{InitialBackoff: time.Second, MaxBackoff: time.Minute, MaxAttempts: 1000}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i, w := range want {
		if got := p.Backoff(i + 1); got != w*time.Second {
			t.Errorf("Backoff(%d) = %v, want %v", i+1, got, w*time.Second)
		}
	}
	// Near the top of the jitter range, Next follows the ceiling.
	for i, w := range want {
		got, dead := p.Next(i+1, 0, 0, constRnd(0.999999))
		if dead || got > w*time.Second || got < w*time.Second*999/1000 {
			t.Errorf("Next(%d) = %v %v, want ~%v", i+1, got, dead, w*time.Second)
		}
	}
	// No overflow for absurd attempt counts.
	if got, _ := p.Next(999, 0, 0, constRnd(0.5)); got != 30*time.Second {
		t.Errorf("Next(999) = %v", got)
	}
	if got := (RetryPolicy{MaxBackoff: 1<<63 - 1}).Backoff(200); got <= 0 {
		t.Errorf("Backoff overflowed: %v", got)
	}
	if got := p.Backoff(0); got != time.Second {
		t.Errorf("Backoff(0) = %v", got)
	}
}

func TestRetryPolicyJitterBounds(t *testing.T) {
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second}
	r := rand.New(rand.NewPCG(1, 2))
	for attempts := 1; attempts < 12; attempts++ {
		ceiling := p.Backoff(attempts)
		var lo, hi time.Duration = ceiling, 0
		for range 500 {
			w, dead := p.Next(attempts, 0, 0, r.Float64)
			if dead || w < 0 || w >= ceiling {
				t.Fatalf("attempt %d: wait %v outside [0, %v)", attempts, w, ceiling)
			}
			lo, hi = min(lo, w), max(hi, w)
		}
		if lo > ceiling/10 || hi < ceiling*9/10 {
			t.Errorf("attempt %d: waits in [%v, %v], not spread over [0, %v)", attempts, lo, hi, ceiling)
		}
	}
	if w, _ := p.Next(3, 0, 0, constRnd(0)); w != 0 {
		t.Errorf("rnd 0: %v", w)
	}
	if w, _ := p.Next(3, 0, 0, constRnd(1)); w >= p.Backoff(3) {
		t.Errorf("rnd 1: %v not below the ceiling", w)
	}
	if w, _ := p.Next(3, 0, 0, constRnd(-3)); w != 0 {
		t.Errorf("rnd -3: %v", w)
	}
	if w, _ := p.Next(3, 0, 0, nil); w < 0 || w >= p.Backoff(3) {
		t.Errorf("default rnd: %v", w)
	}
}

func TestRetryPolicyRetryAfter(t *testing.T) {
	p := RetryPolicy{InitialBackoff: time.Second, MaxBackoff: time.Minute}
	if w, _ := p.Next(1, 0, 7*time.Second, constRnd(0.5)); w != 7*time.Second {
		t.Errorf("retryAfter above backoff: %v, want 7s", w)
	}
	if w, _ := p.Next(6, 0, 7*time.Second, constRnd(0.5)); w != 16*time.Second {
		t.Errorf("backoff above retryAfter: %v, want 16s", w)
	}
	if w, _ := p.Next(1, 0, time.Hour, constRnd(0.5)); w != time.Hour {
		t.Errorf("retryAfter above MaxBackoff must still be honoured: %v", w)
	}
}

func TestRetryPolicyDead(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 3, MaxAge: time.Hour}
	for attempts, want := range map[int]bool{1: false, 2: false, 3: true, 4: true} {
		if _, dead := p.Next(attempts, time.Minute, 0, constRnd(0.5)); dead != want {
			t.Errorf("attempts %d: dead = %v", attempts, dead)
		}
	}
	if _, dead := p.Next(1, time.Hour-time.Second, 0, constRnd(0.5)); dead {
		t.Error("dead before MaxAge")
	}
	if w, dead := p.Next(1, time.Hour, time.Minute, constRnd(0.5)); !dead || w != 0 {
		t.Errorf("at MaxAge: %v %v", w, dead)
	}
	if _, dead := (RetryPolicy{}).Next(19, 71*time.Hour, 0, constRnd(0.5)); dead {
		t.Error("default policy: dead at 19 attempts / 71h")
	}
	if _, dead := (RetryPolicy{}).Next(20, 0, 0, constRnd(0.5)); !dead {
		t.Error("default policy: not dead at 20 attempts")
	}
	if _, dead := (RetryPolicy{}).Next(1, 72*time.Hour, 0, constRnd(0.5)); !dead {
		t.Error("default policy: not dead at 72h")
	}
}
