package moodle

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/internal/moodletest"
	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/internal/testpg"
	"github.com/xapibridge/bridge/lrs"
)

// memSink records what a sync stores, with its cursor (a fake LRS).
type memSink struct {
	mu     sync.Mutex
	stmts  map[string]map[string]any
	order  []string
	cursor map[string]*lrs.Checkpoint
	// failAfter, when > 0, fails the store call after that many calls.
	calls, failAfter int
	// only, when set, fails a store call holding any other statement id.
	only map[string]bool
	// before, when set, is called at the start of each store call (its
	// number, from 1), as a transaction would begin, outside the lock.
	before func(call int)
	// keys keeps the sources' id keys: testKeys, shared by every memSink
	// as bridges on one database share them, unless a test sets its own.
	keys *memKeys
}

func newMemSink() *memSink {
	return &memSink{stmts: map[string]map[string]any{}, cursor: map[string]*lrs.Checkpoint{}, keys: testKeys}
}

// memKeys is a KeyStore in memory.
type memKeys struct {
	mu   sync.Mutex
	keys map[string]memKey
}

type memKey struct {
	secret  []byte
	through int64
}

func newMemKeys() *memKeys { return &memKeys{keys: map[string]memKey{}} }

// testKeys are the keys every memSink shares.
var testKeys = newMemKeys()

func (k *memKeys) SourceKey(_ context.Context, source string, legacyThrough int64) ([]byte, int64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.keys[source]; ok {
		return c.secret, c.through, nil
	}
	c := memKey{secret: make([]byte, 32), through: legacyThrough}
	rand.Read(c.secret)
	k.keys[source] = c
	return c.secret, c.through, nil
}

// id is the keyed id of a row's statement for source (its key created if
// it has none, from log id 0).
func (k *memKeys) id(source string, logID int64, index int) string {
	secret, _, _ := k.SourceKey(context.Background(), source, 0)
	return KeyedStatementID(secret, "https://moodle.example.org", logID, index)
}

func (m *memSink) SourceKey(ctx context.Context, source string, legacyThrough int64) ([]byte, int64, error) {
	return m.keys.SourceKey(ctx, source, legacyThrough)
}

