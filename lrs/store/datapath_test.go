package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

const courseID = "http://moodle.example.org/course/view.php?id=2"

// courseStmt is a statement about the course with definition def.
func courseStmt(def map[string]any) map[string]any {
	return stmt(newID(), "ann", "completed", "x", map[string]any{
		"object": map[string]any{"objectType": "Activity", "id": courseID, "definition": def},
	})
}

// bigDef is a definition with one extension of n bytes under key.
func bigDef(key string, n int) map[string]any {
	return map[string]any{
		"name":       map[string]any{"en": "Course 101"},
		"extensions": map[string]any{"http://example.org/ext/" + key: strings.Repeat("x", n)},
	}
}

func storeAs(svc *lrs.Service, p *lrs.Principal, st map[string]any, parts ...lrs.Attachment) error {
	_, err := svc.StoreStatements(context.Background(), p, xapi.V200, []map[string]any{clone(st)}, false, parts)
	return err
}

func canonical(t *testing.T, db *store.DB, id string) map[string]any {
	t.Helper()
	b, err := (&lrs.Documents{Store: db}).Activity(context.Background(), writer, id)
	if err != nil {
		t.Fatal(err)
	}
	v, err := xapi.DecodeJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := v.(map[string]any)
	return m
}

func definitionSize(t *testing.T, act map[string]any) int {
	t.Helper()
	b, err := xapi.EncodeJSON(act["definition"])
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

func extensionKeys(act map[string]any) []string {
	def, _ := act["definition"].(map[string]any)
	ext, _ := def["extensions"].(map[string]any)
	var keys []string
	for k := range ext {
		keys = append(keys, strings.TrimPrefix(k, "http://example.org/ext/"))
	}
	return keys
}

// Definitions merge key by key up to the cap; a statement whose definition
// would take the canonical one past it is stored, and the canonical
// definition stays as it was.
func TestActivityDefinitionCapped(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		if err := storeAs(svc, writer, courseStmt(bigDef("a", 40_000))); err != nil {
			t.Fatal(err)
		}
		if err := storeAs(svc, writer, courseStmt(bigDef("b", 40_000))); err != nil {
			t.Fatalf("a statement whose definition cannot be merged failed: %v", err)
		}
		act := canonical(t, db, courseID)
		if n := definitionSize(t, act); n > 64<<10 {
			t.Errorf("canonical definition is %d bytes, over the 64 KiB cap", n)
		}
		if keys := extensionKeys(act); len(keys) != 1 || keys[0] != "a" {
			t.Errorf("extensions %v, want the first statement's only", keys)
		}
		if n := db.ActivityDefinitionsCapped(); n != 1 {
			t.Errorf("ActivityDefinitionsCapped = %d, want 1", n)
		}
		// The same definition again is refused and counted again (refusals
		// are not remembered as merged).
		if err := storeAs(svc, writer, courseStmt(bigDef("b", 40_000))); err != nil {
			t.Fatal(err)
		}
		if n := db.ActivityDefinitionsCapped(); n != 2 {
			t.Errorf("ActivityDefinitionsCapped = %d, want 2", n)
		}
		// A small change still merges.
		if err := storeAs(svc, writer, courseStmt(map[string]any{"name": map[string]any{"fr": "Cours 101"}})); err != nil {
			t.Fatal(err)
		}
		act = canonical(t, db, courseID)
		name, _ := act["definition"].(map[string]any)["name"].(map[string]any)
		if name["fr"] != "Cours 101" || name["en"] != "Course 101" {
			t.Errorf("name %v after a small merge", name)
		}
	})
}

// The reproduction: two 8 MiB statements with different extension
// keys, then a 150-byte one about the same course. On MariaDB the merged
// definition used to reach max_allowed_packet and every later statement
// naming the course failed with 500; on SQLite it kept growing.
func TestActivityMergeNeverFailsTheStatement(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		for _, k := range []string{"a", "b"} {
			if err := storeAs(svc, writer, courseStmt(bigDef(k, 8<<20))); err != nil {
				t.Fatalf("8 MiB statement %s: %v", k, err)
			}
		}
		small := courseStmt(map[string]any{"name": map[string]any{"de": "Kurs"}})
		start := time.Now()
		if err := storeAs(svc, writer, small); err != nil {
			t.Fatalf("small statement after two big ones: %v", err)
		}
		t.Logf("%s: small statement after two 8 MiB definitions: %s", db.Driver(), time.Since(start))
		if n := definitionSize(t, canonical(t, db, courseID)); n > 64<<10 {
			t.Errorf("canonical definition is %d bytes, over the 64 KiB cap", n)
		}
	})
}

