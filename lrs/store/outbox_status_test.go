package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

func detailsOf(t *testing.T, db *store.DB, target string) lrs.TargetStats {
	t.Helper()
	all, err := db.OutboxDetails(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Target == target {
			return s
		}
	}
	return lrs.TargetStats{Target: target}
}

// OutboxDetails counts, per target, the pending deliveries that failed at
// least once (retrying) and finds the oldest pending one, whether it has
// been attempted or not.
func TestOutboxDetails(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		clock := t0
		svc := &lrs.Service{Statements: db, Router: routeAll{}, DefaultLimit: 10, MaxLimit: 10, Now: func() time.Time { return clock }}
		for i := range 4 { // stored at t0, t0+1m, t0+2m, t0+3m
			clock = t0.Add(time.Duration(i) * time.Minute)
			mustStore(t, svc, stmt("", "ann", "completed", "a1", nil))
		}
		if s := detailsOf(t, db, "t"); s.Pending != 4 || s.Retrying != 0 || s.Dead != 0 || !s.OldestPending.Equal(t0) {
			t.Fatalf("4 fresh: %+v, want 4 pending, oldest %v", s, t0)
		}
		now := time.Now()
		items, err := db.ClaimDeliveries(ctx, "t", 2, now, now.Add(time.Minute))
		if err != nil || len(items) != 2 || !items[0].CreatedAt.Equal(t0) {
			t.Fatalf("claim: %+v, %v", items, err)
		}
		// The oldest fails once (retrying), the next dies.
		if err := db.RetryDelivery(ctx, items[0].ID, items[0].Lease, 1, now.Add(time.Hour), 503, "HTTP 503"); err != nil {
			t.Fatal(err)
		}
		if err := db.KillDelivery(ctx, items[1].ID, items[1].Lease, 1, 400, "HTTP 400"); err != nil {
			t.Fatal(err)
		}
		if s := detailsOf(t, db, "t"); s.Pending != 3 || s.Retrying != 1 || s.Dead != 1 || !s.OldestPending.Equal(t0) {
			t.Errorf("after a retry and a death: %+v, want 3 pending, 1 retrying, 1 dead, oldest %v (the retrying one)", s, t0)
		}
		// The retrying one delivered: the oldest is the oldest not attempted.
		if err := db.CompleteDeliveries(ctx, []int64{items[0].ID}); err != nil {
			t.Fatal(err)
		}
		if s := detailsOf(t, db, "t"); s.Pending != 2 || s.Retrying != 0 || !s.OldestPending.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("after the retried one was delivered: %+v, want 2 pending, none retrying, oldest %v", s, t0.Add(2*time.Minute))
		}
		// A target with dead letters only has no oldest pending.
		if err := db.CompleteDeliveries(ctx, []int64{items[1].ID + 1, items[1].ID + 2}); err != nil {
			t.Fatal(err)
		}
		if s := detailsOf(t, db, "t"); s.Pending != 0 || s.Dead != 1 || !s.OldestPending.IsZero() {
			t.Errorf("dead only: %+v", s)
		}
	})
}

// The health rows: a breaker transition and a failure update their own
// columns of the target's row; long errors are clipped.
func TestTargetHealth(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		at := time.Date(2026, 3, 1, 9, 0, 0, 123000, time.UTC)
		if hs, err := db.TargetHealth(ctx); err != nil || len(hs) != 0 {
			t.Fatalf("empty: %+v, %v", hs, err)
		}
		if err := db.RecordFailure(ctx, "lake", 503, "HTTP 503 Service Unavailable", at); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordBreaker(ctx, "lake", "open", "HTTP 503 Service Unavailable", at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := db.RecordBreaker(ctx, "archive", "closed", "the bridge started", at); err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("é", 600) // 1200 bytes
		if err := db.RecordFailure(ctx, "lake", 0, long, at.Add(2*time.Second)); err != nil {
			t.Fatal(err)
		}
		hs, err := db.TargetHealth(ctx)
		if err != nil || len(hs) != 2 {
			t.Fatalf("health: %+v, %v", hs, err)
		}
		archive, lake := hs[0], hs[1]
		if archive != (lrs.TargetHealth{Target: "archive", Breaker: "closed", BreakerSince: at, BreakerCause: "the bridge started"}) {
			t.Errorf("archive: %+v", archive)
		}
		if lake.Target != "lake" || lake.Breaker != "open" || !lake.BreakerSince.Equal(at.Add(time.Second)) || lake.BreakerCause != "HTTP 503 Service Unavailable" ||
			lake.LastStatus != 0 || !lake.LastErrorAt.Equal(at.Add(2*time.Second)) || len(lake.LastError) > 1000 || !strings.HasPrefix(long, lake.LastError) {
			t.Errorf("lake: %+v (error of %d bytes)", lake, len(lake.LastError))
		}
	})
}
