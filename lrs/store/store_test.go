package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// forEachDB runs fn against a fresh, migrated SQLite database and a fresh,
// migrated MariaDB/MySQL database: the same suite for both dialects.
func forEachDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, mustOpen(t, store.SQLite, filepath.Join(t.TempDir(), "bridge.db")))
	})
	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		fn(t, mustOpen(t, store.MySQL, testmysql.New(t)))
	})
}

func mustOpen(t *testing.T, driver, dsn string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, driver, dsn, store.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

var writer = &lrs.Principal{
	Key: "test", StoreID: 1, Scopes: []string{lrs.ScopeAll},
	Authority:    map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://lrs.test", "name": "test"}},
	AuthorityKey: "account::http://lrs.test::test",
}

// service is the LRS as `bridge serve` builds it, with group commit on, so
// the whole suite also exercises shared transactions.
func service(db *store.DB) *lrs.Service {
	return &lrs.Service{Statements: store.NewGroupCommit(db, 2), Checkpoints: db, DefaultLimit: 100, MaxLimit: 500}
}

// stmt builds a statement; extra is merged over the defaults.
func stmt(id, actor, verb, activity string, extra map[string]any) map[string]any {
	s := map[string]any{
		"actor":  map[string]any{"objectType": "Agent", "mbox": "mailto:" + actor + "@example.org", "name": actor},
		"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/" + verb, "display": map[string]any{"en-US": verb}},
		"object": map[string]any{"objectType": "Activity", "id": "http://example.org/activities/" + activity},
	}
	if id != "" {
		s["id"] = id
	}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

// clone deep-copies through JSON so the service may mutate its input.
func clone(s map[string]any) map[string]any {
	b, _ := json.Marshal(s)
	v, _, err := xapi.DecodeStatements(b)
	if err != nil {
		panic(err)
	}
	return v[0]
}

func mustStore(t *testing.T, svc *lrs.Service, stmts ...map[string]any) []string {
	t.Helper()
	in := make([]map[string]any, len(stmts))
	for i, s := range stmts {
		in[i] = clone(s)
	}
	ids, err := svc.StoreStatements(context.Background(), writer, xapi.V200, in, len(in) > 1, nil)
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	return ids
}

func queryIDs(t *testing.T, svc *lrs.Service, q lrs.Query) []string {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	res, _, err := svc.QueryStatements(context.Background(), writer, q)
	if err != nil {
		t.Fatalf("query %+v: %v", q, err)
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.ID
	}
	return out
}

func newID() string { return uuid.NewString() }

func TestStatementRoundTrip(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		id := newID()
		s := stmt(id, "ann", "completed", "a1", map[string]any{
			"result": map[string]any{"score": map[string]any{"raw": json.Number("0.12345678901234567890123"), "min": 0, "max": 1}},
		})
		mustStore(t, svc, s)
		got, err := db.GetStatement(context.Background(), 1, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got.Body), "0.12345678901234567890123") {
			t.Errorf("number lost precision: %s", got.Body)
		}
		var m map[string]any
		json.Unmarshal(got.Body, &m)
		for _, k := range []string{"id", "stored", "timestamp", "authority", "version"} {
			if m[k] == nil {
				t.Errorf("LRS did not set %s: %s", k, got.Body)
			}
		}
		if got.ID != id || got.Voided {
			t.Errorf("got id %s voided %v", got.ID, got.Voided)
		}
		if _, err := db.GetStatement(context.Background(), 1, newID()); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("missing statement: got %v, want not found", err)
		}
		if _, err := db.GetStatement(context.Background(), 2, id); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("statement visible in another store: %v", err)
		}
	})
}