// A Moodle batch goes through PrepareFromSource and StorePrepared into one
// transaction with its cursor: a statement in it that the store cannot take
// must not fail the batch, or the sync retries that batch forever.
func TestSourceBatchNeverStalls(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		ctx := context.Background()
		source := &lrs.Principal{Key: "moodle:main", StoreID: 1, Scopes: []string{lrs.ScopeStatementsWrite},
			Authority: writer.Authority, AuthorityKey: writer.AuthorityKey}
		run := func(pos int64, stmts ...map[string]any) (int, []lrs.Rejected) {
			t.Helper()
			b, err := svc.PrepareFromSource(source, stmts)
			if err != nil {
				t.Fatal(err)
			}
			n, rej, err := svc.StorePrepared(ctx, source, b, &lrs.Checkpoint{Source: "main", Position: pos})
			if err != nil {
				t.Fatalf("batch up to %d failed (the sync would stop on it for good): %v", pos, err)
			}
			cp, err := db.SyncCursor(ctx, "main")
			if err != nil || cp.Position != pos {
				t.Fatalf("cursor %+v %v, want %d", cp, err, pos)
			}
			return n, rej
		}
		// Definitions that cannot all be merged.
		n, rej := run(10, courseStmt(bigDef("a", 8<<20)), courseStmt(bigDef("b", 8<<20)),
			courseStmt(map[string]any{"name": map[string]any{"de": "Kurs"}}))
		if n != 3 || len(rej) != 0 {
			t.Errorf("stored %d, rejected %v; want 3 stored", n, rej)
		}
		// A statement bigger than the database takes (MariaDB: its
		// max_allowed_packet of 16 MiB) is left out and reported; the
		// others are stored.
		huge := stmt(newID(), "ann", "answered", "q1", map[string]any{
			"result": map[string]any{"response": strings.Repeat("y", 17<<20)},
		})
		n, rej = run(20, stmt(newID(), "ann", "answered", "q2", nil), huge, stmt(newID(), "ann", "answered", "q3", nil))
		switch db.Driver() {
		case store.MySQL:
			if n != 2 || len(rej) != 1 || rej[0].Index != 1 || !strings.Contains(rej[0].Reason, "max_allowed_packet") {
				t.Errorf("stored %d, rejected %+v; want 2 stored and [1] rejected naming max_allowed_packet", n, rej)
			}
		default:
			if n != 3 || len(rej) != 0 {
				t.Errorf("stored %d, rejected %+v; want 3 stored", n, rej)
			}
		}
		// The same id twice in one batch (a source's mapping gone wrong)
		// would fail the INSERT on every retry: the second is left out.
		dup := newID()
		n, rej = run(30, stmt(dup, "ann", "answered", "q4", nil), stmt(newID(), "ann", "answered", "q5", nil),
			stmt(dup, "bob", "answered", "q6", nil))
		if n != 2 || len(rej) != 1 || rej[0].Index != 2 || !strings.Contains(rej[0].Reason, "twice") {
			t.Errorf("stored %d, rejected %+v; want 2 stored and [2] rejected as a repeated id", n, rej)
		}
	})
}

// The limits are the store's to set; language maps are bounded by their
// number of entries as well as by size.
func TestActivityDefinitionLimitsSet(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		db.SetDefinitionLimits(xapi.DefinitionLimits{MaxLanguageEntries: 2})
		if l := db.DefinitionLimits(); l.MaxLanguageEntries != 2 || l.MaxBytes != xapi.DefaultMaxDefinitionBytes || l.MaxExtensions != xapi.DefaultMaxExtensions {
			t.Fatalf("limits %+v", l)
		}
		svc := service(db)
		// One batch: the third language is refused inside the batch, the
		// fourth statement's change to an existing one merges.
		var batch []map[string]any
		for _, name := range []map[string]any{{"en": "Course"}, {"fr": "Cours"}, {"de": "Kurs"}, {"en": "Course 101"}} {
			batch = append(batch, clone(courseStmt(map[string]any{"name": name})))
		}
		if _, err := svc.StoreStatements(context.Background(), writer, xapi.V200, batch, true, nil); err != nil {
			t.Fatal(err)
		}
		name := canonical(t, db, courseID)["definition"].(map[string]any)["name"].(map[string]any)
		if len(name) != 2 || name["en"] != "Course 101" || name["fr"] != "Cours" {
			t.Errorf("name %v", name)
		}
		if n := db.ActivityDefinitionsCapped(); n != 1 {
			t.Errorf("ActivityDefinitionsCapped = %d, want 1", n)
		}
	})
}

// An Activity whose id alone is half of max_allowed_packet: the statement
// fits, its canonical row (the id twice: column and body) would not. The
// statement is stored; the canonical Activity is left out and counted.
func TestActivityRowOverMaxAllowedPacket(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		id := "http://example.org/" + strings.Repeat("i", 8<<20+100<<10)
		st := stmt(newID(), "ann", "completed", "x", map[string]any{
			"object": map[string]any{"objectType": "Activity", "id": id, "definition": map[string]any{"name": map[string]any{"en": "Long"}}},
		})
		if err := storeAs(svc, writer, st); err != nil {
			t.Fatalf("statement with an 8 MiB activity id: %v", err)
		}
		act := canonical(t, db, id)
		_, hasDef := act["definition"]
		switch db.Driver() {
		case store.MySQL:
			if hasDef || db.ActivityDefinitionsCapped() != 1 {
				t.Errorf("definition stored: %v, capped %d", hasDef, db.ActivityDefinitionsCapped())
			}
		default:
			if !hasDef {
				t.Error("SQLite: definition not stored")
			}
		}
	})
}
