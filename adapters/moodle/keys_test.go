package moodle

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/internal/moodletest"
	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

const wwwroot = "https://moodle.example.org"

func (s lrsSink) PutSyncCursors(ctx context.Context, cps ...*lrs.Checkpoint) error {
	return s.db.PutSyncCursors(ctx, cps...)
}

func (s lrsSink) SourceKey(ctx context.Context, source string, legacyThrough int64) ([]byte, int64, error) {
	return s.db.SourceKey(ctx, source, legacyThrough)
}

func (s lrsSink) ExistingStatements(ctx context.Context, storeID int64, ids []string) (map[string]Existing, error) {
	found, err := s.db.ExistingStatements(ctx, storeID, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Existing, len(found))
	for id, e := range found {
		out[id] = Existing{AuthorityKey: e.AuthorityKey, Body: e.Body}
	}
	return out, nil
}

// bridgeStore opens a migrated bridge database (SQLite or MariaDB) and
// returns it with its DSN, to open it again as another bridge would.
func bridgeStore(t *testing.T, driver string) (*store.DB, string) {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "bridge.db")
	if driver == store.MySQL {
		dsn = testmysql.New(t)
	}
	return openStore(t, driver, dsn), dsn
}

func openStore(t *testing.T, driver, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), driver, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func storeSyncer(db *store.DB, src *Source) *Syncer {
	src.StoreID = 1
	src.Authority = map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://bridge", "name": "moodle:" + src.Name}}
	return &Syncer{Source: src, Sink: lrsSink{svc: &lrs.Service{Statements: db}, db: db}, Writers: 2}
}

// intruder is a credential of the store that may write statements.
var intruder = &lrs.Principal{Key: "intruder", StoreID: 1, Scopes: []string{lrs.ScopeStatementsWrite},
	Authority:    map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://bridge", "name": "intruder"}},
	AuthorityKey: "account::http://bridge::intruder"}

// forged is a statement an intruder makes up for a Moodle user.
func forged(id string) map[string]any {
	return map[string]any{"id": id,
		"actor":  map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": wwwroot, "name": "4"}},
		"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/passed"},
		"object": map[string]any{"objectType": "Activity", "id": wwwroot + "/mod/quiz/view.php?id=1"},
		"result": map[string]any{"success": true, "score": map[string]any{"scaled": 1.0}}}
}