func (m *memSink) StoreFromSource(_ context.Context, _ *lrs.Principal, stmts []map[string]any, cp *lrs.Checkpoint) (int, []lrs.Rejected, error) {
	m.mu.Lock()
	m.calls++
	call, before := m.calls, m.before
	m.mu.Unlock()
	if before != nil {
		before(call)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAfter > 0 && m.calls > m.failAfter && len(stmts) > 0 {
		return 0, nil, fmt.Errorf("simulated crash")
	}
	for _, s := range stmts {
		if m.only != nil && !m.only[s["id"].(string)] {
			return 0, nil, fmt.Errorf("simulated crash")
		}
	}
	n := 0
	for _, s := range stmts {
		id := s["id"].(string)
		if _, ok := m.stmts[id]; ok {
			continue
		}
		m.stmts[id] = s
		m.order = append(m.order, id)
		n++
	}
	c := *cp
	m.cursor[cp.Source] = &c
	return n, nil, nil
}

func (m *memSink) SyncCursor(_ context.Context, source string) (*lrs.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.cursor[source]; ok {
		cc := *c
		return &cc, nil
	}
	return &lrs.Checkpoint{Source: source}, nil
}

// moodleDB creates a fresh MariaDB database for a Moodle test.
func moodleDB(t testing.TB) *sql.DB {
	t.Helper()
	dsn := testmysql.New(t)
	cfg, _ := mysql.ParseDSN(dsn)
	cfg.MultiStatements = true
	cfg.Params = map[string]string{"sql_mode": "''"}
	c, _ := mysql.NewConnector(cfg)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

func execFile(t testing.TB, db *sql.DB, ddl string) {
	t.Helper()
	if _, err := db.Exec(ddl); err != nil {
		t.Fatalf("loading schema: %v", err)
	}
}

// sharedDDL returns Moodle 4.5's CREATE TABLE statements by table (from
// ../shared/moodle-schema; nil when absent).
func sharedDDL(t *testing.T) map[string]string {
	b, err := os.ReadFile("../../../shared/moodle-schema/moodle-mysql.sql")
	if err != nil {
		return nil
	}
	out := map[string]string{}
	re := regexp.MustCompile("(?s)CREATE TABLE `mdl_([a-z0-9_]+)` \\(.*?\\) ENGINE=[^;]*;")
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		// Fixtures give partial rows (no usernames...): unique keys over
		// columns they leave out would collide, and are not under test.
		out[m[1]] = strings.ReplaceAll(m[0], "UNIQUE KEY", "KEY")
	}
	return out
}

func insertRows(t *testing.T, db *sql.DB, table string, rows []Row) {
	t.Helper()
	for _, r := range rows {
		cols := make([]string, 0, len(r))
		for c := range r {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		args := make([]any, len(cols))
		for i, c := range cols {
			v := r[c]
			switch x := v.(type) {
			case map[string]any, []any:
				b, _ := json.Marshal(x)
				v = string(b)
			case bool:
				if x {
					v = 1
				} else {
					v = 0
				}
			}
			args[i] = v
		}
		q := "INSERT INTO mdl_" + table + " (`" + strings.Join(cols, "`,`") + "`) VALUES (" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("inserting into mdl_%s: %v", table, err)
		}
	}
}

// TestSharedFixturesMariaDB runs every mapped shared fixture through the
// real path: Moodle 4.5's tables in MariaDB, the batched SQL repo, and the
// sync job, then compares with the plugin's statements.
func TestSharedFixturesMariaDB(t *testing.T) {
	fixtures := loadFixtures(t)
	ddl := sharedDDL(t)
	if ddl == nil {
		t.Skip("no ../shared/moodle-schema")
	}
	db := moodleDB(t)
	tables := map[string]bool{"logstore_standard_log": true, "modules": true}
	for _, f := range fixtures {
		for tb := range f.data {
			tables[tb] = true
		}
	}
	for tb := range tables {
		if d, ok := ddl[tb]; ok {
			execFile(t, db, d)
		} else {
			// Plugins outside Moodle's standard set (Totara, face-to-face,
			// questionnaire, certificates): a table from the fixture's columns.
			execFile(t, db, inferredTable(tb, fixtures))
		}
	}
	passed := 0
	dirty := map[string]bool{}
	for _, f := range fixtures {
		if !Mapped(f.eventname) {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			if why, bad := inconsistentFixtures[f.name]; bad {
				t.Skip("inconsistent fixture: " + why)
			}
			for tb := range dirty {
				db.Exec("DELETE FROM mdl_" + tb)
			}
			dirty = map[string]bool{"logstore_standard_log": true}
			for tb := range f.data {
				dirty[tb] = true
			}
			for tb, rows := range f.data {
				insertRows(t, db, tb, rows)
			}
			ev := Row{}
			for k, v := range f.event {
				if k != "objecttable" || v != nil {
					ev[k] = v
				}
			}
			if !ev.Has("contextlevel") && ev.Has("contextinstanceid") {
				ev["contextlevel"] = int64(70)
			}
			insertRows(t, db, "logstore_standard_log", []Row{ev})
			sink := newMemSink()
			s := &Syncer{Sink: sink, Source: &Source{Name: "fx", DB: db, Dialect: MySQL, Options: fixtureOptions(f.config)}}
			st, err := s.Run(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(sink.order) != len(f.expected) {
				t.Fatalf("%d statements, want %d (skipped: %v)", len(sink.order), len(f.expected), st.Skipped)
			}
			for i, id := range sink.order {
				g, w := normalise(sink.stmts[id]), normalise(f.expected[i])
				if !reflect.DeepEqual(g, w) {
					gb, _ := json.Marshal(g)
					wb, _ := json.Marshal(w)
					t.Errorf("statement %d differs\ngot:  %s\nwant: %s", i, gb, wb)
				}
			}
			if !t.Failed() {
				passed++
			}
		})
	}
	t.Logf("%d mapped fixtures pass through MariaDB", passed)
}

func seedSite(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	if err := moodletest.Site(db, n, false); err != nil {
		t.Fatal(err)
	}
}

func TestSyncEdgeCasesAndResume(t *testing.T) {
	for _, writers := range []int{1, 2} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) { testSyncEdgeCasesAndResume(t, writers) })
	}
}

