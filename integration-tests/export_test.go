package integration_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // driver "mysql"
	"github.com/google/uuid"
	_ "modernc.org/sqlite" // driver "sqlite"

	"github.com/xapibridge/bridge/internal/testmysql"
)

func TestExportEraseRetentionSQLite(t *testing.T) {
	dir := t.TempDir()
	cfg := fwConfig(t, dir, "", "")
	dataSuite(t, dir, cfg)
}

func TestExportEraseRetentionMySQL(t *testing.T) {
	dsn := testmysql.New(t)
	dir := t.TempDir()
	cfg := fwConfig(t, dir, "database:\n  driver: mysql\n  dsn: \""+dsn+"\"\n  auto_migrate: true\n", "")
	dataSuite(t, dir, cfg)
}

func ndjsonIDs(t *testing.T, b []byte) []string {
	t.Helper()
	var ids []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not NDJSON: %q: %v", l, err)
		}
		ids = append(ids, m["id"].(string))
	}
	return ids
}

func dataSuite(t *testing.T, dir, cfg string) {
	p := startFw(t, dir, cfg)
	x := xapiClient(t, p)
	admin := func(status int, method, path string, body any) *response {
		t.Helper()
		r := adminCall(t, p, method, path, body)
		if r.Status != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, status, r.Body)
		}
		return r
	}

	// 30 statements: ann, bob (one with ann as instructor), carl.
	var posted []string
	for _, who := range []string{"ann", "bob", "carl"} {
		var batch []map[string]any
		for i := 0; i < 10; i++ {
			verb := "completed"
			if who == "bob" {
				verb = "attempted"
			}
			s := statement(who, verb, fmt.Sprintf("course-%d", i))
			if who == "bob" && i == 0 {
				s["context"] = map[string]any{"instructor": map[string]any{"mbox": "mailto:ann@example.org", "name": "Ann"}}
			}
			batch = append(batch, s)
		}
		var ids []string
		x.expect(200, "POST", "/statements", batch).JSON(t, &ids)
		posted = append(posted, ids...)
	}

	// Export over HTTP: NDJSON, oldest first, every statement.
	r := admin(200, "GET", "/stores/1/export", nil)
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("content type %q", ct)
	}
	if got := ndjsonIDs(t, r.Body); strings.Join(got, ",") != strings.Join(posted, ",") {
		t.Fatalf("export ids:\n%v\nwant\n%v", got, posted)
	}
	// CSV with chosen columns and a filter.
	r = admin(200, "GET", "/stores/1/export?format=csv&columns=id,actor.mbox,verb.id,context.instructor&verb="+
		url.QueryEscape("http://adlnet.gov/expapi/verbs/attempted"), nil)
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(recs) != 11 || strings.Join(recs[0], ",") != "id,actor.mbox,verb.id,context.instructor" {
		t.Fatalf("csv export: %v %q", err, r.Body)
	}
	if recs[1][1] != "mailto:bob@example.org" || !strings.Contains(recs[1][3], `"mailto:ann@example.org"`) {
		t.Errorf("csv row: %q", recs[1])
	}
	agent := url.QueryEscape(`{"mbox":"mailto:ann@example.org"}`)
	r = admin(200, "GET", "/stores/1/export?related_agents=true&agent="+agent, nil)
	if n := len(ndjsonIDs(t, r.Body)); n != 11 {
		t.Errorf("related_agents export: %d, want 11", n)
	}
	admin(400, "GET", "/stores/1/export?format=xml", nil)
	admin(400, "GET", "/stores/1/export?limit=3", nil)
	admin(400, "GET", "/stores/1/export?format=csv&columns=a..b", nil)
	admin(404, "GET", "/stores/999/export", nil)
	if r := (&client{t: t, endpoint: p.base}).do("GET", "/api/v1/stores/1/export", nil); r.Status != 401 {
		t.Errorf("export without admin token: %d", r.Status)
	}

	// Export with the CLI, to a file and to stdout.
	out := filepath.Join(dir, "out.csv")
	if o, code := runBridge(t, dir, nil, "store", "export", "--config", cfg, "--store", "default", "--format", "csv",
		"--columns", "id,actor.mbox", "--output", out); code != 0 {
		t.Fatalf("store export: %d %s", code, o)
	}
	b, _ := os.ReadFile(out)
	if recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll(); err != nil || len(recs) != 31 || recs[1][0] != posted[0] {
		t.Errorf("CLI csv: %v, %d rows", err, len(recs))
	}
	o, code := runBridge(t, dir, nil, "store", "export", "--config", cfg, "--store", "1", "--verb", "http://adlnet.gov/expapi/verbs/completed")
	if code != 0 || len(ndjsonIDs(t, []byte(o))) != 20 {
		t.Errorf("CLI ndjson to stdout: exit %d, %d lines", code, len(ndjsonIDs(t, []byte(o))))
	}

	// Erase an agent through the API.
	var e map[string]any
	admin(200, "POST", "/stores/1/erase-agent", map[string]any{"agent": map[string]any{"mbox": "mailto:ann@example.org"}, "requested_by": "dpo"}).JSON(t, &e)
	if e["statements_deleted"] != 10.0 || e["statements_redacted"] != 1.0 || e["requested_by"] != "dpo" {
		t.Errorf("erasure: %v", e)
	}
	var res struct{ Statements []json.RawMessage }
	x.expect(200, "GET", "/statements?related_agents=true&agent="+agent, nil).JSON(t, &res)
	if len(res.Statements) != 0 {
		t.Errorf("ann still found: %d statements", len(res.Statements))
	}
	r = admin(200, "GET", "/stores/1/export", nil)
	if strings.Contains(string(r.Body), "ann@example.org") || len(ndjsonIDs(t, r.Body)) != 20 {
		t.Errorf("export after erasure: %d statements, ann present: %v", len(ndjsonIDs(t, r.Body)), strings.Contains(string(r.Body), "ann@example.org"))
	}
	admin(400, "POST", "/stores/1/erase-agent", map[string]any{"agent": map[string]any{"name": "no ifi"}})

	// Erase a person (both of carl's agents) through the API.
	x.expect(200, "POST", "/statements", []map[string]any{{
		"actor":  map[string]any{"account": map[string]any{"homePage": "https://moodle.example.org", "name": "carl-7"}},
		"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/attempted"},
		"object": map[string]any{"id": "http://example.org/activities/x"},
	}})
	var person struct{ ID int64 }
	admin(201, "POST", "/stores/1/persons", map[string]any{"name": "Carl", "agents": []any{
		map[string]any{"mbox": "mailto:carl@example.org"},
		map[string]any{"account": map[string]any{"homePage": "https://moodle.example.org", "name": "carl-7"}},
	}}).JSON(t, &person)
	admin(200, "POST", fmt.Sprintf("/stores/1/persons/%d/erase", person.ID), nil).JSON(t, &e)
	if e["statements_deleted"] != 11.0 || e["agents"] != 2.0 || e["person_id"] != float64(person.ID) {
		t.Errorf("person erasure: %v", e)
	}
	admin(404, "POST", "/stores/1/persons/99999/erase", nil)
	var list struct{ Erasures []map[string]any }
	admin(200, "GET", "/stores/1/erasures", nil).JSON(t, &list)
	if len(list.Erasures) != 2 {
		t.Errorf("erasures: %v", list.Erasures)
	}
	if o, code := runBridge(t, dir, nil, "person", "erase", "--config", cfg, "--store", "1", "--agent", `{"mbox":"mailto:bob@example.org"}`); code == 0 {
		t.Errorf("CLI erase without --yes succeeded: %s", o)
	}
	if o, code := runBridge(t, dir, nil, "person", "erase", "--config", cfg, "--store", "1", "--agent", `{"mbox":"mailto:bob@example.org"}`, "--yes"); code != 0 ||
		!strings.Contains(o, "10 statements deleted") {
		t.Errorf("CLI erase: %d %s", code, o)
	}

	// Retention: 2s; the 0 statements left are older; two new ones stay.
	var before []string
	x.expect(200, "POST", "/statements", []map[string]any{statement("dan", "completed", "old-1"), statement("dan", "completed", "old-2")}).JSON(t, &before)
	admin(200, "PATCH", "/stores/1", map[string]any{"retention": "2s"})
	time.Sleep(3 * time.Second)
	var fresh []string
	x.expect(200, "POST", "/statements", []map[string]any{statement("eve", "completed", "new-1")}).JSON(t, &fresh)
	var runRes struct {
		Stores []struct {
			Store    string
			Archived int64
			Deleted  int64
			File     string
			Error    string
		}
	}
	admin(200, "POST", "/retention/run", nil).JSON(t, &runRes)
	if len(runRes.Stores) != 1 || runRes.Stores[0].Archived != 2 || runRes.Stores[0].Deleted != 2 || runRes.Stores[0].Error != "" {
		t.Fatalf("retention run: %+v", runRes)
	}
	file := runRes.Stores[0].File
	if !strings.HasPrefix(file, filepath.Join(dir, "data", "archive", "default", "default")+string(filepath.Separator)) {
		t.Errorf("archive at %s", file)
	}
	ab, err := os.ReadFile(file)
	if err != nil || strings.Join(ndjsonIDs(t, ab), ",") != strings.Join(before, ",") {
		t.Errorf("archive holds %v (%v), want %v", ndjsonIDs(t, ab), err, before)
	}
	if got := ndjsonIDs(t, admin(200, "GET", "/stores/1/export", nil).Body); strings.Join(got, ",") != fresh[0] {
		t.Errorf("after retention the store holds %v, want %v", got, fresh)
	}
	x.expect(404, "GET", "/statements?statementId="+before[0], nil)
	// The CLI: nothing more is due.
	if o, code := runBridge(t, dir, nil, "retention", "run", "--config", cfg); code != 0 || !strings.Contains(o, "default/default: nothing stored before") {
		t.Errorf("retention run CLI: %d %s", code, o)
	}
}