func TestConflicts(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		ctx := context.Background()
		id := newID()
		s := stmt(id, "bob", "attempted", "a1", nil)
		mustStore(t, svc, s)
		before, _ := db.GetStatement(ctx, 1, id)

		// Same id, same content: a no-op.
		n, err := db.InsertStatements(ctx, 1, nil, nil)
		if err != nil || n != 0 {
			t.Fatalf("empty insert: %d %v", n, err)
		}
		mustStore(t, svc, s)

		// Same id, different content: 409 and nothing changes.
		_, err = svc.StoreStatements(ctx, writer, xapi.V200, []map[string]any{clone(stmt(id, "bob", "failed", "a1", nil))}, false, nil)
		if lrs.ErrorCode(err) != lrs.ECONFLICT {
			t.Fatalf("different content: got %v, want conflict", err)
		}
		after, _ := db.GetStatement(ctx, 1, id)
		if string(after.Body) != string(before.Body) {
			t.Errorf("conflicting write changed the statement:\n%s\n%s", before.Body, after.Body)
		}

		// A batch with one conflict stores nothing.
		fresh := newID()
		_, err = svc.StoreStatements(ctx, writer, xapi.V200, []map[string]any{
			clone(stmt(fresh, "bob", "attempted", "a2", nil)),
			clone(stmt(id, "bob", "passed", "a1", nil)),
		}, true, nil)
		if lrs.ErrorCode(err) != lrs.ECONFLICT {
			t.Fatalf("batch with conflict: got %v", err)
		}
		if _, err := db.GetStatement(ctx, 1, fresh); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("batch partly stored: %v", err)
		}
	})
}

func TestConcurrentSameID(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		id := newID()
		s := stmt(id, "cat", "experienced", "a1", nil)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.StoreStatements(context.Background(), writer, xapi.V200, []map[string]any{clone(s)}, false, nil)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent identical insert: %v", err)
			}
		}
		if got := queryIDs(t, svc, lrs.Query{}); len(got) != 1 {
			t.Errorf("stored %d copies, want 1", len(got))
		}
	})
}

func TestQueryFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		reg := newID()
		ids := mustStore(t, svc,
			stmt(newID(), "ann", "completed", "a1", map[string]any{"context": map[string]any{"registration": reg}}),
			stmt(newID(), "bob", "completed", "a2", map[string]any{"context": map[string]any{
				"instructor":        map[string]any{"mbox": "mailto:teacher@example.org"},
				"contextActivities": map[string]any{"parent": []any{map[string]any{"id": "http://example.org/activities/course"}}},
			}}),
			stmt(newID(), "ann", "attempted", "a2", nil),
			// ann as the object of a statement by bob
			map[string]any{"id": newID(), "actor": map[string]any{"mbox": "mailto:bob@example.org"},
				"verb":   map[string]any{"id": "http://example.org/verbs/mentored"},
				"object": map[string]any{"objectType": "Agent", "mbox": "mailto:ann@example.org"}},
		)
		ann := "mbox::mailto:ann@example.org"
		teacher := "mbox::mailto:teacher@example.org"
		cases := []struct {
			name string
			q    lrs.Query
			want []string // newest first
		}{
			{"all", lrs.Query{}, []string{ids[3], ids[2], ids[1], ids[0]}},
			{"agent as actor or object", lrs.Query{Agent: ann}, []string{ids[3], ids[2], ids[0]}},
			{"instructor needs related_agents", lrs.Query{Agent: teacher}, []string{}},
			{"related_agents", lrs.Query{Agent: teacher, RelatedAgents: true}, []string{ids[1]}},
			{"authority is related", lrs.Query{Agent: writer.AuthorityKey, RelatedAgents: true}, []string{ids[3], ids[2], ids[1], ids[0]}},
			{"verb", lrs.Query{Verb: "http://adlnet.gov/expapi/verbs/completed"}, []string{ids[1], ids[0]}},
			{"activity", lrs.Query{Activity: "http://example.org/activities/a2"}, []string{ids[2], ids[1]}},
			{"parent needs related_activities", lrs.Query{Activity: "http://example.org/activities/course"}, []string{}},
			{"related_activities", lrs.Query{Activity: "http://example.org/activities/course", RelatedActivities: true}, []string{ids[1]}},
			{"registration", lrs.Query{Registration: reg}, []string{ids[0]}},
			{"agent and verb", lrs.Query{Agent: ann, Verb: "http://adlnet.gov/expapi/verbs/attempted"}, []string{ids[2]}},
			{"ascending", lrs.Query{Ascending: true}, []string{ids[0], ids[1], ids[2], ids[3]}},
			{"mine", lrs.Query{AuthorityKey: writer.AuthorityKey, Verb: "http://example.org/verbs/mentored"}, []string{ids[3]}},
			{"other authority", lrs.Query{AuthorityKey: "account::http://lrs.test::other"}, []string{}},
			{"any of several agents (a person)", lrs.Query{Agents: []string{ann, "mbox::mailto:bob@example.org"}}, []string{ids[3], ids[2], ids[1], ids[0]}},
			{"any of agents and verb", lrs.Query{Agents: []string{"mbox::mailto:bob@example.org", "mbox::mailto:nobody@example.org"}, Verb: "http://adlnet.gov/expapi/verbs/completed"}, []string{ids[1]}},
			{"any of agents, related", lrs.Query{Agents: []string{teacher}, RelatedAgents: true}, []string{ids[1]}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				got := queryIDs(t, svc, tc.q)
				if strings.Join(got, ",") != strings.Join(tc.want, ",") {
					t.Errorf("got %v\nwant %v", got, tc.want)
				}
			})
		}
	})
}