// testSyncEdgeCasesAndResume runs with writers batches stored at once.
func testSyncEdgeCasesAndResume(t *testing.T, writers int) {
	db := moodleDB(t)
	seedSite(t, db, 250)
	sink := newMemSink()
	src := &Source{Name: "site", DB: db, Dialect: MySQL, BatchSize: 40, Options: Options{WWWRoot: "https://moodle.example.org/"}}

	// A crash after three batches: what was committed stays, the rest is
	// read again; nothing is stored twice. The crash comes at the fourth
	// batch in log order, not at the fourth store call: with two writers,
	// batch 4's call can come before batch 3's. A run with one writer,
	// whose calls are in log order, says which statements rows 1..120 give.
	first := newMemSink()
	first.failAfter = 3
	if _, err := (&Syncer{Source: src, Sink: first, Writers: 1}).Run(context.Background(), nil); err == nil {
		t.Fatal("simulated crash did not surface")
	}
	sink.only = map[string]bool{}
	for id := range first.stmts {
		sink.only[id] = true
	}
	if _, err := (&Syncer{Source: src, Sink: sink, Writers: writers}).Run(context.Background(), nil); err == nil {
		t.Fatal("simulated crash did not surface")
	}
	partial := len(sink.stmts)
	if partial == 0 || sink.cursor["site"].Position != 120 {
		t.Fatalf("after the crash: %d statements, cursor %d (want 120)", partial, sink.cursor["site"].Position)
	}
	sink.only = nil
	var progress []int64
	st, err := (&Syncer{Source: src, Sink: sink, Writers: writers}).Run(context.Background(), func(done, total int64) { progress = append(progress, done) })
	if err != nil {
		t.Fatal(err)
	}
	// 250 rows: 4 skipped by design (deleted user, guest, anonymous, unknown event).
	if len(sink.stmts) != 246 || st.Cursor != 250 || st.Behind() != 0 {
		t.Fatalf("%d statements, cursor %d, behind %d; want 246, 250, 0 (skipped %v)", len(sink.stmts), st.Cursor, st.Behind(), st.Skipped)
	}
	want := map[string]int64{"missing user record": 1, "guest user": 1, "anonymous event": 1,
		`event \local_custom\event\something_happened is not mapped`: 1}
	if !reflect.DeepEqual(st.Skipped, want) {
		t.Errorf("skipped %v, want %v", st.Skipped, want)
	}
	if len(progress) == 0 || progress[len(progress)-1] != 130 {
		t.Errorf("progress %v", progress)
	}
	// Ids are deterministic: a fresh sync into another sink with the same
	// key (another bridge on the database) gives the same; with another
	// key, other ids.
	other := newMemSink()
	(&Syncer{Source: src, Sink: other, Writers: writers}).Run(context.Background(), nil)
	a, b := slices.Sorted(mapsKeys(sink.stmts)), slices.Sorted(mapsKeys(other.stmts))
	if !slices.Equal(a, b) {
		t.Error("statement ids differ between two syncs of the same log")
	}
	rekeyed := newMemSink()
	rekeyed.keys = newMemKeys()
	(&Syncer{Source: src, Sink: rekeyed, Writers: writers}).Run(context.Background(), nil)
	if c := slices.Sorted(mapsKeys(rekeyed.stmts)); len(c) != len(a) || slices.ContainsFunc(c, func(id string) bool { return sink.stmts[id] != nil }) {
		t.Error("a sync with another key gave some of the same ids")
	}
	if id := testKeys.id("site", 2, 0); sink.stmts[id] == nil {
		t.Errorf("statement of log row 2 not stored under %s", id)
	}
	// Nothing new: a run reads nothing and changes nothing.
	st2, _ := (&Syncer{Source: src, Sink: sink, Writers: writers}).Run(context.Background(), nil)
	if st2.RowsRead != st.RowsRead || len(sink.stmts) != 246 {
		t.Errorf("idle run changed things: rows %d -> %d", st.RowsRead, st2.RowsRead)
	}
}

func mapsKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestSyncFilters(t *testing.T) {
	db := moodleDB(t)
	seedSite(t, db, 20)
	cases := []struct {
		name string
		mod  func(*Source)
		want int
	}{
		{"allow list", func(s *Source) { s.AllowEvents = []string{`\core\event\course_viewed`} }, 10},
		{"deny list", func(s *Source) { s.DenyEvents = []string{`\core\event\course_viewed`} }, 6},
		{"other course", func(s *Source) { s.Courses = []int64{99} }, 0},
		{"excluded course", func(s *Source) { s.ExcludeCourses = []int64{2} }, 0},
		{"category", func(s *Source) { s.Categories = []int64{3} }, 16},
		{"excluded category", func(s *Source) { s.ExcludeCategories = []int64{3} }, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := &Source{Name: tc.name, DB: db, Dialect: MySQL, Options: Options{WWWRoot: "https://moodle.example.org"}}
			tc.mod(src)
			sink := newMemSink()
			if _, err := (&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if len(sink.stmts) != tc.want {
				t.Errorf("%d statements, want %d", len(sink.stmts), tc.want)
			}
		})
	}
}

