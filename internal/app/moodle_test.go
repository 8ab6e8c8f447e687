package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/internal/moodletest"
	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
)

// gauges returns the values of the metric name in reg, by their labels
// ("source=site,reason=guest").
func gauges(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(labels, ",")] = m.GetGauge().GetValue()
		}
	}
	return out
}

// counters returns the values of the counter name in reg, by their labels.
func counters(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(labels, ",")] = m.GetCounter().GetValue()
		}
	}
	return out
}

// The metrics: behind is the pending rows (not the distance between ids),
// the oldest pending row's age is a gauge, and the skip reasons are a
// fixed set (event names stay in status).
func TestMoodleMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMoodleMetrics(reg)
	oldest := time.Now().Add(-90 * time.Second).UTC().Format(time.RFC3339)
	var st moodle.Status
	if err := json.Unmarshal([]byte(`{"cursor": 20, "latest": 30020, "rows_read": 20, "statements": 16,
		"skipped": {"event \\local_x\\event\\a is not mapped": 3, "event \\local_x\\event\\b is not mapped": 2,
			"guest user": 1, "missing user record": 1, "invalid statement: actor: bad": 1},
		"pending": {"rows": 1, "oldest": "`+oldest+`", "checked": "`+oldest+`"}}`), &st); err != nil {
		t.Fatal(err)
	}
	m.observe("site", &st, nil)
	if got := gauges(t, reg, "bridge_moodle_behind_rows"); got["source=site"] != 1 {
		t.Errorf("bridge_moodle_behind_rows %v, want 1 (one pending row after a 30,000-id gap)", got)
	}
	age := gauges(t, reg, "bridge_moodle_oldest_pending_age_seconds")["source=site"]
	if age < 89 || age > 120 {
		t.Errorf("bridge_moodle_oldest_pending_age_seconds %v, want about 90", age)
	}
	skipped := gauges(t, reg, "bridge_moodle_rows_skipped")
	fixed := map[string]bool{"unmapped": true, "filtered": true, "anonymous": true, "guest": true, "no_user": true,
		"deleted_user": true, "missing_course": true, "missing_module": true, "missing_record": true,
		"no_statement": true, "mapping_error": true, "invalid": true}
	for labels := range skipped {
		reason := strings.TrimPrefix(labels, "reason=")
		reason, _, _ = strings.Cut(reason, ",")
		if !fixed[reason] {
			t.Errorf("skip reason label %q is not one of the fixed reasons", labels)
		}
	}
	for reason, want := range map[string]float64{"unmapped": 5, "guest": 1, "deleted_user": 1, "invalid": 1, "anonymous": 0} {
		if got := skipped["reason="+reason+",source=site"]; got != want {
			t.Errorf("bridge_moodle_rows_skipped{reason=%q} = %v, want %v (all: %v)", reason, got, want, skipped)
		}
	}
	// Conflicts are a counter, read from the status's total.
	var withConflicts moodle.Status
	json.Unmarshal([]byte(`{"cursor": 20, "conflicts": 3}`), &withConflicts)
	m.observe("site", &withConflicts, nil)
	if got := counters(t, reg, "bridge_moodle_conflicts_total"); got["source=site"] != 3 {
		t.Errorf("bridge_moodle_conflicts_total %v, want 3", got)
	}
	// Nothing pending: the age is 0.
	var none moodle.Status
	json.Unmarshal([]byte(`{"cursor": 20, "latest": 30020, "pending": {"rows": 0}}`), &none)
	m.observe("site", &none, nil)
	if got := gauges(t, reg, "bridge_moodle_oldest_pending_age_seconds"); got["source=site"] != 0 {
		t.Errorf("age with nothing pending: %v", got)
	}
}

// memSink is a bridge store in memory.
type memSink struct {
	mu   sync.Mutex
	ids  map[string]bool
	cp   map[string]*lrs.Checkpoint
	keys map[string][]byte
}