// TestExportMillion fills a store with 1,000,000 statements (bulk INSERTs
// straight into the tables) and exports them with the built `bridge store
// export` as a subprocess, reporting its peak RSS (it fails above 200 MB).
// Run with BRIDGE_EXPORT_MILLION=1 (BRIDGE_EXPORT_MILLION_N to change the
// count, BRIDGE_EXPORT_MILLION_DB=sqlite|mysql|both, default both).
func TestExportMillion(t *testing.T) {
	if os.Getenv("BRIDGE_EXPORT_MILLION") != "1" {
		t.Skip("set BRIDGE_EXPORT_MILLION=1 to export a million statements")
	}
	n := 1_000_000
	if v := os.Getenv("BRIDGE_EXPORT_MILLION_N"); v != "" {
		fmt.Sscan(v, &n)
	}
	which := os.Getenv("BRIDGE_EXPORT_MILLION_DB")
	if which == "" || which == "both" || which == "sqlite" {
		t.Run("sqlite", func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "lrs.db")
			cfg := fwConfig(t, dir, "database:\n  driver: sqlite\n  dsn: \""+path+"\"\n", "")
			millionRun(t, dir, cfg, "sqlite", path, n)
		})
	}
	if which == "" || which == "both" || which == "mysql" {
		t.Run("mysql", func(t *testing.T) {
			dsn := testmysql.New(t)
			dir := t.TempDir()
			cfg := fwConfig(t, dir, "database:\n  driver: mysql\n  dsn: \""+dsn+"\"\n", "")
			millionRun(t, dir, cfg, "mysql", dsn, n)
		})
	}
}

