package integration_test

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/google/uuid"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/internal/moodletest"
	"github.com/xapibridge/bridge/internal/testmysql"
)

func openMySQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, _ := mysql.ParseDSN(dsn)
	c, _ := mysql.NewConnector(cfg)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

const moodleConfig = `listen: 127.0.0.1:0
database:
  driver: mysql
  dsn: "%s"
  auto_migrate: true
credentials:
  - key: admin
    secret: admin-secret-0123456789
admin:
  tokens: [moodle-admin-token-0123456789]
moodle:
  sources:
    - name: site
      dsn: "%s"
      wwwroot: https://moodle.example.org
      batch_size: %d
      schedule: "@every 1s"
`

// TestMoodleBackfillKilledAndResumed: a backfill killed with SIGKILL at an
// arbitrary point and run again stores each log row's statements exactly
// once; then `bridge serve` keeps syncing new rows on its schedule.
func TestMoodleBackfillKilledAndResumed(t *testing.T) {
	moodleDSN := testmysql.New(t)
	bridgeDSN := testmysql.New(t)
	mdb := openMySQL(t, moodleDSN)
	const rows = 30000
	if err := moodletest.Site(mdb, rows, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(moodleConfig, bridgeDSN, moodleDSN, 500)), 0o600)
	bdb := openMySQL(t, bridgeDSN)

	cursor := func() int64 {
		var n int64
		bdb.QueryRow("SELECT position FROM sync_cursors WHERE source = 'site'").Scan(&n)
		return n
	}
	cmd := exec.Command(bridgeBin, "moodle", "sync", "--once", "--config", cfg)
	cmd.Env = cleanEnv()
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for cursor() < 3000 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	killedAt := cursor()
	if killedAt == 0 || killedAt >= rows {
		t.Fatalf("the kill did not land mid-backfill (cursor %d)", killedAt)
	}
	var stored int64
	bdb.QueryRow("SELECT COUNT(*) FROM statements").Scan(&stored)
	t.Logf("killed at cursor %d with %d statements stored", killedAt, stored)

	out, code := runBridge(t, dir, nil, "moodle", "sync", "--once", "--config", cfg)
	if code != 0 {
		t.Fatalf("resumed sync: exit %d: %s", code, out)
	}
	bdb.QueryRow("SELECT COUNT(*) FROM statements").Scan(&stored)
	if stored != rows-4 || cursor() != rows {
		t.Fatalf("after resume: %d statements, cursor %d; want %d and %d", stored, cursor(), rows-4, rows)
	}
	var distinct int64
	bdb.QueryRow("SELECT COUNT(DISTINCT id) FROM statements").Scan(&distinct)
	if distinct != stored {
		t.Fatalf("%d statements but %d distinct ids", stored, distinct)
	}

	// Each Moodle user became one person with their three identities.
	var persons, agents int64
	bdb.QueryRow("SELECT COUNT(*) FROM persons").Scan(&persons)
	bdb.QueryRow("SELECT COUNT(*) FROM person_agents").Scan(&agents)
	if persons != 10 || agents != 30 {
		t.Errorf("%d persons with %d agents, want 10 with 30 (user id, username, email)", persons, agents)
	}

	out, code = runBridge(t, dir, nil, "moodle", "status", "--config", cfg)
	for _, want := range []string{"cursor", "30000 of 30000 (0 behind)", "missing user record", "guest user", "anonymous event", "is not mapped"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status lacks %q: %s", want, out)
		}
	}

	// The server syncs new rows on the source's schedule.
	p := startBridge(t, dir, nil, "serve", "--config", cfg)
	if err := moodletest.AppendLog(mdb, rows+1, rows+10, false); err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, endpoint: p.endpoint, user: "admin", secret: "admin-secret-0123456789", version: "2.0.0"}
	deadline = time.Now().Add(20 * time.Second)
	for cursor() < rows+10 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	r := c.expect(200, "GET", "/statements?limit=1", nil)
	if !strings.Contains(string(r.Body), "moodle.example.org") {
		t.Errorf("newest statement: %s", r.Body)
	}
	bdb.QueryRow("SELECT COUNT(*) FROM statements").Scan(&stored)
	if stored != rows+10-4 {
		t.Errorf("after scheduled sync: %d statements, want %d", stored, rows+10-4)
	}
	var srcs struct {
		Sources []struct {
			Name    string
			Cursor  int64
			Behind  int64
			Skipped map[string]int64
		}
	}
	c.expect(200, "GET", p.base+"/api/v1/moodle/sources", nil, "Authorization", "Bearer moodle-admin-token-0123456789").JSON(t, &srcs)
	if len(srcs.Sources) != 1 || srcs.Sources[0].Name != "site" || srcs.Sources[0].Cursor != rows+10 || srcs.Sources[0].Skipped["guest user"] != 1 {
		t.Errorf("admin API moodle status: %+v", srcs)
	}
	metrics := string(c.expect(200, "GET", p.base+"/metrics", nil).Body)
	if !strings.Contains(metrics, `bridge_moodle_cursor{source="site"} 30010`) {
		t.Errorf("metrics lack the moodle cursor")
	}
	if !strings.Contains(metrics, `bridge_moodle_conflicts_total{source="site"} 0`) {
		t.Errorf("metrics lack the moodle conflicts")
	}
}

