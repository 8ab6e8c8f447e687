package store_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs/admin"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

func putDoc(t *testing.T, db *store.DB, k lrs.DocumentKey, body string) {
	t.Helper()
	err := db.UpdateDocument(context.Background(), 1, k, func(*lrs.Document) (*lrs.Document, bool, error) {
		return &lrs.Document{ContentType: "application/json", Body: []byte(body), ETag: "x", Updated: time.Now()}, false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func hasDoc(t *testing.T, db *store.DB, k lrs.DocumentKey) bool {
	t.Helper()
	_, err := db.GetDocument(context.Background(), 1, k)
	if err != nil && lrs.ErrorCode(err) != lrs.ENOTFOUND {
		t.Fatal(err)
	}
	return err == nil
}

func TestEraseAgents(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := service(db)
		svc.Router = routeAll{}
		annMbox := map[string]any{"objectType": "Agent", "mbox": "mailto:ann@example.org", "name": "Ann Example"}
		annAcct := map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "https://moodle.example.org", "name": "ann-moodle-77"}}
		sum := sha1.Sum([]byte("mailto:ann@example.org"))
		annSha := hex.EncodeToString(sum[:])
		carl := map[string]any{"objectType": "Agent", "mbox": "mailto:carl@example.org"}

		// Ann's own statements: deleted.
		own1 := stmt(newID(), "x", "completed", "a1", map[string]any{"actor": annMbox})
		own2 := stmt(newID(), "x", "attempted", "a2", map[string]any{"actor": annAcct})
		own3 := stmt(newID(), "x", "attempted", "a3", map[string]any{"actor": map[string]any{"mbox_sha1sum": annSha}})
		// Others' statements naming Ann: redacted.
		asObject := stmt(newID(), "bob", "mentored", "x", map[string]any{"object": annMbox})
		inContext := stmt(newID(), "bob", "completed", "a3", map[string]any{"context": map[string]any{
			"instructor": annAcct,
			"team":       map[string]any{"objectType": "Group", "member": []any{annMbox, carl}},
		}})
		inSub := stmt(newID(), "bob", "said", "x", map[string]any{"object": map[string]any{
			"objectType": "SubStatement", "actor": annMbox,
			"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed"},
			"object": map[string]any{"id": "http://example.org/activities/a9"},
		}})
		ctxAgents := stmt(newID(), "bob", "observed", "a4", map[string]any{"context": map[string]any{
			"contextAgents": []any{map[string]any{"objectType": "contextAgent", "agent": annAcct}},
		}})
		groupActor := stmt(newID(), "x", "completed", "a5", map[string]any{"actor": map[string]any{
			"objectType": "Group", "name": "Team", "mbox": "mailto:team@example.org", "member": []any{annMbox, carl},
		}})
		// Untouched.
		carlOwn := stmt(newID(), "carl", "completed", "a1", nil)
		bobOwn := stmt(newID(), "bob", "completed", "a1", nil)

		ids := mustStore(t, svc, own1, own2, own3, asObject, inContext, inSub, ctxAgents, groupActor, carlOwn, bobOwn)
		// Bob voids one of Ann's statements: the voiding statement inherits
		// Ann's index rows without naming her.
		v := voiding(ids[0])
		v["actor"] = map[string]any{"mbox": "mailto:bob@example.org"}
		mustStore(t, svc, v)

		bobBefore := queryIDs(t, svc, lrs.Query{Agent: "mbox::mailto:bob@example.org"})
		carlBefore := queryIDs(t, svc, lrs.Query{Agent: "mbox::mailto:carl@example.org", RelatedAgents: true})

		annKeys := []string{"mbox::mailto:ann@example.org", "account::https://moodle.example.org::ann-moodle-77"}
		stateAnn := lrs.DocumentKey{Kind: lrs.KindState, ActivityID: "http://example.org/act", AgentKey: annKeys[0], DocID: "s1"}
		profAnn := lrs.DocumentKey{Kind: lrs.KindAgentProfile, AgentKey: annKeys[1], DocID: "p1"}
		stateBob := lrs.DocumentKey{Kind: lrs.KindState, ActivityID: "http://example.org/act", AgentKey: "mbox::mailto:bob@example.org", DocID: "s1"}
		actProf := lrs.DocumentKey{Kind: lrs.KindActivityProfile, ActivityID: "http://example.org/act", DocID: "p1"}
		putDoc(t, db, stateAnn, `{"ann":1}`)
		putDoc(t, db, profAnn, `{"ann":2}`)
		putDoc(t, db, stateBob, `{"bob":1}`)
		putDoc(t, db, actProf, `{"act":1}`)
		pendingBefore := pending(t, db)

		e, err := db.EraseAgents(ctx, 1, 42, annKeys, "dpo@example.org ticket 7")
		if err != nil {
			t.Fatalf("erase: %v", err)
		}
		if e.StatementsDeleted != 3 || e.StatementsRedacted != 6 || e.DocumentsDeleted != 2 || e.Agents != 2 || e.PersonID != 42 || e.ID == 0 {
			t.Errorf("erasure record %+v; want 3 deleted, 6 redacted (5 naming her + the voiding one), 2 documents, 2 agents", e)
		}

		// The erased agents appear nowhere in any remaining body.
		rest := scanAll(t, db, 1, lrs.Query{}, true)
		if len(rest) != 11-3 {
			t.Errorf("%d statements left, want 8", len(rest))
		}
		pseudoNames := map[string]bool{}
		for _, st := range rest {
			b := string(st.Body)
			for _, s := range []string{"ann@example.org", "ann-moodle-77", annSha, "Ann Example"} {
				if strings.Contains(b, s) {
					t.Errorf("statement %s still contains %q: %s", st.ID, s, b)
				}
			}
			var m map[string]any
			if err := json.Unmarshal(st.Body, &m); err != nil {
				t.Fatalf("redacted body is not JSON: %v", err)
			}
			if st.ID == ids[3] {
				obj := m["object"].(map[string]any)
				acc, _ := obj["account"].(map[string]any)
				if obj["objectType"] != "Agent" || acc["homePage"] != store.ErasedHomePage || acc["name"] == "" {
					t.Errorf("object not pseudonymised: %v", obj)
				}
				pseudoNames[acc["name"].(string)] = true
			}
			if st.ID == ids[4] {
				c := m["context"].(map[string]any)
				acc := c["instructor"].(map[string]any)["account"].(map[string]any)
				pseudoNames[acc["name"].(string)] = true
				members := c["team"].(map[string]any)["member"].([]any)
				if members[1].(map[string]any)["mbox"] != "mailto:carl@example.org" {
					t.Errorf("carl lost from the team: %v", members)
				}
			}
			if st.ID == ids[7] && m["actor"].(map[string]any)["mbox"] != "mailto:team@example.org" {
				t.Errorf("group actor changed: %v", m["actor"])
			}
		}
		if len(pseudoNames) != 1 {
			t.Errorf("one pseudonym per erasure, got %v", pseudoNames)
		}

		// Queries by the erased agents find nothing; by the pseudonym, the
		// redacted statements.
		for _, k := range append(annKeys, "mbox_sha1sum::"+annSha) {
			for _, rel := range []bool{false, true} {
				if got := queryIDs(t, svc, lrs.Query{Agent: k, RelatedAgents: rel}); len(got) != 0 {
					t.Errorf("query agent %s related=%v after erasure: %v", k, rel, got)
				}
			}
		}
		for name := range pseudoNames {
			got := queryIDs(t, svc, lrs.Query{Agent: "account::" + store.ErasedHomePage + "::" + name, RelatedAgents: true})
			if len(got) != 6 {
				t.Errorf("query by pseudonym: %d statements, want 6", len(got))
			}
		}
		if got := queryIDs(t, svc, lrs.Query{Agent: "mbox::mailto:bob@example.org"}); len(got) != len(bobBefore) {
			t.Errorf("bob's statements: %d, were %d", len(got), len(bobBefore))
		}
		if got := queryIDs(t, svc, lrs.Query{Agent: "mbox::mailto:carl@example.org", RelatedAgents: true}); len(got) != len(carlBefore) {
			t.Errorf("carl's statements: %d, were %d", len(got), len(carlBefore))
		}

		// Documents: Ann's gone, the others' kept.
		if hasDoc(t, db, stateAnn) || hasDoc(t, db, profAnn) {
			t.Error("ann's documents survived")
		}
		if !hasDoc(t, db, stateBob) || !hasDoc(t, db, actProf) {
			t.Error("other documents deleted")
		}
		// The deleted statements' deliveries went with them.
		if p := pending(t, db); p != pendingBefore-3 {
			t.Errorf("pending deliveries %d, want %d", p, pendingBefore-3)
		}

		// The record: counts only.
		es, err := db.ListErasures(ctx, 1)
		if err != nil || len(es) != 1 {
			t.Fatalf("erasures: %v, %v", es, err)
		}
		b, _ := json.Marshal(es[0])
		if strings.Contains(string(b), "ann") {
			t.Errorf("erasure record holds erased data: %s", b)
		}
		if es[0].StatementsDeleted != 3 || es[0].RequestedBy != "dpo@example.org ticket 7" || es[0].CreatedAt.IsZero() {
			t.Errorf("listed erasure %+v", es[0])
		}
		if es2, _ := db.ListErasures(ctx, 2); len(es2) != 0 {
			t.Errorf("store 2 erasures: %v", es2)
		}

		// Erasing again finds nothing more; no agents is an error.
		e2, err := db.EraseAgents(ctx, 1, 42, annKeys, "again")
		if err != nil || e2.StatementsDeleted != 0 || e2.StatementsRedacted != 0 || e2.DocumentsDeleted != 0 {
			t.Errorf("second erasure: %+v, %v", e2, err)
		}
		if _, err := db.EraseAgents(ctx, 1, 0, nil, "x"); lrs.ErrorCode(err) != lrs.EINVALID {
			t.Errorf("no agents: %v", err)
		}
	})
}