// millionBody is a realistic statement of about 1.5 KB.
func millionBody(id string, i int, stored string) []byte {
	return []byte(fmt.Sprintf(`{"id":"%s","actor":{"objectType":"Agent","name":"Learner %d","account":{"homePage":"https://moodle.example.org","name":"user-%d"}},`+
		`"verb":{"id":"http://adlnet.gov/expapi/verbs/completed","display":{"en-US":"completed","de-DE":"abgeschlossen"}},`+
		`"object":{"objectType":"Activity","id":"https://moodle.example.org/mod/quiz/view.php?id=%d","definition":{"type":"http://adlnet.gov/expapi/activities/assessment",`+
		`"name":{"en-US":"Quiz %d: safeguarding basics for volunteers"},"description":{"en-US":"A short quiz on the safeguarding policy every volunteer reads before their first shift; ten questions, pass mark eight."},`+
		`"extensions":{"https://moodle.example.org/xapi/extensions/cmid":%d}}},`+
		`"result":{"score":{"scaled":0.%02d,"raw":%d,"min":0,"max":10},"success":true,"completion":true,"duration":"PT12M34S",`+
		`"response":"The learner answered every question; the answers are kept in Moodle, not here."},`+
		`"context":{"registration":"6f1d3a54-2b1c-4f5e-9a8b-%012d","platform":"Moodle 4.3","language":"en-GB",`+
		`"contextActivities":{"parent":[{"objectType":"Activity","id":"https://moodle.example.org/course/view.php?id=%d","definition":{"name":{"en-US":"Volunteer induction %d"}}}],`+
		`"grouping":[{"objectType":"Activity","id":"https://moodle.example.org"}],"category":[{"id":"https://moodle.net","definition":{"type":"http://id.tincanapi.com/activitytype/source"}}]},`+
		`"extensions":{"http://lrs.learninglocker.net/define/extensions/info":{"https://moodle.org":"4.3","https://github.com/xAPI-vle/moodle-logstore_xapi":"v4.7.0","event_name":"\\mod_quiz\\event\\attempt_submitted","event_function":"attempt_submitted"}}},`+
		`"timestamp":"%s","stored":"%s","authority":{"objectType":"Agent","account":{"homePage":"https://lrs.example.org","name":"moodle-sync"}},"version":"1.0.0"}`,
		id, i, i%50000, i%2000, i%2000, i%2000, i%100, i%11, i, i%300, i%300, stored, stored))
}