func TestSinceUntil(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		clock := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
		svc.Now = func() time.Time { return clock }
		a := mustStore(t, svc, stmt("", "ann", "completed", "a1", nil))
		clock = clock.Add(time.Hour)
		b := mustStore(t, svc, stmt("", "ann", "completed", "a1", nil))
		t0, t1 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC)
		if got := queryIDs(t, svc, lrs.Query{Since: &t0}); len(got) != 1 || got[0] != b[0] {
			t.Errorf("since is exclusive: got %v want %v", got, b)
		}
		if got := queryIDs(t, svc, lrs.Query{Until: &t0}); len(got) != 1 || got[0] != a[0] {
			t.Errorf("until is inclusive: got %v want %v", got, a)
		}
		if got := queryIDs(t, svc, lrs.Query{Since: &t0, Until: &t1, Agent: "mbox::mailto:ann@example.org"}); len(got) != 1 || got[0] != b[0] {
			t.Errorf("since+until+agent: got %v", got)
		}
	})
}

func TestPaging(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		var batch []map[string]any
		for i := 0; i < 95; i++ {
			batch = append(batch, stmt("", fmt.Sprintf("u%d", i%3), "completed", "a1", nil))
		}
		all := mustStore(t, svc, batch...)
		for _, asc := range []bool{false, true} {
			var seen []string
			q := lrs.Query{Limit: 10, Ascending: asc, Verb: "http://adlnet.gov/expapi/verbs/completed"}
			pages := 0
			for {
				res, more, err := svc.QueryStatements(context.Background(), writer, q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, r := range res {
					seen = append(seen, r.ID)
				}
				if !more {
					break
				}
				q.After = res[len(res)-1].PK
			}
			if pages != 10 || len(seen) != 95 {
				t.Fatalf("asc=%v: %d pages, %d statements", asc, pages, len(seen))
			}
			for i := range seen {
				want := all[i]
				if !asc {
					want = all[len(all)-1-i]
				}
				if seen[i] != want {
					t.Fatalf("asc=%v: position %d is %s, want %s", asc, i, seen[i], want)
				}
			}
		}
	})
}

func voiding(target string) map[string]any {
	return map[string]any{
		"id":     newID(),
		"actor":  map[string]any{"mbox": "mailto:admin@example.org"},
		"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/voided"},
		"object": map[string]any{"objectType": "StatementRef", "id": target},
	}
}

func TestVoiding(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		ctx := context.Background()
		target := mustStore(t, svc, stmt(newID(), "ann", "completed", "a9", nil))[0]
		v := voiding(target)
		mustStore(t, svc, v)

		st, err := db.GetStatement(ctx, 1, target)
		if err != nil || !st.Voided {
			t.Fatalf("target not voided: %v %v", st, err)
		}
		if _, err := svc.GetStatement(ctx, writer, target, false); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("statementId of a voided statement: %v, want not found", err)
		}
		if _, err := svc.GetStatement(ctx, writer, target, true); err != nil {
			t.Errorf("voidedStatementId: %v", err)
		}
		// Hidden from queries, but the voiding statement matches the
		// voided statement's activity through its StatementRef.
		got := queryIDs(t, svc, lrs.Query{Activity: "http://example.org/activities/a9"})
		if len(got) != 1 || got[0] != v["id"] {
			t.Errorf("activity query after voiding: %v, want only the voiding statement %v", got, v["id"])
		}
		// A voiding statement cannot be voided.
		mustStore(t, svc, voiding(v["id"].(string)))
		if st, _ := db.GetStatement(ctx, 1, v["id"].(string)); st.Voided {
			t.Errorf("a voiding statement was voided")
		}
		// Voiding that arrives before its target voids the target on arrival.
		late := newID()
		mustStore(t, svc, voiding(late))
		mustStore(t, svc, stmt(late, "ann", "completed", "a10", nil))
		if st, _ := db.GetStatement(ctx, 1, late); !st.Voided {
			t.Errorf("statement voided before it arrived is not voided")
		}
	})
}