// inferredTable builds a CREATE TABLE for a table outside Moodle's schema
// from the columns the fixtures give it.
func inferredTable(table string, fixtures []fixture) string {
	cols := map[string]string{"id": "BIGINT"}
	for _, f := range fixtures {
		for _, r := range f.data[table] {
			for c, v := range r {
				if c == "id" {
					continue
				}
				typ := "LONGTEXT"
				switch v.(type) {
				case int64:
					typ = "BIGINT"
				case float64:
					typ = "DOUBLE"
				}
				if old, ok := cols[c]; !ok || old == typ {
					cols[c] = typ
				} else {
					cols[c] = "LONGTEXT"
				}
			}
		}
	}
	names := make([]string, 0, len(cols))
	for c := range cols {
		names = append(names, c)
	}
	sort.Strings(names)
	var defs []string
	for _, c := range names {
		defs = append(defs, "`"+c+"` "+cols[c])
	}
	return "CREATE TABLE mdl_" + table + " (" + strings.Join(defs, ", ") + ", PRIMARY KEY (id))"
}

// TestSyncPostgres: the same site on a PostgreSQL Moodle database gives the
// same statements (ids included) as on MariaDB.
func TestSyncPostgres(t *testing.T) {
	pg, err := sql.Open("pgx", testpg.New(t))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if err := moodletest.Site(pg, 120, true); err != nil {
		t.Fatal(err)
	}
	my := moodleDB(t)
	seedSite(t, my, 120)
	opts := Options{WWWRoot: "https://moodle.example.org"}
	pgSink, mySink := newMemSink(), newMemSink()
	// One source name: one key, so the ids compare.
	st, err := (&Syncer{Sink: pgSink, Source: &Source{Name: "pgmy", DB: pg, Dialect: Postgres, BatchSize: 50, Options: opts}}).Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Syncer{Sink: mySink, Source: &Source{Name: "pgmy", DB: my, Dialect: MySQL, BatchSize: 50, Options: opts}}).Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(pgSink.stmts) != 116 || st.Cursor != 120 {
		t.Fatalf("postgres: %d statements, cursor %d (skipped %v)", len(pgSink.stmts), st.Cursor, st.Skipped)
	}
	for id, s := range mySink.stmts {
		if !reflect.DeepEqual(normalise(s), normalise(pgSink.stmts[id])) {
			t.Fatalf("statement %s differs between MariaDB and PostgreSQL:\n%v\n%v", id, s, pgSink.stmts[id])
		}
	}
}

// TestSyncWaitsForGapsToSettle: Moodle requests may commit their log rows
// out of id order; the sync must not move its cursor past a recent gap (a
// row that may still appear), but does move past old gaps (rolled back).
func TestSyncWaitsForGapsToSettle(t *testing.T) {
	db := moodleDB(t)
	seedSite(t, db, 30)
	now := time.Now().Unix()
	// Row 15 is "not committed yet"; the rows after it are recent.
	var row15 []any
	r := db.QueryRow("SELECT eventname, userid, contextlevel, contextinstanceid FROM mdl_logstore_standard_log WHERE id = 15")
	var ev string
	var user, level, inst int64
	if err := r.Scan(&ev, &user, &level, &inst); err != nil {
		t.Fatal(err)
	}
	row15 = []any{ev, user, level, inst}
	db.Exec("DELETE FROM mdl_logstore_standard_log WHERE id = 15")
	db.Exec("UPDATE mdl_logstore_standard_log SET timecreated = ? WHERE id > 15", now)
	// An old gap (a rolled-back id) is passed over.
	db.Exec("DELETE FROM mdl_logstore_standard_log WHERE id = 8")

	sink := newMemSink()
	src := &Source{Name: "gaps", DB: db, Dialect: MySQL, BatchSize: 10, Options: Options{WWWRoot: "https://moodle.example.org"}}
	st, err := (&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cursor != 14 {
		t.Fatalf("cursor %d, want 14 (stopped before the recent gap at 15)", st.Cursor)
	}
	// Row 15 commits: the next run reads it and the rest.
	if _, err := db.Exec("INSERT INTO mdl_logstore_standard_log (id, eventname, component, action, target, contextlevel, contextinstanceid, userid, courseid, anonymous, other, timecreated) VALUES (15, ?, 'x', 'viewed', 'x', ?, ?, ?, 2, 0, 'N;', ?)",
		row15[0], row15[2], row15[3], row15[1], now); err != nil {
		t.Fatal(err)
	}
	st, err = (&Syncer{Source: src, Sink: sink}).Run(context.Background(), nil)
	if err != nil || st.Cursor != 30 {
		t.Fatalf("after the gap filled: cursor %d, %v", st.Cursor, err)
	}
	if sink.stmts[testKeys.id("gaps", 15, 0)] == nil {
		t.Error("the late row 15 was not synced")
	}
}
