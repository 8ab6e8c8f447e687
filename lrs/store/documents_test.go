package store_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

func stateKey(stateID string) lrs.DocumentKey {
	return lrs.DocumentKey{Kind: lrs.KindState, ActivityID: "http://example.org/act", AgentKey: "mbox::mailto:ann@example.org", DocID: stateID}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if lrs.ErrorCode(err) != code {
		t.Fatalf("error %v (code %q), want code %q", err, lrs.ErrorCode(err), code)
	}
}

func jsonEq(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decoding %s: %v", got, err)
	}
	json.Unmarshal([]byte(want), &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestDocumentsRoundTripAndMerge(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		docs := &lrs.Documents{Store: db}
		k := stateKey("s1")

		// Any bytes, any type, byte for byte.
		raw := []byte{0, 1, 2, 0xff, 'x'}
		d, err := docs.Put(ctx, writer, xapi.V103, &lrs.DocumentWrite{Key: k, ContentType: "application/octet-stream", Body: raw})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha1.Sum(raw)
		if d.ETag != hex.EncodeToString(sum[:]) {
			t.Errorf("etag %s", d.ETag)
		}
		got, err := docs.Get(ctx, writer, k)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Body) != string(raw) || got.ContentType != "application/octet-stream" || got.ETag != d.ETag || got.Updated.IsZero() {
			t.Fatalf("got %+v", got)
		}
		// A JSON POST cannot merge into a non-JSON document; nothing changes.
		_, err = docs.Post(ctx, writer, xapi.V200, &lrs.DocumentWrite{Key: k, ContentType: "application/json", Body: []byte(`{"a":1}`)})
		wantCode(t, err, lrs.EINVALID)
		if got, _ := docs.Get(ctx, writer, k); string(got.Body) != string(raw) {
			t.Fatalf("changed by a rejected POST: %q", got.Body)
		}

		// POST creates, then merges top-level properties.
		k2 := stateKey("s2")
		if _, err := docs.Post(ctx, writer, xapi.V200, &lrs.DocumentWrite{Key: k2, ContentType: "application/json", Body: []byte(`{"car":{"make":"Ford"},"x":1.50000000000000000001}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := docs.Post(ctx, writer, xapi.V200, &lrs.DocumentWrite{Key: k2, ContentType: "application/json; charset=utf-8", Body: []byte(`{"car":{"model":"Ram"},"y":"<&>"}`)}); err != nil {
			t.Fatal(err)
		}
		got, _ = docs.Get(ctx, writer, k2)
		jsonEq(t, got.Body, `{"car":{"model":"Ram"},"x":1.50000000000000000001,"y":"<&>"}`)
		if want := `"x":1.50000000000000000001`; !contains(string(got.Body), want) {
			t.Errorf("number precision lost: %s", got.Body)
		}
		// Bad POSTs: not an object, not JSON, non-JSON type.
		for _, w := range []lrs.DocumentWrite{
			{Key: k2, ContentType: "application/json", Body: []byte(`[1]`)},
			{Key: k2, ContentType: "application/json", Body: []byte(`{"a":1}{`)},
			{Key: k2, ContentType: "text/plain", Body: []byte(`{"a":1}`)},
		} {
			_, err := docs.Post(ctx, writer, xapi.V200, &w)
			wantCode(t, err, lrs.EINVALID)
		}
		again, _ := docs.Get(ctx, writer, k2)
		if again.ETag != got.ETag {
			t.Error("a rejected POST changed the document")
		}

		// Not found, and isolation between stores.
		_, err = docs.Get(ctx, writer, stateKey("nope"))
		wantCode(t, err, lrs.ENOTFOUND)
		other := *writer
		other.StoreID = 2
		_, err = docs.Get(ctx, &other, k2)
		wantCode(t, err, lrs.ENOTFOUND)
		ids, _, _ := docs.List(ctx, &other, k2, nil)
		if len(ids) != 0 {
			t.Errorf("store 2 sees %v", ids)
		}
	})
}

func TestDocumentsConcurrencyRules(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		docs := &lrs.Documents{Store: db}
		body := func(s string) *lrs.DocumentWrite {
			return &lrs.DocumentWrite{ContentType: "application/json", Body: []byte(s)}
		}
		prof := lrs.DocumentKey{Kind: lrs.KindActivityProfile, ActivityID: "http://example.org/act", DocID: "p1"}

		// 1.0.3 profile PUT needs a header; 2.0 creates without one.
		w := body(`{"v":1}`)
		w.Key = prof
		_, err := docs.Put(ctx, writer, xapi.V103, w)
		wantCode(t, err, lrs.EINVALID)
		w.IfNoneMatch = "*"
		d1, err := docs.Put(ctx, writer, xapi.V103, w)
		if err != nil {
			t.Fatal(err)
		}
		// Existing: If-None-Match * fails, no header conflicts, a wrong
		// If-Match fails, the right one (quoted, in a list) succeeds.
		_, err = docs.Put(ctx, writer, xapi.V200, w)
		wantCode(t, err, lrs.EPRECONDITION)
		w2 := body(`{"v":2}`)
		w2.Key = prof
		_, err = docs.Put(ctx, writer, xapi.V200, w2)
		wantCode(t, err, lrs.ECONFLICT)
		w2.IfMatch = `"0000000000000000000000000000000000000000"`
		_, err = docs.Put(ctx, writer, xapi.V200, w2)
		wantCode(t, err, lrs.EPRECONDITION)
		w2.IfMatch = `"abc", "` + d1.ETag + `"`
		d2, err := docs.Put(ctx, writer, xapi.V200, w2)
		if err != nil {
			t.Fatal(err)
		}
		// POST and DELETE honour If-Match too.
		w3 := body(`{"w":3}`)
		w3.Key, w3.IfMatch = prof, `"`+d1.ETag+`"`
		_, err = docs.Post(ctx, writer, xapi.V200, w3)
		wantCode(t, err, lrs.EPRECONDITION)
		err = docs.Delete(ctx, writer, prof, lrs.Preconditions{IfMatch: `"` + d1.ETag + `"`})
		wantCode(t, err, lrs.EPRECONDITION)
		if g, _ := docs.Get(ctx, writer, prof); g.ETag != d2.ETag {
			t.Fatal("document changed by failed preconditions")
		}
		if err := docs.Delete(ctx, writer, prof, lrs.Preconditions{IfMatch: "*"}); err != nil {
			t.Fatal(err)
		}
		_, err = docs.Get(ctx, writer, prof)
		wantCode(t, err, lrs.ENOTFOUND)
		// If-Match on a missing document fails; a plain DELETE is a no-op.
		err = docs.Delete(ctx, writer, prof, lrs.Preconditions{IfMatch: "*"})
		wantCode(t, err, lrs.EPRECONDITION)
		if err := docs.Delete(ctx, writer, prof, lrs.Preconditions{}); err != nil {
			t.Fatal(err)
		}

		// State: 1.0.3 overwrites without headers, 2.0 conflicts.
		sk := stateKey("s")
		ws := body(`{"a":1}`)
		ws.Key = sk
		if _, err := docs.Put(ctx, writer, xapi.V200, ws); err != nil {
			t.Fatal(err)
		}
		if _, err := docs.Put(ctx, writer, xapi.V103, ws); err != nil {
			t.Fatal(err)
		}
		_, err = docs.Put(ctx, writer, xapi.V200, ws)
		wantCode(t, err, lrs.ECONFLICT)
	})
}

func TestDocumentsListSinceRegistrationDeleteAll(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		docs := &lrs.Documents{Store: db, Now: func() time.Time { return now }}
		put := func(id, reg string) {
			t.Helper()
			k := stateKey(id)
			k.Registration = reg
			if _, err := docs.Post(ctx, writer, xapi.V200, &lrs.DocumentWrite{Key: k, ContentType: "text/plain", Body: []byte(id)}); err != nil {
				t.Fatal(err)
			}
		}
		const reg1, reg2 = "6fa459ea-ee8a-3ca4-894e-db77e160355e", "16fd2706-8baf-433b-82eb-8c7fada847da"
		put("a", "")
		now = now.Add(time.Second)
		put("b", reg1)
		now = now.Add(time.Second)
		put("c", reg2)
		put("a", reg2)

		list := func(reg string, since *time.Time) ([]string, time.Time) {
			t.Helper()
			k := stateKey("")
			k.Registration = reg
			ids, last, err := docs.List(ctx, writer, k, since)
			if err != nil {
				t.Fatal(err)
			}
			return ids, last
		}
		ids, last := list("", nil)
		if !reflect.DeepEqual(ids, []string{"a", "b", "c"}) || !last.Equal(now) {
			t.Errorf("all: %v %v", ids, last)
		}
		if ids, _ := list(reg2, nil); !reflect.DeepEqual(ids, []string{"a", "c"}) {
			t.Errorf("reg2: %v", ids)
		}
		s := now.Add(-time.Second) // exclusive
		if ids, _ := list("", &s); !reflect.DeepEqual(ids, []string{"a", "c"}) {
			t.Errorf("since: %v", ids)
		}
		// The same stateId with and without registration are two documents.
		k := stateKey("a")
		g, _ := docs.Get(ctx, writer, k)
		k.Registration = reg2
		g2, _ := docs.Get(ctx, writer, k)
		if g == nil || g2 == nil || g.ETag != g2.ETag || g.Updated.Equal(g2.Updated) {
			t.Errorf("registration not part of the key: %+v %+v", g, g2)
		}
		// Other agents' and activities' documents are untouched by DELETE all.
		otherAgent := stateKey("z")
		otherAgent.AgentKey = "mbox::mailto:bob@example.org"
		docs.Post(ctx, writer, xapi.V200, &lrs.DocumentWrite{Key: otherAgent, ContentType: "text/plain", Body: []byte("z")})

		k = stateKey("")
		k.Registration = reg2
		if err := docs.DeleteAll(ctx, writer, k); err != nil {
			t.Fatal(err)
		}
		if ids, _ := list("", nil); !reflect.DeepEqual(ids, []string{"a", "b"}) {
			t.Errorf("after deleting reg2: %v", ids)
		}
		if err := docs.DeleteAll(ctx, writer, stateKey("")); err != nil {
			t.Fatal(err)
		}
		if ids, _ := list("", nil); len(ids) != 0 {
			t.Errorf("after deleting all: %v", ids)
		}
		if _, err := docs.Get(ctx, writer, otherAgent); err != nil {
			t.Errorf("other agent's state deleted: %v", err)
		}
	})
}

func TestDocumentsScopes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		docs := &lrs.Documents{Store: db}
		p := func(scopes ...string) *lrs.Principal {
			return &lrs.Principal{Key: "k", StoreID: 1, Scopes: scopes}
		}
		w := &lrs.DocumentWrite{Key: stateKey("x"), ContentType: "text/plain", Body: []byte("x")}
		_, err := docs.Put(ctx, p(lrs.ScopeStatementsWrite), xapi.V200, w)
		wantCode(t, err, lrs.EFORBIDDEN)
		_, err = docs.Put(ctx, p(lrs.ScopeProfile), xapi.V200, w)
		wantCode(t, err, lrs.EFORBIDDEN)
		if _, err := docs.Put(ctx, p(lrs.ScopeState), xapi.V200, w); err != nil {
			t.Fatal(err)
		}
		if _, err := docs.Get(ctx, p(lrs.ScopeAllRead), w.Key); err != nil {
			t.Fatal(err)
		}
		_, err = docs.Post(ctx, p(lrs.ScopeAllRead), xapi.V200, w)
		wantCode(t, err, lrs.EFORBIDDEN)
		pk := lrs.DocumentKey{Kind: lrs.KindAgentProfile, AgentKey: "mbox::mailto:ann@example.org", DocID: "p"}
		err = docs.Delete(ctx, p(lrs.ScopeState), pk, lrs.Preconditions{})
		wantCode(t, err, lrs.EFORBIDDEN)
		if err := docs.Delete(ctx, p(lrs.ScopeProfile), pk, lrs.Preconditions{}); err != nil {
			t.Fatal(err)
		}
		_, err = docs.Activity(ctx, p(lrs.ScopeStatementsRead), "http://example.org/a")
		wantCode(t, err, lrs.EFORBIDDEN)
		if _, err := docs.Activity(ctx, p(lrs.ScopeDefine), "http://example.org/a"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDocumentsConcurrentPosts(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		docs := &lrs.Documents{Store: db}
		k := stateKey("counter")
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				b, _ := json.Marshal(map[string]int{string(rune('a' + i)): i})
				_, err := docs.Post(ctx, writer, xapi.V200, &lrs.DocumentWrite{Key: k, ContentType: "application/json", Body: b})
				errs <- err
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		d, _ := docs.Get(ctx, writer, k)
		var m map[string]int
		json.Unmarshal(d.Body, &m)
		if len(m) != 20 {
			t.Errorf("lost merges: %d keys: %s", len(m), d.Body)
		}
	})
}

func TestActivitiesCanonical(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := service(db)
		docs := &lrs.Documents{Store: db}
		act := func(id string, def map[string]any) map[string]any {
			a := map[string]any{"objectType": "Activity", "id": id}
			if def != nil {
				a["definition"] = def
			}
			return a
		}
		const id = "http://example.org/activities/a1"
		s1 := stmt(newID(), "ann", "completed", "a1", map[string]any{
			"object": act(id, map[string]any{
				"name":       map[string]any{"en-US": "one", "de": "eins"},
				"type":       "http://example.org/types/t1",
				"extensions": map[string]any{"http://example.org/x": 1},
			}),
			"context": map[string]any{"contextActivities": map[string]any{
				"parent":   map[string]any{"id": "http://example.org/parent"},
				"grouping": []any{act("http://example.org/group", map[string]any{"name": map[string]any{"en": "G"}})},
			}},
		})
		s2 := stmt(newID(), "bob", "completed", "a1", map[string]any{
			"object": act(id, map[string]any{
				"name":        map[string]any{"fr-FR": "un", "en-US": "ONE"},
				"description": map[string]any{"en-US": "d"},
				"extensions":  map[string]any{"http://example.org/y": 2},
			}),
		})
		// A batch, then one more statement later (the stored row merges).
		mustStore(t, svc, s1, s2)
		sub := stmt(newID(), "cy", "completed", "x", map[string]any{
			"object": map[string]any{"objectType": "SubStatement",
				"actor":  map[string]any{"mbox": "mailto:cy@example.org"},
				"verb":   map[string]any{"id": "http://example.org/v"},
				"object": act(id, map[string]any{"name": map[string]any{"es": "uno"}}),
			},
		})
		mustStore(t, svc, sub)

		b, err := docs.Activity(ctx, writer, id)
		if err != nil {
			t.Fatal(err)
		}
		jsonEq(t, b, `{"objectType":"Activity","id":"`+id+`","definition":{
			"name":{"en-US":"ONE","de":"eins","fr-FR":"un","es":"uno"},
			"description":{"en-US":"d"},
			"type":"http://example.org/types/t1",
			"extensions":{"http://example.org/x":1,"http://example.org/y":2}}}`)
		b, _ = docs.Activity(ctx, writer, "http://example.org/parent")
		jsonEq(t, b, `{"objectType":"Activity","id":"http://example.org/parent"}`)
		b, _ = docs.Activity(ctx, writer, "http://example.org/group")
		jsonEq(t, b, `{"objectType":"Activity","id":"http://example.org/group","definition":{"name":{"en":"G"}}}`)
		// Never seen: just the id.
		b, _ = docs.Activity(ctx, writer, "http://example.org/unknown")
		jsonEq(t, b, `{"objectType":"Activity","id":"http://example.org/unknown"}`)
		// Another store does not see this one's definitions.
		other := *writer
		other.StoreID = 2
		b, _ = docs.Activity(ctx, &other, id)
		jsonEq(t, b, `{"objectType":"Activity","id":"`+id+`"}`)
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// Concurrent batches sharing Activities (new and known) must not fail.
func TestActivitiesConcurrentBatches(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		var wg sync.WaitGroup
		errs := make(chan error, 12)
		for g := 0; g < 12; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				var batch []map[string]any
				for i := 0; i < 30; i++ {
					a := fmt.Sprintf("shared-%d", (i+g)%7)
					if i%3 == 0 {
						a = fmt.Sprintf("own-%d-%d", g, i)
					}
					s := stmt(newID(), "ann", "completed", a, nil)
					s["object"].(map[string]any)["definition"] = map[string]any{"name": map[string]any{fmt.Sprintf("x-%d", g): a}}
					batch = append(batch, clone(s))
				}
				_, err := svc.StoreStatements(context.Background(), writer, xapi.V200, batch, true, nil)
				errs <- err
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		b, err := (&lrs.Documents{Store: db}).Activity(context.Background(), writer, "http://example.org/activities/shared-0")
		if err != nil || !contains(string(b), `"name":{`) {
			t.Fatalf("%s %v", b, err)
		}
	})
}