// TestErasePersonAdmin erases through admin.Admin with a real person.
func TestErasePersonAdmin(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := service(db)
		mustStore(t, svc, stmt(newID(), "ann", "completed", "a1", nil), stmt(newID(), "bob", "completed", "a1", nil))
		a := &admin.Admin{Eraser: db, Exporter: db}
		if _, err := a.ErasePerson(ctx, 1, 1, "x"); err == nil {
			t.Error("ErasePerson without a person store succeeded")
		}
		e, err := a.EraseAgent(ctx, 1, json.RawMessage(`{"mbox":"mailto:ann@example.org"}`), "x")
		if err != nil || e.StatementsDeleted != 1 {
			t.Fatalf("EraseAgent: %+v, %v", e, err)
		}
		if _, err := a.EraseAgent(ctx, 1, json.RawMessage(`{"name":"nobody"}`), "x"); lrs.ErrorCode(err) != lrs.EINVALID {
			t.Errorf("agent without IFI: %v", err)
		}
		if got := scanAll(t, db, 1, lrs.Query{}, true); len(got) != 1 {
			t.Errorf("%d statements left, want 1", len(got))
		}

		// A person: every agent of the persona goes.
		mustStore(t, svc, stmt(newID(), "cat", "completed", "a1", nil), stmt(newID(), "cat2", "completed", "a1", nil),
			stmt(newID(), "dan", "completed", "a1", nil))
		a.Persons = db
		p, err := db.CreatePerson(ctx, 1, "Cat Person", []lrs.PersonAgent{
			{Key: "mbox::mailto:cat@example.org", Agent: json.RawMessage(`{"mbox":"mailto:cat@example.org"}`)},
			{Key: "mbox::mailto:cat2@example.org", Agent: json.RawMessage(`{"mbox":"mailto:cat2@example.org"}`)},
		})
		if err != nil {
			t.Fatal(err)
		}
		e, err = a.ErasePerson(ctx, 1, p.ID, "x")
		if err != nil || e.StatementsDeleted != 2 || e.Agents != 2 || e.PersonID != p.ID {
			t.Fatalf("ErasePerson: %+v, %v", e, err)
		}
		if got := scanAll(t, db, 1, lrs.Query{}, true); len(got) != 2 {
			t.Errorf("%d statements left, want 2 (bob, dan)", len(got))
		}
		if p2, err := db.GetPerson(ctx, 1, p.ID); err == nil && (len(p2.Agents) != 0 || strings.Contains(p2.Name, "Cat")) {
			t.Errorf("person after erasure keeps personal data: %+v", p2)
		}
		if _, err := db.PersonOfAgent(ctx, 1, "mbox::mailto:cat@example.org"); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("erased agent still belongs to a person: %v", err)
		}
		if _, err := a.ErasePerson(ctx, 1, p.ID, "x"); lrs.ErrorCode(err) != lrs.ECONFLICT {
			t.Errorf("erasing an erased person again: %v", err)
		}
	})
}
