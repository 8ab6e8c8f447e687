package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/lrs"
)

// What the admin API shows of a source (GET /api/v1/moodle/sources): the
// existing fields, and behind in rows and time as Moodle's log says now,
// why the cursor waits, the skips by reason and the top unmapped events;
// and the rewind it asks for (POST .../rewind).
func TestMoodleRunnerSourcesAndRewind(t *testing.T) {
	db := moodleSite(t, 250)
	s := testSyncer(db)
	reg := prometheus.NewRegistry()
	r := &moodleRunner{metrics: newMoodleMetrics(reg), syncers: []*moodle.Syncer{s}}
	ctx := context.Background()
	if _, err := s.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// A row after a recent gap, logged after the run.
	created := time.Now().Add(-5 * time.Second).Truncate(time.Second)
	if _, err := db.Exec(`INSERT INTO mdl_logstore_standard_log (id, eventname, component, action, target, contextlevel, contextinstanceid, userid, courseid, anonymous, other, timecreated)
		VALUES (30250, '\\core\\event\\course_viewed', 'core', 'viewed', 'course', 50, 2, 4, 2, 0, 'N;', ?)`, created.Unix()); err != nil {
		t.Fatal(err)
	}
	srcs, err := r.Sources(ctx)
	if err != nil || len(srcs) != 1 {
		t.Fatal(srcs, err)
	}
	b, _ := json.Marshal(srcs[0])
	var got map[string]any
	json.Unmarshal(b, &got)
	for key, want := range map[string]any{
		"name": "site", "wwwroot": "https://moodle.example.org", "cursor": 250.0, "rows_read": 250.0, "statements": 246.0,
		"behind": 1.0, "behind_at_least": false, "behind_ids": 30000.0, "latest": 30250.0, "gap_wait_seconds": 60.0,
		"oldest_pending": created.UTC().Format(time.RFC3339), "conflicts": 0.0, "legacy_ids_through": 0.0,
	} {
		if got[key] != want {
			t.Errorf("%s: %v, want %v", key, got[key], want)
		}
	}
	if age, _ := got["oldest_pending_age_seconds"].(float64); age < 5 || age > 30 {
		t.Errorf("oldest_pending_age_seconds %v", got["oldest_pending_age_seconds"])
	}
	if w, _ := got["waiting_reason"].(string); !strings.Contains(w, "for log ids 251–30249 (a gap; rows may still be committing)") {
		t.Errorf("waiting_reason %q", w)
	}
	if wt, _ := got["waiting"].(map[string]any); wt["from"] != 251.0 || wt["to"] != 30249.0 {
		t.Errorf("waiting %v", got["waiting"])
	}
	if sk, _ := got["skipped"].(map[string]any); sk["guest user"] != 1.0 {
		t.Errorf("skipped (details) %v", got["skipped"])
	}
	if by, _ := got["skipped_by_reason"].(map[string]any); by["unmapped"] != 1.0 || by["guest"] != 1.0 || len(by) != 4 {
		t.Errorf("skipped_by_reason %v", got["skipped_by_reason"])
	}
	if ev, _ := got["unmapped_events"].([]any); len(ev) != 1 || ev[0].(map[string]any)["event"] != `\local_custom\event\something_happened` {
		t.Errorf("unmapped_events %v", got["unmapped_events"])
	}
	if lr, _ := got["last_run"].(map[string]any); lr["rows"] != 250.0 || lr["statements"] != 246.0 {
		t.Errorf("last_run %v", got["last_run"])
	}

	to := int64(100)
	if _, err := r.Rewind(ctx, "nope", moodle.RewindRequest{To: &to, By: "admin api"}); lrs.ErrorCode(err) != lrs.ENOTFOUND {
		t.Errorf("unknown source: %v", err)
	}
	ss, err := r.Rewind(ctx, "site", moodle.RewindRequest{To: &to, By: "admin api"})
	if err != nil || ss.Cursor != 100 || ss.LastRewind.From != 250 || ss.LastRewind.By != "admin api" {
		t.Fatalf("rewind: %+v, %v", ss, err)
	}
	if g := gauges(t, reg, "bridge_moodle_cursor"); g["source=site"] != 100 {
		t.Errorf("bridge_moodle_cursor %v after the rewind", g)
	}
	if srcs, _ := r.Sources(ctx); srcs[0].Cursor != 100 || srcs[0].Behind != 151 {
		t.Errorf("after the rewind: cursor %d, behind %d", srcs[0].Cursor, srcs[0].Behind)
	}
}
