package dispatch_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
)

// fakeOutbox serves fixed stats; the dead-letter operations record their
// filter. Other methods are not used (nil interface: they would panic).
type fakeOutbox struct {
	lrs.Outbox
	stats   []lrs.TargetStats
	filters []lrs.DeadFilter
}

func (f *fakeOutbox) OutboxStats(context.Context) ([]lrs.TargetStats, error) {
	out := make([]lrs.TargetStats, len(f.stats))
	for i, s := range f.stats {
		out[i] = lrs.TargetStats{Target: s.Target, Pending: s.Pending, Dead: s.Dead}
	}
	return out, nil
}

func (f *fakeOutbox) OutboxDetails(context.Context) ([]lrs.TargetStats, error) {
	return append([]lrs.TargetStats(nil), f.stats...), nil
}

func (f *fakeOutbox) ListDead(_ context.Context, df lrs.DeadFilter) ([]lrs.OutboxItem, error) {
	f.filters = append(f.filters, df)
	return nil, nil
}

func (f *fakeOutbox) ReplayDead(_ context.Context, df lrs.DeadFilter, _ time.Time) (int64, error) {
	f.filters = append(f.filters, df)
	return 2, nil
}

func (f *fakeOutbox) DiscardDead(_ context.Context, df lrs.DeadFilter) (int64, error) {
	f.filters = append(f.filters, df)
	return 1, nil
}

type fakeHealth struct{ rows []lrs.TargetHealth }

func (f *fakeHealth) RecordBreaker(context.Context, string, string, string, time.Time) error {
	return nil
}
func (f *fakeHealth) RecordFailure(context.Context, string, int, string, time.Time) error { return nil }
func (f *fakeHealth) TargetHealth(context.Context) ([]lrs.TargetHealth, error)            { return f.rows, nil }

type nopForwarder struct{ name string }

func (n nopForwarder) Name() string { return n.name }
func (n nopForwarder) Send(_ context.Context, items []forwarders.Item) []forwarders.Outcome {
	return make([]forwarders.Outcome, len(items))
}

func breakers(names ...string) map[string]*forwarders.Breaker {
	out := map[string]*forwarders.Breaker{}
	for _, n := range names {
		out[n] = forwarders.NewBreaker(nopForwarder{n}, forwarders.BreakerConfig{OpenFor: 30 * time.Second}, nil)
	}
	return out
}

func statusByTarget(t *testing.T, st []dispatch.TargetStatus) map[string]dispatch.TargetStatus {
	t.Helper()
	out := map[string]dispatch.TargetStatus{}
	for _, s := range st {
		out[s.Target] = s
	}
	return out
}