func TestStatementRefFilters(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		target := newID()
		ref := func(id, to string) map[string]any {
			return map[string]any{"id": id, "actor": map[string]any{"mbox": "mailto:rev@example.org"},
				"verb":   map[string]any{"id": "http://example.org/verbs/commented"},
				"object": map[string]any{"objectType": "StatementRef", "id": to}}
		}
		// r2 -> r1 -> target, with r2 and r1 stored before the target.
		r1, r2 := newID(), newID()
		mustStore(t, svc, ref(r2, r1))
		mustStore(t, svc, ref(r1, target))
		mustStore(t, svc, stmt(target, "zed", "passed", "quiz", nil))
		got := queryIDs(t, svc, lrs.Query{Activity: "http://example.org/activities/quiz", Ascending: true})
		if strings.Join(got, ",") != strings.Join([]string{r2, r1, target}, ",") {
			t.Errorf("activity through StatementRefs: got %v want %v", got, []string{r2, r1, target})
		}
		got = queryIDs(t, svc, lrs.Query{Agent: "mbox::mailto:zed@example.org", Verb: "http://adlnet.gov/expapi/verbs/passed"})
		if len(got) != 3 {
			t.Errorf("agent+verb through StatementRefs: got %v", got)
		}
		// Authority (mine) is not inherited... every statement here has the
		// same authority, so check a referencing statement keeps only its own.
		r3 := newID()
		mustStore(t, svc, ref(r3, target))
		if got := queryIDs(t, svc, lrs.Query{Activity: "http://example.org/activities/quiz"}); len(got) != 4 {
			t.Errorf("new reference to a stored target: %v", got)
		}
		// A chain inside one batch, referrers first: s4 -> s5 -> t2.
		s4, s5, t2 := newID(), newID(), newID()
		mustStore(t, svc, ref(s4, s5), ref(s5, t2), stmt(t2, "yan", "passed", "exam", nil))
		if got := queryIDs(t, svc, lrs.Query{Activity: "http://example.org/activities/exam", Ascending: true}); strings.Join(got, ",") != strings.Join([]string{s4, s5, t2}, ",") {
			t.Errorf("chain in one batch: got %v want %v", got, []string{s4, s5, t2})
		}
	})
}

func TestCredentials(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		salt, hash := lrs.HashSecret("s3cret-s3cret-s3cret")
		c := &lrs.Credential{Key: "moodle", StoreID: 1, Scopes: []string{"statements/write", "statements/read/mine"},
			SecretSalt: salt, SecretHash: hash, Source: "config"}
		if err := db.PutCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetCredential(ctx, "moodle")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Verify("s3cret-s3cret-s3cret") || got.Verify("wrong") {
			t.Error("verify")
		}
		if strings.Join(got.Scopes, ",") != "statements/write,statements/read/mine" {
			t.Errorf("scopes %v", got.Scopes)
		}
		auth := &lrs.Authenticator{Store: db, BaseURL: "http://lrs.test"}
		if _, err := auth.Authenticate(ctx, "moodle", "wrong"); lrs.ErrorCode(err) != lrs.EUNAUTHORIZED {
			t.Errorf("wrong secret: %v", err)
		}
		p, err := auth.Authenticate(ctx, "moodle", "s3cret-s3cret-s3cret")
		if err != nil || p.AuthorityKey != "account::http://lrs.test::moodle" {
			t.Fatalf("authenticate: %+v %v", p, err)
		}
		if k, _ := xapi.AgentKey(p.Authority); k != p.AuthorityKey {
			t.Errorf("authority key %q does not match its agent %q", p.AuthorityKey, k)
		}
		if err := db.DeleteCredential(ctx, "moodle"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetCredential(ctx, "moodle"); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("deleted credential: %v", err)
		}
	})
}

func TestMigrateIdempotent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applied, err := db.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second migrate applied %v, %v", applied, err)
		}
		cur, target, err := db.SchemaStatus(ctx)
		if err != nil || cur != target || cur < 1 {
			t.Fatalf("schema status %d/%d %v", cur, target, err)
		}
	})
}

// blockingStore holds InsertStatements until released.
type blockingStore struct {
	lrs.StatementStore
	entered, release chan struct{}
}