func (m *memSink) StoreFromSource(_ context.Context, _ *lrs.Principal, stmts []map[string]any, cp *lrs.Checkpoint) (int, []lrs.Rejected, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range stmts {
		if id := s["id"].(string); !m.ids[id] {
			m.ids[id] = true
			n++
		}
	}
	c := *cp
	m.cp[cp.Source] = &c
	return n, nil, nil
}

func (m *memSink) SyncCursor(_ context.Context, source string) (*lrs.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.cp[source]; ok {
		cc := *c
		return &cc, nil
	}
	return &lrs.Checkpoint{Source: source}, nil
}

// SourceKey keeps one key per source, as the bridge's database does.
func (m *memSink) SourceKey(_ context.Context, source string, legacyThrough int64) ([]byte, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		m.keys = map[string][]byte{}
	}
	if k, ok := m.keys[source]; ok {
		return k, 0, nil
	}
	k := make([]byte, 32)
	rand.Read(k)
	m.keys[source] = k
	return k, 0, nil
}

func (m *memSink) PutSyncCursors(_ context.Context, cps ...*lrs.Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, cp := range cps {
		c := *cp
		m.cp[cp.Source] = &c
	}
	return nil
}

func moodleSite(t *testing.T, n int) *sql.DB {
	t.Helper()
	cfg, _ := mysql.ParseDSN(testmysql.New(t))
	c, _ := mysql.NewConnector(cfg)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	if err := moodletest.Site(db, n, false); err != nil {
		t.Fatal(err)
	}
	return db
}

func testSyncer(db *sql.DB) *moodle.Syncer {
	return &moodle.Syncer{Sink: &memSink{ids: map[string]bool{}, cp: map[string]*lrs.Checkpoint{}},
		Source: &moodle.Source{Name: "site", DB: db, Dialect: moodle.MySQL, BatchSize: 40,
			Options: moodle.Options{WWWRoot: "https://moodle.example.org"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
}

// A scheduled run's log line says what this run did: its rows,
// statements and skips by reason, not only where the cursor is.
func TestMoodleJobLogsTheRun(t *testing.T) {
	db := moodleSite(t, 250)
	s := testSyncer(db)
	var buf bytes.Buffer
	r := &moodleRunner{log: slog.New(slog.NewTextHandler(&buf, nil)), metrics: newMoodleMetrics(prometheus.NewRegistry())}
	job := r.job(context.Background(), "site", s)
	job()
	if want := `msg="moodle sync" source=site rows=250 statements=246 skipped="unmapped=1 anonymous=1 guest=1 deleted_user=1" cursor=250 behind=0 took=`; !strings.Contains(buf.String(), want) {
		t.Errorf("log:\n%s\nwant a line with\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := moodletest.AppendLog(db, 251, 260, false); err != nil {
		t.Fatal(err)
	}
	job()
	if want := `msg="moodle sync" source=site rows=10 statements=10 skipped=none cursor=260 behind=0 took=`; !strings.Contains(buf.String(), want) {
		t.Errorf("log:\n%s\nwant a line with\n%s", buf.String(), want)
	}
	// A run that reads nothing logs nothing.
	buf.Reset()
	job()
	if buf.Len() != 0 {
		t.Errorf("an idle run logged: %s", buf.String())
	}
	// A run held at a gap says so, even when it read nothing.
	if err := moodletest.AppendLog(db, 262, 270, false); err != nil {
		t.Fatal(err)
	}
	db.Exec("UPDATE mdl_logstore_standard_log SET timecreated = ? WHERE id > 261", time.Now().Unix())
	job()
	out := buf.String()
	if !strings.Contains(out, `rows=0 statements=0 skipped=none cursor=260 behind=9 oldest_pending_age=`) ||
		!strings.Contains(out, fmt.Sprintf(`waiting="waiting %d s for log ids 261–261 (a gap; rows may still be committing)"`, 60)) &&
			!strings.Contains(out, fmt.Sprintf(`waiting="waiting %d s for log ids 261–261 (a gap; rows may still be committing)"`, 59)) {
		t.Errorf("log at a gap:\n%s", out)
	}
}
