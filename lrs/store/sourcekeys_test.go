package store_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// A source's key is created once, 32 random bytes, with the legacy
// boundary given then; bridges on one database (here two handles) racing
// to create it all get the same one.
func TestSourceKeyCreatedOnceAndShared(t *testing.T) {
	for _, driver := range []string{store.SQLite, store.MySQL} {
		t.Run(driver, func(t *testing.T) {
			ctx := context.Background()
			dsn := filepath.Join(t.TempDir(), "bridge.db")
			if driver == store.MySQL {
				dsn = testmysql.New(t)
			}
			dbs := []*store.DB{mustOpen(t, driver, dsn), mustOpen(t, driver, dsn)}
			const n = 8
			secrets := make([][]byte, n)
			throughs := make([]int64, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					secrets[i], throughs[i], errs[i] = dbs[i%2].SourceKey(ctx, "site", int64(100+i))
				}()
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				if len(secrets[i]) != store.SourceKeyLen || !bytes.Equal(secrets[i], secrets[0]) || throughs[i] != throughs[0] {
					t.Fatalf("caller %d got another key (%d bytes, through %d; the first: through %d)", i, len(secrets[i]), throughs[i], throughs[0])
				}
			}
			if throughs[0] < 100 || throughs[0] >= 100+n {
				t.Errorf("legacy through %d: not one of the boundaries given", throughs[0])
			}
			if bytes.Equal(secrets[0], make([]byte, store.SourceKeyLen)) {
				t.Error("an all-zero key")
			}
			// Later calls do not change it; another source has its own.
			if s, th, _ := dbs[0].SourceKey(ctx, "site", 5); !bytes.Equal(s, secrets[0]) || th != throughs[0] {
				t.Error("the key or its boundary changed")
			}
			if s, th, _ := dbs[1].SourceKey(ctx, "other", 0); bytes.Equal(s, secrets[0]) || th != 0 {
				t.Errorf("another source: same key or boundary %d", th)
			}
		})
	}
}

// ExistingStatements finds, of a list of ids, the stored ones, with their
// authority's key and body, past one query's worth of ids; malformed ids
// are left out.
func TestExistingStatements(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := &lrs.Service{Statements: db}
		var ids []string
		var stmts []map[string]any
		for i := range 3 {
			id := uuid.NewString()
			ids = append(ids, id)
			stmts = append(stmts, map[string]any{"id": id, "actor": map[string]any{"mbox": "mailto:a@example.org"},
				"verb": map[string]any{"id": "http://adlnet.gov/expapi/verbs/experienced"}, "object": map[string]any{"id": "http://example.org/a", "definition": map[string]any{"name": map[string]any{"en": strings.Repeat("x", i)}}}})
		}
		if _, err := svc.StoreStatements(ctx, writer, xapi.V103, stmts, true, nil); err != nil {
			t.Fatal(err)
		}
		var ask []string
		for range 10500 {
			ask = append(ask, uuid.NewString())
		}
		ask = append(ask, ids[0], "not-a-uuid", strings.ToUpper(ids[1]))
		ask = append(ask[:7000], append([]string{ids[2]}, ask[7000:]...)...)
		got, err := db.ExistingStatements(ctx, 1, ask)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("%d found, want 3", len(got))
		}
		for _, id := range ids {
			e, ok := got[id]
			if !ok || e.AuthorityKey != writer.AuthorityKey || !bytes.Contains(e.Body, []byte(id)) {
				t.Errorf("%s: %+v (found %v)", id, e.AuthorityKey, ok)
			}
		}
		if got, _ := db.ExistingStatements(ctx, 2, ids); len(got) != 0 {
			t.Errorf("another store: %d found", len(got))
		}
		if got, err := db.ExistingStatements(ctx, 1, nil); err != nil || len(got) != 0 {
			t.Errorf("no ids: %v, %v", got, err)
		}
	})
}
