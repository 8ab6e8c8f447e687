package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/internal/moodletest"
	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store" // also registers driver "sqlite"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// moodleSite is a test Moodle (moodletest.Site with n rows, in MariaDB)
// and a bridge config reading it into a SQLite bridge database.
type moodleSite struct {
	t      *testing.T
	db     *sql.DB // Moodle's
	dir    string
	config string
}

func newMoodleSite(t *testing.T, n int, extra string) *moodleSite {
	t.Helper()
	dsn := testmysql.New(t)
	cfg, _ := mysql.ParseDSN(dsn)
	c, _ := mysql.NewConnector(cfg)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	if err := moodletest.Site(db, n, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "bridge.yaml")
	yaml := fmt.Sprintf(`data_dir: %q
log: {level: warn}
moodle:
  sources:
    - name: site
      dsn: %q
      wwwroot: https://moodle.example.org
      batch_size: 40
%s`, filepath.Join(dir, "data"), dsn, extra)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &moodleSite{t: t, db: db, dir: dir, config: path}
}

// run runs the bridge command line; it fails the test on an error unless
// wantErr.
func (m *moodleSite) run(wantErr bool, args ...string) string {
	m.t.Helper()
	var out, errw bytes.Buffer
	err := Execute(context.Background(), "test", append(args, "--config", m.config), &out, &errw)
	if (err != nil) != wantErr {
		m.t.Fatalf("bridge %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errw.String())
	}
	if err != nil {
		return err.Error()
	}
	return out.String() + errw.String()
}

// bridgeDB opens the bridge's database as another bridge would.
func (m *moodleSite) bridgeDB() *store.DB {
	m.t.Helper()
	db, err := store.Open(context.Background(), store.SQLite, filepath.Join(m.dir, "data", "bridge.db"), store.Options{})
	if err != nil {
		m.t.Fatal(err)
	}
	m.t.Cleanup(func() { db.Close() })
	return db
}

// keyedID is the keyed id of a row's statement, with the source's key.
func (m *moodleSite) keyedID(logID int64, index int) string {
	m.t.Helper()
	secret, _, err := m.bridgeDB().SourceKey(context.Background(), "site", 0)
	if err != nil {
		m.t.Fatal(err)
	}
	return moodle.KeyedStatementID(secret, "https://moodle.example.org", logID, index)
}

func (m *moodleSite) statements() int64 {
	m.t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(m.dir, "data", "bridge.db"))
	if err != nil {
		m.t.Fatal(err)
	}
	defer db.Close()
	var n int64
	if err := db.QueryRow("SELECT COUNT(*) FROM statements").Scan(&n); err != nil {
		m.t.Fatal(err)
	}
	return n
}

// mustContain checks out has each of wants, with runs of spaces (the
// columns of status) taken as one.
func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(squeeze(out), squeeze(w)) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

var spaces = regexp.MustCompile(` {2,}`)

func squeeze(s string) string { return spaces.ReplaceAllString(s, " ") }

// `sync --once` says what this run did, by reason, besides the totals.
func TestMoodleSyncOnceSummary(t *testing.T) {
	m := newMoodleSite(t, 250, "")
	out := m.run(false, "moodle", "sync", "--once")
	mustContain(t, out, "site: this run: 250 rows, 246 statements, 4 skipped (unmapped 1, anonymous 1, guest 1, deleted_user 1) in ",
		"site: cursor 250 of 250 (0 behind); 250 rows read, 246 statements stored in total")
	if err := moodletest.AppendLog(m.db, 251, 260, false); err != nil {
		t.Fatal(err)
	}
	out = m.run(false, "moodle", "sync", "--once")
	mustContain(t, out, "site: this run: 10 rows, 10 statements, 0 skipped in ", "260 rows read, 256 statements stored in total")
}