// TestMoodleTwoProcessesShareKey: two `bridge moodle sync --once` on one
// bridge database, started together on a source that has no key yet, make
// one key between them (in the database, source_keys): each row is stored
// once, under its keyed id, not its public one.
func TestMoodleTwoProcessesShareKey(t *testing.T) {
	moodleDSN := testmysql.New(t)
	bridgeDSN := testmysql.New(t)
	mdb := openMySQL(t, moodleDSN)
	const rows = 6000
	if err := moodletest.Site(mdb, rows, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(moodleConfig, bridgeDSN, moodleDSN, 200)), 0o600)
	// Migrated first, so that both processes start at the sync.
	if out, code := runBridge(t, dir, nil, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, out)
	}
	var wg sync.WaitGroup
	outs, codes := make([]string, 2), make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], codes[i] = runBridge(t, dir, nil, "moodle", "sync", "--once", "--config", cfg)
		}()
	}
	wg.Wait()
	for i := range 2 {
		if codes[i] != 0 {
			t.Fatalf("sync %d: exit %d: %s", i, codes[i], outs[i])
		}
	}
	bdb := openMySQL(t, bridgeDSN)
	var stored, distinct, keys int64
	bdb.QueryRow("SELECT COUNT(*), COUNT(DISTINCT id) FROM statements").Scan(&stored, &distinct)
	if stored != rows-4 || distinct != stored {
		t.Fatalf("%d statements (%d distinct), want %d", stored, distinct, rows-4)
	}
	var secret []byte
	var through int64
	bdb.QueryRow("SELECT COUNT(*) FROM source_keys").Scan(&keys)
	if err := bdb.QueryRow("SELECT secret, legacy_through FROM source_keys WHERE source = 'site'").Scan(&secret, &through); err != nil || keys != 1 || len(secret) != 32 || through != 0 {
		t.Fatalf("source_keys: %d rows, %d-byte key, legacy through %d, %v", keys, len(secret), through, err)
	}
	has := func(id string) bool {
		var n int
		u := uuid.MustParse(id)
		bdb.QueryRow("SELECT COUNT(*) FROM statements WHERE id = ?", u[:]).Scan(&n)
		return n == 1
	}
	for _, logID := range []int64{2, 4321, rows} {
		if !has(moodle.KeyedStatementID(secret, "https://moodle.example.org", logID, 0)) || has(moodle.LegacyStatementID("https://moodle.example.org", logID, 0)) {
			t.Errorf("row %d is not stored under its keyed id alone", logID)
		}
	}
	for i := range 2 {
		if strings.Contains(outs[i], fmt.Sprintf("%x", secret)) || strings.Contains(outs[i], "conflict") {
			t.Errorf("sync %d says: %s", i, outs[i])
		}
	}
}

