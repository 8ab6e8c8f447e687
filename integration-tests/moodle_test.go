package integration_test

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

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
}