// A recent gap in log ids: `sync --once` waits it out (gap_wait at most)
// and says so, or with --no-wait says it stopped short and why; status
// says why the cursor waits.
func TestMoodleSyncOnceWaitsForGap(t *testing.T) {
	m := newMoodleSite(t, 10, "      gap_wait: 2s\n")
	m.run(false, "moodle", "sync", "--once")
	if err := moodletest.AppendLog(m.db, 11, 30, false); err != nil {
		t.Fatal(err)
	}
	m.db.Exec("DELETE FROM mdl_logstore_standard_log WHERE id = 15")
	m.db.Exec("UPDATE mdl_logstore_standard_log SET timecreated = ? WHERE id > 15", time.Now().Unix())

	out := m.run(false, "moodle", "sync", "--once", "--no-wait")
	if !regexp.MustCompile(`site: stopped short: waiting [12] s for log ids 15–15 \(a gap; rows may still be committing\); run again to go on`).MatchString(out) {
		t.Errorf("no-wait run: %s", out)
	}
	mustContain(t, out, "site: cursor 14 of 30 (15 behind, the oldest ")
	out = m.run(false, "moodle", "status")
	if !regexp.MustCompile(`gap\s+waiting [12] s for log ids 15–15 \(a gap; rows may still be committing\)`).MatchString(out) {
		t.Errorf("status: %s", out)
	}
	mustContain(t, out, "cursor 14 of 30 (15 behind)", "behind 15 rows, the oldest ", "gap wait 2s")

	start := time.Now()
	out = m.run(false, "moodle", "sync", "--once")
	took := time.Since(start)
	mustContain(t, out, "site: this run: 15 rows, 15 statements, 0 skipped", "site: cursor 30 of 30 (0 behind)", "for gaps in log ids to settle")
	if strings.Contains(out, "stopped short") || took > 5*time.Second {
		t.Errorf("waited %s: %s", took, out)
	}
}

// Behind is rows and time, not the distance between ids.
func TestMoodleStatusBehindInRows(t *testing.T) {
	m := newMoodleSite(t, 20, "")
	m.run(false, "moodle", "sync", "--once")
	created := time.Now().Add(-2 * time.Minute)
	if _, err := m.db.Exec(`INSERT INTO mdl_logstore_standard_log (id, eventname, component, action, target, contextlevel, contextinstanceid, userid, courseid, anonymous, other, timecreated)
		VALUES (30020, '\\core\\event\\course_viewed', 'core', 'viewed', 'course', 50, 2, 4, 2, 0, 'N;', ?)`, created.Unix()); err != nil {
		t.Fatal(err)
	}
	out := m.run(false, "moodle", "status")
	mustContain(t, out, "cursor 20 of 30020 (1 behind)", "(created "+created.UTC().Format(time.RFC3339)+")")
	if !regexp.MustCompile(`behind\s+1 row, the oldest 2m[01]s old`).MatchString(out) {
		t.Errorf("status: %s", out)
	}
	// The gap is old: the next sync passes it.
	out = m.run(false, "moodle", "sync", "--once")
	mustContain(t, out, "this run: 1 row, 1 statement, 0 skipped", "cursor 30020 of 30020 (0 behind)")
}

