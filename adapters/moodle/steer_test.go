package moodle

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/internal/moodletest"
	"github.com/xapibridge/bridge/internal/testpg"
	"github.com/xapibridge/bridge/lrs"
)

// Tests of what lets an admin steer a source (issue 14): why the cursor
// waits, how far behind it is in rows and time, rewinds, previews, and
// what a run did.

// PutSyncCursors makes memSink a CursorWriter.
func (m *memSink) PutSyncCursors(_ context.Context, cps ...*lrs.Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, cp := range cps {
		c := *cp
		m.cursor[cp.Source] = &c
	}
	return nil
}

// storedStatus is the status in the sink's cursor row, as a batch or a run
// last wrote it (not resolved by Syncer.Status).
func (m *memSink) storedStatus(t *testing.T, source string) (int64, *Status) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := m.cursor[source]
	if cp == nil {
		t.Fatalf("no cursor row for %s", source)
	}
	var st Status
	if err := json.Unmarshal(cp.Status, &st); err != nil {
		t.Fatal(err)
	}
	return cp.Position, &st
}

func site(db *sql.DB) *Source {
	return &Source{Name: "site", DB: db, Dialect: MySQL, BatchSize: 40, Options: Options{WWWRoot: "https://moodle.example.org"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// recentGap makes log row id missing and the rows after it created now.
func recentGap(t *testing.T, db *sql.DB, id int64, now time.Time) {
	t.Helper()
	if _, err := db.Exec("DELETE FROM mdl_logstore_standard_log WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE mdl_logstore_standard_log SET timecreated = ? WHERE id > ?", now.Unix(), id); err != nil {
		t.Fatal(err)
	}
}

// A run that stops at a recent gap says so: which ids, and for how long
// it still waits; the status stored with the cursor has it too.
func TestSyncSaysWhyItWaits(t *testing.T) {
	db := moodleDB(t)
	seedSite(t, db, 30)
	// A first run passes row 10, then row 15 goes missing (still
	// committing) with recent rows after it.
	sink := newMemSink()
	src := site(db)
	src.SettleTime = 40 * time.Second
	now := time.Now()
	db.Exec("DELETE FROM mdl_logstore_standard_log WHERE id > 10")
	(&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil)
	seedMore(t, db, 11, 30)
	recentGap(t, db, 15, now)
	st, err := (&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cursor != 14 || st.Waiting == nil || st.Waiting.From != 15 || st.Waiting.To != 15 {
		t.Fatalf("cursor %d, waiting %+v; want 14 waiting for 15–15", st.Cursor, st.Waiting)
	}
	if until := time.Unix(now.Unix(), 0).Add(40 * time.Second); !st.Waiting.Until.Equal(until) {
		t.Errorf("waits until %s, want %s (the row after the gap, 40 s old)", st.Waiting.Until, until)
	}
	msg := st.Waiting.String(now)
	if !strings.HasPrefix(msg, "waiting 40 s for log ids 15–15 (a gap; rows may still be committing)") &&
		!strings.HasPrefix(msg, "waiting 39 s for log ids 15–15 (a gap; rows may still be committing)") {
		t.Errorf("says %q", msg)
	}
	if st.Pending == nil || st.Pending.Rows != 15 || st.Pending.AtLeast {
		t.Errorf("pending %+v, want 15 rows (16..30)", st.Pending)
	}
	_, stored := sink.storedStatus(t, "site")
	if stored.Waiting == nil || stored.Waiting.From != 15 {
		t.Errorf("stored status: waiting %+v", stored.Waiting)
	}
	// Check says the same without running.
	p, gap, err := (&Syncer{Source: src, Sink: sink}).Check(context.Background(), 14)
	if err != nil || gap == nil || gap.From != 15 || gap.To != 15 || p.Rows != 15 {
		t.Errorf("Check: %+v %+v %v", p, gap, err)
	}
	// A gap wider than one id, and an old gap (rolled back) is no wait.
	if gap := (&Syncer{Source: src}).gapAt(14, 20, now.Unix(), now); gap == nil || gap.From != 15 || gap.To != 19 {
		t.Errorf("gap 15–19: %+v", gap)
	}
	if gap := (&Syncer{Source: src}).gapAt(14, 20, now.Add(-41*time.Second).Unix(), now); gap != nil {
		t.Errorf("an old gap waits: %+v", gap)
	}
	// Once the row commits, nothing waits.
	insertLogRow(t, db, 15, now)
	st, err = (&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil)
	if err != nil || st.Cursor != 30 || st.Waiting != nil || st.Pending.Rows != 0 {
		t.Fatalf("after the row came: cursor %d, waiting %+v, pending %+v, %v", st.Cursor, st.Waiting, st.Pending, err)
	}
}

// seedMore appends log rows first..last as the test site has them.
func seedMore(t *testing.T, db *sql.DB, first, last int) {
	t.Helper()
	if err := moodletest.AppendLog(db, first, last, false); err != nil {
		t.Fatal(err)
	}
}

func insertLogRow(t *testing.T, db *sql.DB, id int64, created time.Time) {
	t.Helper()
	if _, err := db.Exec(`INSERT INTO mdl_logstore_standard_log (id, eventname, component, action, target, contextlevel, contextinstanceid, userid, courseid, anonymous, other, timecreated)
		VALUES (?, '\\core\\event\\course_viewed', 'core', 'viewed', 'course', 50, 2, 4, 2, 0, 'N;', ?)`, id, created.Unix()); err != nil {
		t.Fatal(err)
	}
}

// "Behind" counts rows, not ids: one pending row after a gap of 30,000 ids
// is one row behind, and its age is known.
func TestSyncBehindInRowsAndTime(t *testing.T) {
	db := moodleDB(t)
	seedSite(t, db, 20)
	sink := newMemSink()
	src := site(db)
	if _, err := (&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-10 * time.Second).Truncate(time.Second)
	insertLogRow(t, db, 30020, created) // ids 21..30019 are a recent gap
	st, err := (&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cursor != 20 || st.Latest != 30020 {
		t.Fatalf("cursor %d of %d, want 20 of 30020", st.Cursor, st.Latest)
	}
	if st.Behind() != 1 || st.BehindIDs() != 30000 || st.Pending.AtLeast {
		t.Errorf("behind %d rows (%d ids, at least %v), want 1 row (30000 ids)", st.Behind(), st.BehindIDs(), st.Pending.AtLeast)
	}
	if st.Pending.Oldest == nil || !st.Pending.Oldest.Equal(created) {
		t.Errorf("oldest pending %v, want %s", st.Pending.Oldest, created)
	}
	if age := st.Pending.Age(created.Add(90 * time.Second)); age != 90*time.Second {
		t.Errorf("age %s, want 1m30s", age)
	}
	ss := (&Syncer{Source: src}).SourceStatus(st, created.Add(time.Minute))
	if ss.Behind != 1 || ss.BehindIDs != 30000 || ss.OldestPendingAgeSeconds != 60 || ss.WaitingReason == "" || ss.GapWaitSeconds != 60 {
		t.Errorf("source status %+v", ss)
	}
	// The count is bounded: past the bound it says "at least".
	p, _, err := (&Syncer{Source: src, Sink: sink, CountLimit: 5}).Check(context.Background(), 0)
	if err != nil || p.Rows != 5 || !p.AtLeast || p.String(time.Now())[:19] != "at least 5 rows, th" {
		t.Errorf("bounded count: %+v %v (%s)", p, err, p.String(time.Now()))
	}
	if p, _, _ := (&Syncer{Source: src, Sink: sink, CountLimit: 21}).Check(context.Background(), 0); p.Rows != 21 || p.AtLeast {
		t.Errorf("count at the bound: %+v", p)
	}
}

// The fixed reasons: every detail the sync counts has one, and no reason
// carries an event name.
func TestSkipReasons(t *testing.T) {
	for detail, want := range map[string]string{
		`event \local_custom\event\something_happened is not mapped`: ReasonUnmapped,
		"event not in allow list":                                    ReasonFiltered,
		"event in deny list":                                         ReasonFiltered,
		"course not in course filter":                                ReasonFiltered,
		"course excluded":                                            ReasonFiltered,
		"category not in category filter":                            ReasonFiltered,
		"category excluded":                                          ReasonFiltered,
		"anonymous event":                                            ReasonAnonymous,
		"guest user":                                                 ReasonGuest,
		"no user (id 0)":                                             ReasonNoUser,
		"missing user record":                                        ReasonDeletedUser,
		"missing course record":                                      ReasonMissingCourse,
		"missing course_modules record":                              ReasonMissingMod,
		"missing question_answers record":                            ReasonMissing,
		"user_graded without a final grade":                          ReasonNoStatement,
		"no attendee in session 12":                                  ReasonNoStatement,
		"mapping error: strconv: bad":                                ReasonMapping,
		"invalid statement: actor: bad":                              ReasonInvalid,
	} {
		if got := SkipReason(detail); got != want {
			t.Errorf("SkipReason(%q) = %q, want %q", detail, got, want)
		}
	}
	// The details the sync itself makes, through the real path.
	db := moodleDB(t)
	seedSite(t, db, 20)
	src := site(db)
	src.DenyEvents = []string{`\core\event\course_viewed`}
	st, err := (&Syncer{Source: src, Sink: newMemSink()}).Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{ReasonFiltered: 10, ReasonDeletedUser: 1, ReasonGuest: 1, ReasonAnonymous: 1, ReasonUnmapped: 1}
	if got := st.SkippedByReason(); !reflect.DeepEqual(got, want) {
		t.Errorf("by reason %v, want %v (details %v)", got, want, st.Skipped)
	}
	if got := st.UnmappedEvents(10); !reflect.DeepEqual(got, []EventCount{{`\local_custom\event\something_happened`, 1}}) {
		t.Errorf("unmapped events %v", got)
	}
	st.Skipped[`event \mod_x\event\a is not mapped`] = 5
	st.Skipped[`event \mod_x\event\b is not mapped`] = 7
	if got := st.UnmappedEvents(2); len(got) != 2 || got[0].Event != `\mod_x\event\b` || got[1].Rows != 5 {
		t.Errorf("top unmapped events %v", got)
	}
}

// A run reports what it did: its own rows, statements and skips by
// reason, not the totals.
func TestRunSummary(t *testing.T) {
	db := moodleDB(t)
	seedSite(t, db, 20)
	sink := newMemSink()
	src := site(db)
	st, err := (&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	first := RunSummary{Rows: 20, Statements: 16, Skipped: map[string]int64{ReasonDeletedUser: 1, ReasonGuest: 1, ReasonAnonymous: 1, ReasonUnmapped: 1}}
	if !reflect.DeepEqual(*st.LastRun, first) {
		t.Errorf("first run %+v, want %+v", *st.LastRun, first)
	}
	if s := st.LastRun.String(); s != "20 rows, 16 statements, 4 skipped (unmapped 1, anonymous 1, guest 1, deleted_user 1)" {
		t.Errorf("summary %q", s)
	}
	if s := st.LastRun.SkippedString(); s != "unmapped=1 anonymous=1 guest=1 deleted_user=1" {
		t.Errorf("skipped %q", s)
	}
	seedMore(t, db, 21, 30)
	st, err = (&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (RunSummary{Rows: 10, Statements: 10, Skipped: map[string]int64{}}); !reflect.DeepEqual(*st.LastRun, want) {
		t.Errorf("second run %+v, want %+v", *st.LastRun, want)
	}
	if st.RowsRead != 30 || st.Statements != 26 {
		t.Errorf("totals %d rows, %d statements", st.RowsRead, st.Statements)
	}
	if s := st.LastRun.String(); s != "10 rows, 10 statements, 0 skipped" {
		t.Errorf("summary %q", s)
	}
}

// The first progress sample comes before anything is read: a rate worked
// out from the samples starts with the run, not with its first batch.
func TestSyncProgressStartsAtZero(t *testing.T) {
	db := moodleDB(t)
	seedSite(t, db, 100)
	type sample struct {
		done, total int64
		at          time.Time
	}
	var samples []sample
	sink := newMemSink()
	var firstStore time.Time
	sink.before = func(call int) {
		if call == 1 {
			firstStore = time.Now()
		}
	}
	_, err := (&Syncer{Source: site(db), Sink: sink}).Run(context.Background(), func(done, total int64) {
		samples = append(samples, sample{done, total, time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) < 2 || samples[0].done != 0 || samples[0].total != 100 || !samples[0].at.Before(firstStore) {
		t.Fatalf("samples %+v; want (0, 100) first, before the first batch is stored", samples)
	}
	if last := samples[len(samples)-1]; last.done != 100 {
		t.Errorf("last sample %+v", last)
	}
}

// A rewind sets the cursor back; the next run reads the rows again and
// stores nothing twice.
func TestRewind(t *testing.T) {
	db := moodleDB(t)
	seedSite(t, db, 250)
	sink := newMemSink()
	s := &Syncer{Source: site(db), Sink: sink, Writers: 2}
	if _, err := s.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	to := int64(100)
	st, err := s.Rewind(context.Background(), RewindRequest{To: &to, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if st.Cursor != 100 || st.LastRewind == nil || st.LastRewind.From != 250 || st.LastRewind.To != 100 || st.RewindApplied != st.LastRewind.ID {
		t.Fatalf("after the rewind: %+v %+v", st, st.LastRewind)
	}
	if st, _ := s.Status(context.Background()); st.Cursor != 100 {
		t.Errorf("status: cursor %d, want 100", st.Cursor)
	}
	if pos, _ := sink.storedStatus(t, "site"); pos != 100 {
		t.Errorf("stored cursor %d, want 100", pos)
	}
	st, err = s.Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cursor != 250 || st.LastRun.Rows != 150 || st.LastRun.Statements != 0 || len(sink.stmts) != 246 {
		t.Errorf("after the rewind: cursor %d, this run %+v, %d statements stored; want 250, 150 rows and 0 statements, 246", st.Cursor, st.LastRun, len(sink.stmts))
	}
	// A rewind moves back only.
	to = 251
	if _, err := s.Rewind(context.Background(), RewindRequest{To: &to}); lrs.ErrorCode(err) != lrs.EINVALID || !strings.Contains(err.Error(), "past the cursor (250)") {
		t.Errorf("rewind forward: %v", err)
	}
	to = -1
	if _, err := s.Rewind(context.Background(), RewindRequest{To: &to}); lrs.ErrorCode(err) != lrs.EINVALID {
		t.Errorf("rewind to -1: %v", err)
	}
	if _, err := s.Rewind(context.Background(), RewindRequest{}); lrs.ErrorCode(err) != lrs.EINVALID {
		t.Errorf("rewind to nowhere: %v", err)
	}
	// Since a time: the rows created from then on (row i is created at
	// 1700000000+i).
	since := time.Unix(1700000000+200, 0)
	st, err = s.Rewind(context.Background(), RewindRequest{Since: &since})
	if err != nil || st.Cursor != 199 || st.LastRewind.Since == nil {
		t.Fatalf("since row 200's time: cursor %d, %v", st.Cursor, err)
	}
	// Nothing since: the cursor stays.
	since = time.Now()
	if st, err = s.Rewind(context.Background(), RewindRequest{Since: &since}); err != nil || st.Cursor != 199 {
		t.Errorf("since now: cursor %d, %v", st.Cursor, err)
	}
	for in, want := range map[string]time.Time{
		"2025-01-01":                time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		"2025-01-01T08:00:00+01:00": time.Date(2025, 1, 1, 7, 0, 0, 0, time.UTC),
		" 2025-06-30T23:59:59Z":     time.Date(2025, 6, 30, 23, 59, 59, 0, time.UTC),
	} {
		if got, err := ParseSince(in); err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %s, %v", in, got, err)
		}
	}
	for _, in := range []string{"yesterday", "2025-13-01", "1735689600", "2025-01-01 08:00"} {
		if _, err := ParseSince(in); err == nil {
			t.Errorf("ParseSince(%q) accepted", in)
		}
	}
}

// A rewind that commits while a batch is being stored is not lost: the
// batch's transaction writes its own cursor over the rewound one, and the
// sync still goes back (it checks after each batch); and if it crashed
// before it could, whoever reads the status next goes back.
func TestRewindWhileSyncing(t *testing.T) {
	for _, writers := range []int{1, 2} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			db := moodleDB(t)
			seedSite(t, db, 250)
			sink := newMemSink()
			s := &Syncer{Source: site(db), Sink: sink, Writers: writers}
			var rewound *Status
			// Batch 4 (rows 121..160) begins; the rewind commits before it
			// does, so batch 4 then writes its cursor over the rewound one.
			sink.before = func(call int) {
				if call == 4 {
					to := int64(40)
					var err error
					if rewound, err = s.Rewind(context.Background(), RewindRequest{To: &to, By: "test"}); err != nil {
						t.Error(err)
					}
				}
			}
			st, err := s.Run(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if rewound == nil || rewound.Cursor != 40 {
				t.Fatalf("the rewind did not happen: %+v", rewound)
			}
			// This same run read up to batch 4 at least, then rows 41..250.
			if st.Cursor != 250 || st.LastRun.Rows < 160+210 || len(sink.stmts) != 246 || st.Statements != 246 {
				t.Errorf("cursor %d, this run read %d rows, %d statements (%d counted); want 250, at least 370, 246", st.Cursor, st.LastRun.Rows, len(sink.stmts), st.Statements)
			}
			pos, stored := sink.storedStatus(t, "site")
			if pos != 250 || stored.RewindApplied != rewound.LastRewind.ID || stored.LastRewind.To != 40 {
				t.Errorf("stored cursor %d, applied %q (want %q)", pos, stored.RewindApplied, rewound.LastRewind.ID)
			}
		})
	}
	t.Run("a crash before the sync saw it", func(t *testing.T) {
		db := moodleDB(t)
		seedSite(t, db, 250)
		sink := newMemSink()
		s := &Syncer{Source: site(db), Sink: sink, Writers: 2}
		if _, err := s.Run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		before, _ := sink.SyncCursor(context.Background(), "site")
		to := int64(40)
		if _, err := s.Rewind(context.Background(), RewindRequest{To: &to}); err != nil {
			t.Fatal(err)
		}
		// A batch of a sync that started before the rewind commits (its
		// cursor, its status), and that sync dies.
		sink.StoreFromSource(context.Background(), nil, nil, before)
		if pos, _ := sink.storedStatus(t, "site"); pos != 250 {
			t.Fatalf("stored cursor %d, want 250 (the batch's)", pos)
		}
		st, err := s.Status(context.Background())
		if err != nil || st.Cursor != 40 {
			t.Fatalf("status: cursor %d, %v; want 40", st.Cursor, err)
		}
		st, err = s.Run(context.Background(), nil)
		if err != nil || st.Cursor != 250 || st.LastRun.Rows != 210 || len(sink.stmts) != 246 {
			t.Fatalf("next run: cursor %d, %+v, %v; want 250 after reading 210 rows", st.Cursor, st.LastRun, err)
		}
		if _, stored := sink.storedStatus(t, "site"); stored.RewindApplied == "" || stored.LastRewind.To != 40 {
			t.Errorf("the run did not record the rewind as applied: %+v", stored)
		}
		// Applied once: the run after reads nothing again.
		if st, _ = s.Run(context.Background(), nil); st.LastRun.Rows != 0 {
			t.Errorf("the rewind was applied twice: %+v", st.LastRun)
		}
	})
}

// A preview maps one row as the sync would and stores nothing.
func TestPreview(t *testing.T) {
	db := moodleDB(t)
	seedSite(t, db, 20)
	sink := newMemSink()
	s := &Syncer{Source: site(db), Sink: sink}
	pv, err := s.Preview(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Event != `\core\event\course_viewed` || len(pv.Statements) != 1 || pv.Skipped != "" || pv.Invalid != nil || pv.Synced {
		t.Fatalf("row 2: %+v", pv)
	}
	if pv.Statements[0]["id"] != testKeys.id("site", 2, 0) {
		t.Errorf("id %v", pv.Statements[0]["id"])
	}
	// The same statement a sync stores.
	if _, err := s.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(normalise(pv.Statements[0]))
	b, _ := json.Marshal(normalise(sink.stmts[testKeys.id("site", 2, 0)]))
	if string(a) != string(b) {
		t.Errorf("preview differs from the sync:\n%s\n%s", a, b)
	}
	for id, want := range map[int64][2]string{
		9: {ReasonUnmapped, `event \local_custom\event\something_happened is not mapped`},
		3: {ReasonDeletedUser, "missing user record"},
		5: {ReasonGuest, "guest user"},
		7: {ReasonAnonymous, "anonymous event"},
	} {
		pv, err := s.Preview(context.Background(), id)
		if err != nil || pv.Reason != want[0] || pv.Skipped != want[1] || len(pv.Statements) != 0 || !pv.Synced {
			t.Errorf("row %d: %+v, %v; want skipped %v", id, pv, err, want)
		}
	}
	if _, err := s.Preview(context.Background(), 999); lrs.ErrorCode(err) != lrs.ENOTFOUND {
		t.Errorf("row 999: %v", err)
	}
	// Nothing was stored by the previews.
	fresh := newMemSink()
	if _, err := (&Syncer{Source: site(db), Sink: fresh}).Preview(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	if len(fresh.stmts) != 0 || len(fresh.cursor) != 0 || fresh.calls != 0 {
		t.Errorf("a preview stored: %d statements, %d cursors, %d calls", len(fresh.stmts), len(fresh.cursor), fresh.calls)
	}
}

// RunOnce waits for a recent gap to settle, at most the hold time in all,
// or says it stopped short.
func TestRunOnceWaitsForGaps(t *testing.T) {
	setup := func(t *testing.T, created time.Time) (*sql.DB, *Syncer) {
		db := moodleDB(t)
		seedSite(t, db, 30)
		src := site(db)
		src.SettleTime = 2 * time.Second
		s := &Syncer{Source: src, Sink: newMemSink()}
		// Rows up to 10 are synced; then 15 is missing, after it rows
		// created at created.
		db.Exec("DELETE FROM mdl_logstore_standard_log WHERE id > 10")
		if _, err := s.Run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		seedMore(t, db, 11, 30)
		recentGap(t, db, 15, created)
		return db, s
	}
	t.Run("waits it out", func(t *testing.T) {
		_, s := setup(t, time.Now())
		start := time.Now()
		o, err := s.RunOnce(context.Background(), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if o.Cursor != 30 || o.Short || o.Waiting != nil || o.Waited < time.Second || time.Since(start) > 4*time.Second {
			t.Errorf("cursor %d, short %v, waiting %+v, waited %s (in %s)", o.Cursor, o.Short, o.Waiting, o.Waited, time.Since(start))
		}
		if o.Run.Rows != 19 || o.Run.Statements != 19 {
			t.Errorf("summary of both runs %+v, want 19 rows (11..30 but 15)", o.Run)
		}
	})
	t.Run("the row commits meanwhile", func(t *testing.T) {
		db, s := setup(t, time.Now())
		go func() {
			time.Sleep(300 * time.Millisecond)
			insertLogRow(t, db, 15, time.Now())
		}()
		o, err := s.RunOnce(context.Background(), nil, true)
		if err != nil || o.Cursor != 30 || o.Short || o.Run.Rows != 20 {
			t.Errorf("cursor %d, short %v, %+v, %v; want 30 with row 15", o.Cursor, o.Short, o.Run, err)
		}
	})
	t.Run("no wait", func(t *testing.T) {
		_, s := setup(t, time.Now())
		o, err := s.RunOnce(context.Background(), nil, false)
		if err != nil || o.Cursor != 14 || !o.Short || o.Waiting == nil || o.Waiting.From != 15 || o.Waited != 0 {
			t.Errorf("cursor %d, short %v, waiting %+v, %v", o.Cursor, o.Short, o.Waiting, err)
		}
	})
	t.Run("bounded by the hold time", func(t *testing.T) {
		// Moodle's clock 30 s ahead: the gap would take 32 s to settle.
		_, s := setup(t, time.Now().Add(30*time.Second))
		start := time.Now()
		o, err := s.RunOnce(context.Background(), nil, true)
		if err != nil || o.Cursor != 14 || !o.Short || o.Waiting == nil || time.Since(start) > 4*time.Second {
			t.Errorf("cursor %d, short %v, waiting %+v, %v, in %s", o.Cursor, o.Short, o.Waiting, err, time.Since(start))
		}
	})
	t.Run("progress goes on across runs", func(t *testing.T) {
		_, s := setup(t, time.Now())
		var done []int64
		if _, err := s.RunOnce(context.Background(), func(d, total int64) { done = append(done, d) }, true); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(done); i++ {
			if done[i] < done[i-1] {
				t.Fatalf("progress went back: %v", done)
			}
		}
		if len(done) == 0 || done[len(done)-1] != 20 {
			t.Errorf("progress %v, want it to end at 20", done)
		}
	})
}

func TestAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                 "0s",
		42*time.Second + time.Millisecond: "42s",
		12*time.Minute + 30*time.Second:   "12m30s",
		5*time.Hour + 12*time.Minute + 9*time.Second: "5h12m",
		76 * time.Hour:               "3d4h",
		400*24*time.Hour + time.Hour: "400 days",
	} {
		if got := Ago(d); got != want {
			t.Errorf("Ago(%s) = %q, want %q", d, got, want)
		}
	}
}

// On a PostgreSQL Moodle: the pending count, the gap, a rewind since a
// time and a preview.
func TestSteerPostgres(t *testing.T) {
	pg, err := sql.Open("pgx", testpg.New(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := moodletest.Site(pg, 60, true); err != nil {
		t.Fatal(err)
	}
	src := &Source{Name: "pg", DB: pg, Dialect: Postgres, BatchSize: 25, Options: Options{WWWRoot: "https://moodle.example.org"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s := &Syncer{Source: src, Sink: newMemSink()}
	if _, err := s.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Exec("INSERT INTO mdl_logstore_standard_log (id, eventname, component, action, target, contextlevel, contextinstanceid, userid, courseid, anonymous, other, timecreated) VALUES (70, '\\core\\event\\course_viewed', 'core', 'viewed', 'course', 50, 2, 4, 2, 0, 'N;', $1)", time.Now().Unix()); err != nil {
		t.Fatal(err)
	}
	p, gap, err := s.Check(context.Background(), 60)
	if err != nil || p.Rows != 1 || p.Latest != 70 || gap == nil || gap.From != 61 || gap.To != 69 {
		t.Fatalf("check: %+v %+v %v", p, gap, err)
	}
	since := time.Unix(1700000000+30, 0)
	st, err := s.Rewind(context.Background(), RewindRequest{Since: &since})
	if err != nil || st.Cursor != 29 {
		t.Fatalf("rewind since row 30: cursor %d, %v", st.Cursor, err)
	}
	pv, err := s.Preview(context.Background(), 9)
	if err != nil || pv.Reason != ReasonUnmapped || !pv.Synced {
		t.Errorf("preview of row 9: %+v %v", pv, err)
	}
	if st, err = s.Run(context.Background(), nil); err != nil || st.Cursor != 60 || st.LastRun.Rows != 31 || st.Waiting == nil {
		t.Errorf("after the rewind: cursor %d, %+v, waiting %+v, %v", st.Cursor, st.LastRun, st.Waiting, err)
	}
}