func countStatements(t *testing.T, db *store.DB) int {
	t.Helper()
	stmts, _, err := db.QueryStatements(context.Background(), 1, lrs.Query{Limit: 100000, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	return len(stmts)
}

func stored(t *testing.T, db *store.DB, id string) map[string]any {
	t.Helper()
	st, err := db.GetStatement(context.Background(), 1, id)
	if lrs.ErrorCode(err) == lrs.ENOTFOUND {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	v, _ := xapi.DecodeJSON(st.Body)
	m, _ := v.(map[string]any)
	return m
}

func forDrivers(t *testing.T, f func(t *testing.T, driver string)) {
	for _, d := range []string{store.SQLite, store.MySQL} {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
}

// A statement another credential PUT at the id the public (legacy) scheme
// gives a future log row does not keep that row from being stored: the
// row's id is keyed, so it is not that one.
func TestForgedLegacyIDDoesNotBlockRow(t *testing.T) {
	forDrivers(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		mdb := moodleDB(t)
		seedSite(t, mdb, 20)
		db, _ := bridgeStore(t, driver)
		s := storeSyncer(db, site(mdb))
		if _, err := s.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		// Row 25 does not exist yet; its public id can be computed.
		legacy := LegacyStatementID(wwwroot, 25, 0)
		svc := &lrs.Service{Statements: db}
		if _, err := svc.StoreStatements(ctx, intruder, xapi.V103, []map[string]any{forged(legacy)}, false, nil); err != nil {
			t.Fatal(err)
		}
		if err := moodletest.AppendLog(mdb, 21, 30, false); err != nil {
			t.Fatal(err)
		}
		st, err := s.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		// 26 of Moodle's, and the forged one.
		if n := countStatements(t, db); n != 27 || st.Statements != 26 {
			t.Fatalf("%d statements in the store, %d stored by the sync; want 27 and 26 (row 25 blocked by the forged statement?)", n, st.Statements)
		}
		pv, err := s.Preview(ctx, 25)
		if err != nil {
			t.Fatal(err)
		}
		id := pv.Statements[0]["id"].(string)
		if id == legacy {
			t.Fatalf("row 25 has its public id %s", id)
		}
		got := stored(t, db, id)
		if got == nil || got["verb"].(map[string]any)["id"] == "http://adlnet.gov/expapi/verbs/passed" {
			t.Fatalf("row 25's statement: %v", got)
		}
	})
}

// statusJSON is the source's status as stored with its cursor.
func statusJSON(t *testing.T, db *store.DB, source string) map[string]any {
	t.Helper()
	cp, err := db.SyncCursor(context.Background(), source)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(cp.Status, &m)
	return m
}

// An id of the source's taken by a statement of another authority, or by
// one with other content, is a conflict, counted and reported with the ids
// and log ids, not skipped silently.
func TestTakenIDIsAConflict(t *testing.T) {
	forDrivers(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		mdb := moodleDB(t)
		seedSite(t, mdb, 30)
		db, _ := bridgeStore(t, driver)
		s := storeSyncer(db, site(mdb))
		idOf := func(logID int64) string {
			pv, err := s.Preview(ctx, logID)
			if err != nil {
				t.Fatal(err)
			}
			return pv.Statements[0]["id"].(string)
		}
		// Another authority takes row 25's id; the source's own authority
		// has stored other content at row 27's id (a mapping since changed).
		id25, id27 := idOf(25), idOf(27)
		svc := &lrs.Service{Statements: db}
		if _, err := svc.StoreStatements(ctx, intruder, xapi.V103, []map[string]any{forged(id25)}, false, nil); err != nil {
			t.Fatal(err)
		}
		own := &lrs.Principal{Key: "moodle:site", StoreID: 1, Scopes: []string{lrs.ScopeStatementsWrite}, Authority: s.Source.Authority}
		other := forged(id27)
		other["actor"] = map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": wwwroot, "name": "8"}}
		if _, _, err := svc.StoreFromSource(ctx, own, []map[string]any{other}, &lrs.Checkpoint{Source: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		s.Source.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		st, err := s.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := statusJSON(t, db, "site")
		if n, _ := m["conflicts"].(float64); n != 2 {
			t.Fatalf("status reports %v conflicts, want 2: %v", m["conflicts"], m)
		}
		b, _ := json.Marshal(m)
		for _, want := range []string{id25, id27, `"log_id":25`, `"log_id":27`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("status lacks %s: %s", want, b)
			}
		}
		// The run's summary and the status say which and why; the others
		// are stored; the taken ids keep what they held.
		want := []Conflict{{ID: id25, LogID: 25, Reason: ConflictAuthority}, {ID: id27, LogID: 27, Reason: ConflictContent}}
		for i, c := range st.LastRun.RecentConflicts {
			if i >= len(want) || c.ID != want[i].ID || c.LogID != want[i].LogID || c.Reason != want[i].Reason || c.Found.IsZero() {
				t.Errorf("conflict %d: %+v, want %+v", i, c, want)
			}
		}
		if st.LastRun.Conflicts != 2 || len(st.LastRun.RecentConflicts) != 2 || st.LastRun.Statements != 24 || !strings.HasSuffix(st.LastRun.String(), ", 2 conflicts") {
			t.Errorf("last run: %+v (%s)", st.LastRun, st.LastRun)
		}
		if got := stored(t, db, id25); got["verb"].(map[string]any)["id"] != "http://adlnet.gov/expapi/verbs/passed" {
			t.Errorf("id 25 holds %v", got)
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "conflicts=2") || !strings.Contains(logs.String(), "first_log_id=25") {
			t.Errorf("no warning logged: %s", logs.String())
		}
		// The key shows nowhere: not in the logs, the status or the admin
		// API's view of it.
		secret, _, _ := db.SourceKey(ctx, "site", 0)
		ss, _ := json.Marshal(s.SourceStatus(st, time.Now()))
		for _, out := range []string{logs.String(), string(b), string(ss), fmt.Sprintf("%v %+v %#v", s, *s, s)} {
			if strings.Contains(out, hex.EncodeToString(secret)) || strings.Contains(out, base64.StdEncoding.EncodeToString(secret)) || strings.Contains(out, string(secret)) {
				t.Errorf("the key shows: %s", out)
			}
		}
		// A statement stored before with the same content is no conflict:
		// read again, only the two count again.
		zero := int64(0)
		s.Rewind(ctx, RewindRequest{To: &zero})
		if st, err := s.Run(ctx, nil); err != nil || st.LastRun.Conflicts != 2 || st.Conflicts != 4 || st.LastRun.Statements != 0 {
			t.Errorf("read again: %+v, %v", st.LastRun, err)
		}
	})
}

// A source synced before ids were keyed (cursor > 0, no key) keeps the
// public ids of the rows it had read: a rewind reads them again and stores
// nothing twice; rows after them get keyed ids.
func TestUpgradedSourceRewindStoresNothingTwice(t *testing.T) {
	forDrivers(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		mdb := moodleDB(t)
		seedSite(t, mdb, 250)
		db, _ := bridgeStore(t, driver)
		// Synced by a bridge before keys: public ids, no key.
		s := storeSyncer(db, site(mdb))
		s.preKeys = true
		if _, err := s.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if n := countStatements(t, db); n != 246 {
			t.Fatalf("before the upgrade: %d statements", n)
		}
		s.preKeys = false
		zero := int64(0)
		if _, err := s.Rewind(ctx, RewindRequest{To: &zero}); err != nil {
			t.Fatal(err)
		}
		if err := moodletest.AppendLog(mdb, 251, 260, false); err != nil {
			t.Fatal(err)
		}
		st, err := s.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := countStatements(t, db); n != 256 || st.LastRun.Statements != 10 {
			t.Fatalf("after the rewind: %d statements (want 256), %d stored by the run (want 10)", n, st.LastRun.Statements)
		}
		if stored(t, db, LegacyStatementID(wwwroot, 2, 0)) == nil {
			t.Error("row 2 lost its public id")
		}
		if stored(t, db, LegacyStatementID(wwwroot, 256, 0)) != nil {
			t.Error("row 256, read after the upgrade, has its public id")
		}
		// The key was made by the run after the upgrade, for the rows after
		// the cursor the source had then.
		secret, through, err := db.SourceKey(ctx, "site", -1)
		if err != nil || through != 250 || len(secret) != 32 {
			t.Fatalf("key: %d bytes, legacy through %d, %v; want 32 bytes through 250", len(secret), through, err)
		}
		if stored(t, db, KeyedStatementID(secret, wwwroot, 256, 0)) == nil {
			t.Error("row 256 is not stored under its keyed id")
		}
		if m := statusJSON(t, db, "site"); m["legacy_ids_through"] != 250.0 || m["conflicts"] != 0.0 {
			t.Errorf("status: legacy ids through %v, %v conflicts", m["legacy_ids_through"], m["conflicts"])
		}
		// Read again once more, with the key: still nothing twice.
		if _, err := s.Rewind(ctx, RewindRequest{To: &zero}); err != nil {
			t.Fatal(err)
		}
		if st, err := s.Run(ctx, nil); err != nil || st.LastRun.Statements != 0 || st.LastRun.Conflicts != 0 || countStatements(t, db) != 256 {
			t.Fatalf("second rewind: %+v, %v, %d statements", st.LastRun, err, countStatements(t, db))
		}
	})
}

// Two bridges on one database (two store handles, two syncers racing from
// a fresh source) use the same key: each row is stored once, under an id
// that is not the public one.
func TestTwoSyncersShareKey(t *testing.T) {
	forDrivers(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		mdb := moodleDB(t)
		seedSite(t, mdb, 400)
		db1, dsn := bridgeStore(t, driver)
		db2 := openStore(t, driver, dsn)
		a, b := storeSyncer(db1, site(mdb)), storeSyncer(db2, site(mdb))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, s := range []*Syncer{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.Run(ctx, nil)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := countStatements(t, db1); n != 396 {
			t.Fatalf("%d statements, want 396", n)
		}
		pa, _ := a.Preview(ctx, 2)
		pb, _ := b.Preview(ctx, 2)
		if pa.Statements[0]["id"] != pb.Statements[0]["id"] {
			t.Fatalf("the two bridges give row 2 ids %v and %v", pa.Statements[0]["id"], pb.Statements[0]["id"])
		}
		if pa.Statements[0]["id"] == LegacyStatementID(wwwroot, 2, 0) {
			t.Fatal("row 2 has its public id")
		}
	})
}

// An upgraded source's backlog (rows after its cursor that Moodle had at
// its last run, so up to the legacy boundary) is not held to public ids: a
// row whose public id another credential took is stored under its keyed
// id, and the taken public id is reported.
func TestUpgradeBacklogForgedLegacyID(t *testing.T) {
	forDrivers(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		mdb := moodleDB(t)
		seedSite(t, mdb, 200)
		db, _ := bridgeStore(t, driver)
		s := storeSyncer(db, site(mdb))
		s.preKeys = true
		if _, err := s.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		s.preKeys = false
		// Moodle logged 50 rows more, which the old bridge saw (latest) but
		// did not read; another credential took row 230's public id.
		if err := moodletest.AppendLog(mdb, 201, 250, false); err != nil {
			t.Fatal(err)
		}
		m := statusJSON(t, db, "site")
		m["latest"] = 250
		status, _ := json.Marshal(m)
		if err := db.PutSyncCursors(ctx, &lrs.Checkpoint{Source: "site", Position: 200, Status: status}); err != nil {
			t.Fatal(err)
		}
		legacy230 := LegacyStatementID(wwwroot, 230, 0)
		svc := &lrs.Service{Statements: db}
		if _, err := svc.StoreStatements(ctx, intruder, xapi.V103, []map[string]any{forged(legacy230)}, false, nil); err != nil {
			t.Fatal(err)
		}
		st, err := s.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		secret, through, _ := db.SourceKey(ctx, "site", 0)
		if through != 250 {
			t.Fatalf("legacy through %d, want 250", through)
		}
		if n := countStatements(t, db); n != 247 || st.LastRun.Statements != 50 {
			t.Fatalf("%d statements (want 246 and the forged one), %d stored by the run (want 50)", n, st.LastRun.Statements)
		}
		if stored(t, db, KeyedStatementID(secret, wwwroot, 230, 0)) == nil || stored(t, db, LegacyStatementID(wwwroot, 240, 0)) != nil ||
			stored(t, db, KeyedStatementID(secret, wwwroot, 240, 0)) == nil || stored(t, db, LegacyStatementID(wwwroot, 150, 0)) == nil {
			t.Error("the backlog's rows are not under their keyed ids, or the old rows lost their public ids")
		}
		if st.LastRun.Conflicts != 1 || st.RecentConflicts[0].ID != legacy230 || st.RecentConflicts[0].Reason != ConflictLegacy {
			t.Errorf("conflicts: %+v", st.RecentConflicts)
		}
		// Everything read again: nothing stored twice.
		zero := int64(0)
		s.Rewind(ctx, RewindRequest{To: &zero})
		if st, err := s.Run(ctx, nil); err != nil || st.LastRun.Statements != 0 || countStatements(t, db) != 247 {
			t.Errorf("read again: %+v, %v, %d statements", st.LastRun, err, countStatements(t, db))
		}
	})
}

// BenchmarkIDs is what keyed ids and the conflict lookup cost a batch of
// 1000 statements (ns/op is per batch), against a store of 20,000
// statements: the ids (HMAC-SHA256) and one ExistingStatements query of
// ids that are not stored, the usual case.
//
//	go test ./adapters/moodle -run X -bench IDs
func BenchmarkIDs(b *testing.B) {
	for _, driver := range []string{store.MySQL, store.SQLite} {
		b.Run(driver, func(b *testing.B) {
			ctx := context.Background()
			dsn := filepath.Join(b.TempDir(), "bridge.db")
			if driver == store.MySQL {
				dsn = testmysql.New(b)
			}
			db, err := store.Open(ctx, driver, dsn, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.Migrate(ctx)
			svc := &lrs.Service{Statements: db}
			p := &lrs.Principal{StoreID: 1, Authority: map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://bridge", "name": "moodle:bench"}}}
			for i := 0; i < 20; i++ {
				var stmts []map[string]any
				for j := 0; j < 1000; j++ {
					stmts = append(stmts, map[string]any{"id": uuid.NewString(), "actor": map[string]any{"mbox": "mailto:a@example.org"},
						"verb": map[string]any{"id": "http://adlnet.gov/expapi/verbs/experienced"}, "object": map[string]any{"id": "http://example.org/a"}})
				}
				if _, _, err := svc.StoreFromSource(ctx, p, stmts, &lrs.Checkpoint{Source: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
			s := &Syncer{Source: &Source{Name: "bench", StoreID: 1, Authority: p.Authority, Options: Options{WWWRoot: wwwroot}},
				Sink: lrsSink{svc: svc, db: db}}
			key, err := s.key(ctx, &Status{})
			if err != nil {
				b.Fatal(err)
			}
			stmts := make([]map[string]any, 1000)
			refs := make([]rowRef, 1000)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range stmts {
					stmts[j] = map[string]any{}
					refs[j] = rowRef{logID: int64(i*1000 + j + 1)}
				}
				if c, err := s.assignIDs(ctx, key, stmts, refs); err != nil || len(c) != 0 {
					b.Fatal(c, err)
				}
			}
		})
	}
}