func (b *blockingStore) InsertStatements(ctx context.Context, storeID int64, stmts []*lrs.NewStatement, atts []lrs.Attachment) (int, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.StatementStore.InsertStatements(ctx, storeID, stmts, atts)
}

// TestConsistentThrough: while a batch stamped T is being written, the LRS
// does not claim consistency through T (a client polling with since would
// skip the batch).
func TestConsistentThrough(t *testing.T) {
	db := mustOpen(t, store.SQLite, filepath.Join(t.TempDir(), "b.db"))
	bs := &blockingStore{StatementStore: db, entered: make(chan struct{}), release: make(chan struct{})}
	svc := &lrs.Service{Statements: bs, DefaultLimit: 10, MaxLimit: 10}
	clock := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return clock }
	done := make(chan error)
	go func() {
		_, err := svc.StoreStatements(context.Background(), writer, xapi.V200, []map[string]any{clone(stmt("", "ann", "completed", "a1", nil))}, false, nil)
		done <- err
	}()
	<-bs.entered
	clock = clock.Add(time.Second)
	if ct := svc.ConsistentThrough(); !ct.Before(time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("consistent through %v while a batch stamped 10:00:00 is being written", ct)
	}
	close(bs.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ct := svc.ConsistentThrough(); !ct.Equal(clock) {
		t.Errorf("after the write: %v, want now (%v)", ct, clock)
	}
}

// TestOutboxReplayRestartsAge: a replayed dead letter gets fresh attempts
// and its retry age starts afresh (else it would die at the first failure
// after a long outage).
func TestOutboxReplayRestartsAge(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := &lrs.Service{Statements: db, Router: routeAll{}, DefaultLimit: 10, MaxLimit: 10}
		ids := mustStore(t, svc, stmt("", "ann", "completed", "a1", nil))
		now := time.Now()
		items, err := db.ClaimDeliveries(ctx, "t", 10, now, now.Add(time.Minute))
		if err != nil || len(items) != 1 || items[0].StatementID != ids[0] {
			t.Fatalf("claimed %+v, %v", items, err)
		}
		old := items[0].CreatedAt
		db.KillDelivery(ctx, items[0].ID, items[0].Lease, 20, 503, "down")
		time.Sleep(2 * time.Millisecond)
		if n, err := db.ReplayDead(ctx, lrs.DeadFilter{Target: "t"}, time.Now()); err != nil || n != 1 {
			t.Fatalf("replay: %d %v", n, err)
		}
		items, _ = db.ClaimDeliveries(ctx, "t", 10, time.Now(), time.Now().Add(time.Minute))
		if len(items) != 1 || items[0].Attempts != 0 || !items[0].CreatedAt.After(old) {
			t.Errorf("replayed delivery: %+v (was created %v)", items, old)
		}
	})
}

// TestOutboxStaleLease: a worker whose lease ran out cannot record an
// outcome over the worker that claimed the delivery after it (which would
// free the row for a third send).
func TestOutboxStaleLease(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := &lrs.Service{Statements: db, Router: routeAll{}, DefaultLimit: 10, MaxLimit: 10}
		mustStore(t, svc, stmt("", "ann", "completed", "a1", nil))
		t0 := time.Now()
		a, _ := db.ClaimDeliveries(ctx, "t", 10, t0, t0.Add(time.Second))
		t1 := t0.Add(2 * time.Second) // A's lease has run out
		b, _ := db.ClaimDeliveries(ctx, "t", 10, t1, t1.Add(time.Minute))
		if len(a) != 1 || len(b) != 1 {
			t.Fatalf("claims: %d then %d", len(a), len(b))
		}
		// A, late, records a failure: B still owns the row.
		if err := db.RetryDelivery(ctx, a[0].ID, a[0].Lease, 1, t1, 503, "late"); err != nil {
			t.Fatal(err)
		}
		if c, _ := db.ClaimDeliveries(ctx, "t", 10, t1, t1.Add(time.Minute)); len(c) != 0 {
			t.Fatalf("a stale outcome freed the row for a third claim")
		}
		// B's outcome counts.
		if err := db.RetryDelivery(ctx, b[0].ID, b[0].Lease, 1, t1, 503, "down"); err != nil {
			t.Fatal(err)
		}
		if c, _ := db.ClaimDeliveries(ctx, "t", 10, t1, t1.Add(time.Minute)); len(c) != 1 || c[0].Attempts != 1 {
			t.Fatalf("after the owner's retry: %+v", c)
		}
	})
}