// TestMoodleRewindWhileServing: `bridge serve` is backfilling a source when
// an admin rewinds it through the admin API, and again from another
// process with `bridge moodle rewind`: neither rewind is lost to the
// running sync (whose batches each write their own cursor), the rows are
// read again, and no statement is stored twice. The admin API and the
// metrics show behind in rows and time and the skips by fixed reason.
func TestMoodleRewindWhileServing(t *testing.T) {
	moodleDSN := testmysql.New(t)
	bridgeDSN := testmysql.New(t)
	mdb := openMySQL(t, moodleDSN)
	const rows = 30000
	if err := moodletest.Site(mdb, rows, false); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(moodleConfig, bridgeDSN, moodleDSN, 200)), 0o600)
	bdb := openMySQL(t, bridgeDSN)
	cursor := func() int64 {
		var n int64
		bdb.QueryRow("SELECT position FROM sync_cursors WHERE source = 'site'").Scan(&n)
		return n
	}
	type source struct {
		Name            string
		Cursor          int64
		Behind          int64
		BehindAtLeast   bool `json:"behind_at_least"`
		BehindIDs       int64
		RowsRead        int64            `json:"rows_read"`
		Skipped         map[string]int64 `json:"skipped"`
		SkippedByReason map[string]int64 `json:"skipped_by_reason"`
		UnmappedEvents  []struct {
			Event string
			Rows  int64
		} `json:"unmapped_events"`
		OldestPendingAge float64 `json:"oldest_pending_age_seconds"`
		LastRewind       *struct {
			ID       string
			From, To int64
			By       string
		} `json:"last_rewind"`
		RewindApplied string `json:"rewind_applied"`
	}
	p := startBridge(t, dir, nil, "serve", "--config", cfg)
	c := &client{t: t, endpoint: p.endpoint, user: "admin", secret: "admin-secret-0123456789", version: "2.0.0"}
	auth := []string{"Authorization", "Bearer moodle-admin-token-0123456789"}
	sources := func() source {
		var srcs struct{ Sources []source }
		c.expect(200, "GET", p.base+"/api/v1/moodle/sources", nil, auth...).JSON(t, &srcs)
		if len(srcs.Sources) != 1 {
			t.Fatalf("sources %+v", srcs)
		}
		return srcs.Sources[0]
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; serve's log:\n%s", what, p.Stderr())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("the backfill to be under way", func() bool { return cursor() >= 3000 })

	var rw source
	c.expect(200, "POST", p.base+"/api/v1/moodle/sources/site/rewind", map[string]any{"to": 500}, auth...).JSON(t, &rw)
	if rw.Cursor != 500 || rw.LastRewind == nil || rw.LastRewind.To != 500 || rw.LastRewind.From < 3000 || rw.LastRewind.By != "admin api" {
		t.Fatalf("rewind answer %+v", rw)
	}
	from := rw.LastRewind.From
	waitFor("the sync to finish", func() bool {
		s := sources()
		return s.Cursor == rows && s.RewindApplied == rw.LastRewind.ID
	})
	t.Logf("rewound from %d to 500; applied by a running sync: %v", from, strings.Contains(p.Stderr(), "moodle sync rewound while running"))
	var stored, distinct int64
	bdb.QueryRow("SELECT COUNT(*), COUNT(DISTINCT id) FROM statements").Scan(&stored, &distinct)
	if stored != rows-4 || distinct != stored {
		t.Fatalf("%d statements (%d distinct), want %d", stored, distinct, rows-4)
	}
	s := sources()
	if s.RowsRead < rows+from-500 || s.Behind != 0 || s.BehindAtLeast || s.BehindIDs != 0 || s.OldestPendingAge != 0 {
		t.Errorf("after the rewind: %+v; want at least %d rows read, nothing behind", s, rows+from-500)
	}
	if s.Skipped["guest user"] != 1 || s.SkippedByReason["guest"] != 1 || s.SkippedByReason["unmapped"] != 1 ||
		len(s.UnmappedEvents) != 1 || s.UnmappedEvents[0].Event != `\local_custom\event\something_happened` {
		t.Errorf("skips %+v %+v %+v", s.Skipped, s.SkippedByReason, s.UnmappedEvents)
	}

	// From another process, since a time (row i was created at
	// 1700000000+i), while the server syncs new rows.
	if err := moodletest.AppendLog(mdb, rows+1, rows+2000, false); err != nil {
		t.Fatal(err)
	}
	before := s.RowsRead
	out, code := runBridge(t, dir, nil, "moodle", "rewind", "--source", "site", "--since", time.Unix(1700000000+25001, 0).UTC().Format(time.RFC3339), "--config", cfg)
	if code != 0 || !strings.Contains(out, "site: cursor ") || !strings.Contains(out, " -> 25000 ") {
		t.Fatalf("bridge moodle rewind: exit %d: %s", code, out)
	}
	waitFor("the sync after the second rewind", func() bool {
		s := sources()
		return s.Cursor == rows+2000 && s.LastRewind != nil && s.LastRewind.To == 25000 && s.RewindApplied == s.LastRewind.ID
	})
	s = sources()
	if s.RowsRead < before+2000+rows-25000 {
		t.Errorf("%d rows read, want at least %d (the rows after 25000 again)", s.RowsRead, before+2000+rows-25000)
	}
	bdb.QueryRow("SELECT COUNT(*), COUNT(DISTINCT id) FROM statements").Scan(&stored, &distinct)
	if stored != rows+2000-4 || distinct != stored {
		t.Fatalf("%d statements (%d distinct), want %d", stored, distinct, rows+2000-4)
	}
	// Rewinds that cannot be.
	c.expect(400, "POST", p.base+"/api/v1/moodle/sources/site/rewind", map[string]any{"to": rows + 5000}, auth...)
	c.expect(400, "POST", p.base+"/api/v1/moodle/sources/site/rewind", map[string]any{"since": "whenever"}, auth...)
	c.expect(404, "POST", p.base+"/api/v1/moodle/sources/nope/rewind", map[string]any{"to": 1}, auth...)

	// The metrics are set when a run has ended, just after it stored its
	// status: wait for the run that finished to be in them.
	var metrics string
	wants := []string{`bridge_moodle_cursor{source="site"} 32000`, `bridge_moodle_behind_rows{source="site"} 0`,
		`bridge_moodle_oldest_pending_age_seconds{source="site"} 0`,
		`bridge_moodle_rows_skipped{reason="unmapped",source="site"} 1`, `bridge_moodle_rows_skipped{reason="guest",source="site"} 1`}
	deadline := time.Now().Add(10 * time.Second)
	for {
		metrics = string(c.expect(200, "GET", p.base+"/metrics", nil).Body)
		missing := ""
		for _, want := range wants {
			if !strings.Contains(metrics, want) {
				missing = want
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics lack %s:\n%s", missing, metrics)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(metrics, "is not mapped") {
		t.Error("an event name is a metric label")
	}
}