// bridge moodle rewind --to / --since sets the cursor back; the next sync
// reads the rows again and stores nothing twice.
func TestMoodleRewindCommand(t *testing.T) {
	m := newMoodleSite(t, 250, "")
	m.run(false, "moodle", "sync", "--once")
	out := m.run(false, "moodle", "rewind", "--source", "site", "--to", "100")
	mustContain(t, out, "site: cursor 250 -> 100; the next sync reads the log rows after id 100")
	out = m.run(false, "moodle", "status")
	mustContain(t, out, "cursor 100 of 250 (150 behind)", "last rewind", "from 250 to 100 by cli")
	out = m.run(false, "moodle", "sync", "--once")
	mustContain(t, out, "this run: 150 rows, 0 statements, 0 skipped", "cursor 250 of 250 (0 behind)")
	if n := m.statements(); n != 246 {
		t.Errorf("%d statements stored, want 246", n)
	}
	// Since a time: row i was created at 1700000000+i.
	out = m.run(false, "moodle", "rewind", "--since", time.Unix(1700000200, 0).UTC().Format(time.RFC3339))
	mustContain(t, out, "site: cursor 250 -> 199 (the rows created since 2023-11-14T22:16:40Z)")
	out = m.run(false, "moodle", "rewind", "--since", "2023-11-14")
	mustContain(t, out, "site: cursor 199 -> 0 (the rows created since 2023-11-14T00:00:00Z)")
	out = m.run(false, "moodle", "sync", "--once")
	mustContain(t, out, "this run: 250 rows, 0 statements, 4 skipped")
	if n := m.statements(); n != 246 {
		t.Errorf("%d statements stored, want 246", n)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "300"}, "log id 300 is past the cursor (250)"},
		{[]string{"--to", "-1"}, "is not a log id"},
		{nil, "give --to LOGID or --since TIME"},
		{[]string{"--to", "1", "--since", "2025-01-01"}, "give --to LOGID or --since TIME"},
		{[]string{"--since", "last week"}, `"last week" is not a date`},
		{[]string{"--source", "nope", "--to", "1"}, `no Moodle source named "nope"`},
	} {
		out := m.run(true, append([]string{"moodle", "rewind"}, bad.args...)...)
		mustContain(t, out, bad.want)
	}
}

// bridge moodle preview prints what a row becomes, or why it is skipped,
// and stores nothing.
func TestMoodlePreviewCommand(t *testing.T) {
	m := newMoodleSite(t, 20, "")
	var out, errw bytes.Buffer
	if err := Execute(context.Background(), "test", []string{"moodle", "preview", "--log-id", "2", "--config", m.config}, &out, &errw); err != nil {
		t.Fatal(err)
	}
	var stmts []map[string]any
	if err := json.Unmarshal(out.Bytes(), &stmts); err != nil || len(stmts) != 1 {
		t.Fatalf("stdout is not the statements: %v\n%s", err, out.String())
	}
	// The id a sync gives it: keyed with the source's key, which the
	// preview created (a fresh source: keyed from row 0), not the public id.
	if id := m.keyedID(2, 0); stmts[0]["id"] != id || id == moodle.LegacyStatementID("https://moodle.example.org", 2, 0) || !strings.Contains(out.String(), "\n  {\n    \"actor\"") {
		t.Errorf("statement (want id %s) %s", id, out.String())
	}
	mustContain(t, errw.String(), `log id 2: \core\event\course_viewed at 2023-11-14T22:13:22Z (not synced yet, cursor 0): 1 statement (previewed, not stored)`)
	got := m.run(false, "moodle", "preview", "--source", "site", "--log-id", "9")
	mustContain(t, got, `skipped (unmapped): event \local_custom\event\something_happened is not mapped`)
	got = m.run(false, "moodle", "preview", "--log-id", "3")
	mustContain(t, got, "skipped (deleted_user): missing user record")
	mustContain(t, m.run(true, "moodle", "preview", "--log-id", "99"), "has no row with id 99")
	mustContain(t, m.run(true, "moodle", "preview"), "give --log-id N")
	if n := m.statements(); n != 0 {
		t.Errorf("a preview stored %d statements", n)
	}
	mustContain(t, m.run(false, "moodle", "status"), "cursor 0 of 20 (20 behind)", "last run never")
}