func millionRun(t *testing.T, dir, cfg, driver, dsn string, n int) {
	if o, code := runBridge(t, dir, nil, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("migrate: %s", o)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if driver == "sqlite" {
		db.Exec("PRAGMA journal_mode=WAL")
		db.Exec("PRAGMA synchronous=OFF")
	}
	start := time.Now()
	const rowsPer, perTx = 250, 50_000
	base := time.Now().Add(-24 * time.Hour)
	var tx *sql.Tx
	bodyBytes := 0
	for i := 0; i < n; i += rowsPer {
		if i%perTx == 0 {
			if tx != nil {
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			if tx, err = db.Begin(); err != nil {
				t.Fatal(err)
			}
		}
		m := min(rowsPer, n-i)
		sargs := make([]any, 0, m*5)
		iargs := make([]any, 0, m*5*3)
		for j := i; j < i+m; j++ {
			u := uuid.New()
			st := base.Add(time.Duration(j) * time.Millisecond)
			b := millionBody(u.String(), j, st.UTC().Format("2006-01-02T15:04:05.000Z"))
			bodyBytes += len(b)
			sargs = append(sargs, u[:], st.UnixMicro(), b)
			for k, key := range []string{
				fmt.Sprintf("account::https://moodle.example.org::user-%d", j%50000), // 1 agent
				fmt.Sprintf("account::https://moodle.example.org::user-%d", j%50000), // 2 related agent
				fmt.Sprintf("https://moodle.example.org/mod/quiz/view.php?id=%d", j%2000),
				fmt.Sprintf("https://moodle.example.org/mod/quiz/view.php?id=%d", j%2000),
				"http://adlnet.gov/expapi/verbs/completed",
			} {
				h := sha256.Sum256([]byte(key))
				iargs = append(iargs, k+1, h[:16])
			}
		}
		q := "INSERT INTO statements (store_id, id, stored_us, body) VALUES " + strings.TrimSuffix(strings.Repeat("(1,?,?,?),", m), ",")
		if _, err := tx.Exec(q, sargs...); err != nil {
			t.Fatal(err)
		}
		// The pks just inserted are consecutive (one writer).
		var last int64
		if err := tx.QueryRow("SELECT MAX(pk) FROM statements").Scan(&last); err != nil {
			t.Fatal(err)
		}
		first := last - int64(m) + 1
		var ib strings.Builder
		args := make([]any, 0, m*5*3)
		for r := 0; r < m*5; r++ {
			if r > 0 {
				ib.WriteByte(',')
			}
			ib.WriteString("(1,?,?,?)")
			args = append(args, iargs[2*r], iargs[2*r+1], first+int64(r/5))
		}
		if _, err := tx.Exec("INSERT INTO statement_index (store_id, kind, hash, stmt_pk) VALUES "+ib.String(), args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: filled %d statements (average body %d bytes) in %s", driver, n, bodyBytes/n, time.Since(start).Round(time.Second))

	for _, format := range []string{"ndjson", "csv"} {
		args := []string{"store", "export", "--config", cfg, "--store", "1", "--format", format, "--output", "/dev/null"}
		cmd := exec.Command(bridgeBin, args...)
		cmd.Dir = dir
		cmd.Env = cleanEnv()
		start := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err != nil {
			t.Fatalf("export: %v: %s", err, out)
		}
		if !strings.Contains(string(out), fmt.Sprintf("exported %d statements", n)) {
			t.Errorf("export output: %s", out)
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
		t.Logf("%s %s: exported %d statements in %s, peak RSS %.1f MB (bridge %s)", driver, format, n, took.Round(time.Millisecond),
			float64(rss)/1024, strings.Join(args, " "))
		if rss > 200*1024 {
			t.Errorf("%s %s export peak RSS %.1f MB, over 200 MB", driver, format, float64(rss)/1024)
		}
	}
}