// Status: every configured target in config order, then personal (even
// with nothing), then targets that only the database still knows; each
// with retrying, the oldest pending, the last error, and the breaker as a
// serving bridge recorded it when this process does not dispatch.
func TestAdminStatus(t *testing.T) {
	now := time.Now()
	oldest := now.Add(-90 * time.Second)
	failedAt := now.Add(-time.Minute)
	out := &fakeOutbox{stats: []lrs.TargetStats{
		{Target: "crm", Pending: 10, Retrying: 4, OldestPending: oldest},
		{Target: "removed", Dead: 2},
		{Target: "lake", Dead: 1},
	}}
	health := &fakeHealth{rows: []lrs.TargetHealth{
		{Target: "crm", Breaker: "open", BreakerSince: now.Add(-5 * time.Second), BreakerCause: "HTTP 503 Service Unavailable",
			LastStatus: 503, LastError: "HTTP 503 Service Unavailable", LastErrorAt: failedAt},
		{Target: "lake", Breaker: "open", BreakerSince: now.Add(-time.Hour), BreakerCause: "timeout after 10s"},
		{Target: "personal", LastError: "personal:ann-lrs.example: HTTP 401 Unauthorized", LastStatus: 401, LastErrorAt: failedAt},
	}}
	a := &dispatch.Admin{Outbox: out, Health: health, Targets: []string{"lake", "crm", "archive"}, Breakers: breakers("lake", "crm", "archive")}
	st, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range st {
		order = append(order, s.Target)
	}
	if strings.Join(order, " ") != "lake crm archive personal removed" {
		t.Errorf("order %v, want the config's, personal, then targets only the database knows", order)
	}
	by := statusByTarget(t, st)
	crm := by["crm"]
	if crm.Pending != 10 || crm.Retrying != 4 || crm.OldestPending == nil || !crm.OldestPending.Equal(oldest) ||
		crm.OldestPendingSeconds < 89 || crm.OldestPendingSeconds > 120 || crm.Breaker != "open" || crm.BreakerCause != "HTTP 503 Service Unavailable" ||
		crm.LastError != "HTTP 503 Service Unavailable" || crm.LastStatus != 503 || crm.LastErrorAt == nil || !crm.LastErrorAt.Equal(failedAt) {
		t.Errorf("crm: %+v", crm)
	}
	// Recorded open an hour ago, open_for 30s: half-open now, as the
	// breaker itself would say.
	if lake := by["lake"]; lake.Breaker != "half-open" || lake.BreakerSince == nil || lake.Dead != 1 || lake.OldestPending != nil {
		t.Errorf("lake: %+v, want half-open (open for longer than open_for)", lake)
	}
	if archive := by["archive"]; archive.Breaker != "closed" || archive.Pending != 0 || archive.LastError != "" {
		t.Errorf("archive (nothing recorded): %+v", archive)
	}
	if p := by["personal"]; p.Breaker != "" || p.Pending != 0 || p.Dead != 0 || p.LastStatus != 401 || !strings.Contains(p.LastError, "ann-lrs.example") {
		t.Errorf("personal: %+v", p)
	}
	if r := by["removed"]; r.Breaker != "" || r.Dead != 2 {
		t.Errorf("removed: %+v", r)
	}

	// In `bridge serve` (the dispatcher runs) the breakers are this
	// process's own: closed here, whatever was recorded.
	d := &dispatch.Dispatcher{Outbox: out, PollInterval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for !d.Running() {
		time.Sleep(time.Millisecond)
	}
	a.Dispatcher = d
	st, _ = a.Status(context.Background())
	if crm := statusByTarget(t, st)["crm"]; crm.Breaker != "closed" || crm.LastError != "HTTP 503 Service Unavailable" {
		t.Errorf("crm while dispatching: %+v, want this process's breaker (closed) and the recorded last error", crm)
	}
}

// The admin API's JSON keeps the fields it had and adds the new ones.
func TestTargetStatusJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	b, _ := json.Marshal(dispatch.TargetStatus{Target: "crm", Pending: 3, Dead: 1, Breaker: "open", BreakerSince: &at, BreakerCause: "HTTP 503",
		Retrying: 2, OldestPending: &at, OldestPendingSeconds: 12.5, LastError: "HTTP 503", LastStatus: 503, LastErrorAt: &at})
	var got map[string]any
	json.Unmarshal(b, &got)
	for _, k := range []string{"target", "pending", "dead", "breaker", "breaker_since", "breaker_cause", "retrying", "oldest_pending",
		"oldest_pending_seconds", "last_error", "last_status", "last_error_at"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	b, _ = json.Marshal(dispatch.TargetStatus{Target: "personal"})
	if string(b) != `{"target":"personal","pending":0,"dead":0,"retrying":0}` {
		t.Errorf("a target with nothing: %s", b)
	}
}

// Dead, Replay and Discard refuse a target that does not exist, naming the
// targets, before touching the outbox; a target only the database knows
// (removed from the config, dead letters left) is accepted.
func TestAdminDeadUnknownTarget(t *testing.T) {
	ctx := context.Background()
	out := &fakeOutbox{stats: []lrs.TargetStats{{Target: "old-crm", Dead: 2}}}
	a := &dispatch.Admin{Outbox: out, Targets: []string{"lake", "archive"}, Breakers: breakers("lake", "archive")}
	ops := map[string]func(lrs.DeadFilter) error{
		"Dead":    func(f lrs.DeadFilter) error { _, err := a.Dead(ctx, f, false); return err },
		"Replay":  func(f lrs.DeadFilter) error { _, err := a.Replay(ctx, f); return err },
		"Discard": func(f lrs.DeadFilter) error { _, err := a.Discard(ctx, f); return err },
	}
	for name, op := range ops {
		err := op(lrs.DeadFilter{Target: "lkae"})
		if lrs.ErrorCode(err) != lrs.EINVALID || !strings.Contains(err.Error(), `"lkae"`) ||
			!strings.Contains(err.Error(), "archive, lake, old-crm, personal") {
			t.Errorf("%s(lkae): %v, want EINVALID naming lkae and the targets", name, err)
		}
		for _, ok := range []string{"", "lake", "personal", "old-crm"} {
			if err := op(lrs.DeadFilter{Target: ok}); err != nil {
				t.Errorf("%s(%q): %v", name, ok, err)
			}
		}
	}
	if len(out.filters) != 12 {
		t.Errorf("the outbox saw %d operations, want 12 (none for the unknown target)", len(out.filters))
	}
}