// A statement id of the source's taken by another credential's statement
// is a conflict: `sync --once` says so with the row, `status` counts and
// lists it, `preview` warns of it; the key never shows.
func TestMoodleConflictsShown(t *testing.T) {
	m := newMoodleSite(t, 20, "")
	m.run(false, "moodle", "sync", "--once")
	if err := moodletest.AppendLog(m.db, 21, 30, false); err != nil {
		t.Fatal(err)
	}
	id := m.keyedID(25, 0)
	db := m.bridgeDB()
	intruder := &lrs.Principal{Key: "intruder", StoreID: 1, Scopes: []string{lrs.ScopeStatementsWrite},
		Authority: map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://bridge", "name": "intruder"}}}
	forged := map[string]any{"id": id, "actor": map[string]any{"mbox": "mailto:x@example.org"},
		"verb": map[string]any{"id": "http://adlnet.gov/expapi/verbs/passed"}, "object": map[string]any{"id": "http://example.org/quiz"}}
	if _, err := (&lrs.Service{Statements: db}).StoreStatements(context.Background(), intruder, xapi.V103, []map[string]any{forged}, false, nil); err != nil {
		t.Fatal(err)
	}
	got := m.run(false, "moodle", "preview", "--log-id", "25")
	mustContain(t, got, "statement 0: id "+id+" is taken (another authority): a sync counts a conflict and does not store it")
	out := m.run(false, "moodle", "sync", "--once")
	mustContain(t, out, "site: this run: 10 rows, 9 statements, 0 skipped, 1 conflict in ",
		"site: 1 conflict: statement ids taken by statements of another authority or with other content",
		"site:   log id 25 #0: "+id+" (another authority)")
	status := m.run(false, "moodle", "status")
	mustContain(t, status, "conflicts 1 (statement ids taken", "conflict log id 25 #0 "+id+" another authority",
		"ids keyed with the source's key\n")
	secret, _, _ := db.SourceKey(context.Background(), "site", 0)
	for _, o := range []string{got, out, status} {
		if strings.Contains(o, fmt.Sprintf("%x", secret)) || strings.Contains(o, base64.StdEncoding.EncodeToString(secret)) {
			t.Errorf("the key shows: %s", o)
		}
	}
}

// slowSink stores nothing, slowly: each batch takes delay.
type slowSink struct {
	mu    sync.Mutex
	delay time.Duration
	cp    map[string]*lrs.Checkpoint
}

func (s *slowSink) StoreFromSource(_ context.Context, _ *lrs.Principal, stmts []map[string]any, cp *lrs.Checkpoint) (int, []lrs.Rejected, error) {
	if len(stmts) > 0 {
		time.Sleep(s.delay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *cp
	s.cp[cp.Source] = &c
	return len(stmts), nil, nil
}

func (s *slowSink) SourceKey(_ context.Context, _ string, _ int64) ([]byte, int64, error) {
	k := make([]byte, 32)
	rand.Read(k)
	return k, 0, nil
}

func (s *slowSink) SyncCursor(_ context.Context, source string) (*lrs.Checkpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cp[source]; ok {
		cc := *c
		return &cc, nil
	}
	return &lrs.Checkpoint{Source: source}, nil
}

var rateRE = regexp.MustCompile(`(\d+) rows/s`)

// The progress bar's rate counts from the start of the run: the first
// batch does not show as an absurd rate (it did, because the bar was made
// when the first batch was done).
func TestMoodleProgressRate(t *testing.T) {
	m := newMoodleSite(t, 400, "")
	const batch, delay = 40, 40 * time.Millisecond
	src := &moodle.Source{Name: "site", DB: m.db, Dialect: moodle.MySQL, BatchSize: batch, Options: moodle.Options{WWWRoot: "https://moodle.example.org"}}
	s := &moodle.Syncer{Source: src, Sink: &slowSink{delay: delay, cp: map[string]*lrs.Checkpoint{}}}
	var buf bytes.Buffer
	progress, finish := newProgress(&buf, "site")
	if _, err := s.Run(context.Background(), progress); err != nil {
		t.Fatal(err)
	}
	finish()
	// At most a batch per delay, so the true rate is at most 1000 rows/s;
	// allow twice that for the way the bar averages.
	max := 2 * int(float64(batch)/delay.Seconds())
	rates := rateRE.FindAllStringSubmatch(buf.String(), -1)
	if len(rates) == 0 {
		t.Fatalf("no rate shown: %q", buf.String())
	}
	for _, r := range rates {
		if n, _ := strconv.Atoi(r[1]); n > max {
			t.Errorf("the bar showed %d rows/s; at most %d rows/s are possible:\n%q", n, max, buf.String())
			break
		}
	}
	if !strings.Contains(buf.String(), "400/400") {
		t.Errorf("the bar did not finish: %q", buf.String())
	}
}
