package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs/admin"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// writerIn is the test writer principal in another store.
func writerIn(storeID int64) *lrs.Principal {
	p := *writer
	p.StoreID = storeID
	return &p
}

type allRouter struct{}

func (allRouter) Routed() {}

func (allRouter) Route(int64, map[string]any) []lrs.Delivery {
	return []lrs.Delivery{{Target: "t", Rule: "r"}}
}

func newAdmin(db *store.DB) (*admin.Admin, *[]string) {
	var forgotten []string
	return &admin.Admin{Tenants: db, Persons: db, Credentials: db, Statements: db,
		Forget: func(k string) { forgotten = append(forgotten, k) }}, &forgotten
}

func TestTenantOrganisationsAndStores(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _ := newAdmin(db)

		orgs, err := a.ListOrganisations(ctx)
		if err != nil || len(orgs) != 1 || orgs[0].ID != 1 || orgs[0].Name != "default" {
			t.Fatalf("initial organisations: %+v %v", orgs, err)
		}
		_, err = a.CreateOrganisation(ctx, "bad name")
		wantCode(t, err, lrs.EINVALID)
		acme, err := a.CreateOrganisation(ctx, "acme")
		if err != nil || acme.ID <= 1 {
			t.Fatalf("create org: %+v %v", acme, err)
		}
		_, err = a.CreateOrganisation(ctx, "acme")
		wantCode(t, err, lrs.ECONFLICT)
		if got, err := a.GetOrganisation(ctx, acme.ID); err != nil || got.Name != "acme" {
			t.Fatalf("get org: %+v %v", got, err)
		}
		_, err = a.GetOrganisation(ctx, 9999)
		wantCode(t, err, lrs.ENOTFOUND)
		if o, err := a.RenameOrganisation(ctx, acme.ID, "acme2"); err != nil || o.Name != "acme2" {
			t.Fatalf("rename: %+v %v", o, err)
		}
		_, err = a.RenameOrganisation(ctx, acme.ID, "default")
		wantCode(t, err, lrs.ECONFLICT)
		_, err = a.RenameOrganisation(ctx, 9999, "x")
		wantCode(t, err, lrs.ENOTFOUND)

		// Stores.
		_, err = a.CreateStore(ctx, 9999, "moodle")
		wantCode(t, err, lrs.ENOTFOUND)
		_, err = a.CreateStore(ctx, acme.ID, "no/slash")
		wantCode(t, err, lrs.EINVALID)
		s, err := a.CreateStore(ctx, acme.ID, "moodle")
		if err != nil || s.ID <= 1 || s.OrgID != acme.ID {
			t.Fatalf("create store: %+v %v", s, err)
		}
		_, err = a.CreateStore(ctx, acme.ID, "moodle")
		wantCode(t, err, lrs.ECONFLICT)
		s2, err := a.CreateStore(ctx, 1, "moodle") // same name, other organisation
		if err != nil {
			t.Fatalf("same name in another org: %v", err)
		}
		if all, _ := a.ListStores(ctx, 0); len(all) != 3 {
			t.Errorf("all stores: %d, want 3", len(all))
		}
		if mine, _ := a.ListStores(ctx, acme.ID); len(mine) != 1 || mine[0].ID != s.ID {
			t.Errorf("acme's stores: %+v", mine)
		}
		_, err = a.ListStores(ctx, 9999)
		wantCode(t, err, lrs.ENOTFOUND)

		// References: id, name in the default organisation, org/name.
		for ref, want := range map[string]int64{"acme2/moodle": s.ID, "moodle": s2.ID, "default": 1, "1": 1} {
			got, err := a.ResolveStore(ctx, ref)
			if err != nil || got.ID != want {
				t.Errorf("resolve %q: %+v %v, want store %d", ref, got, err, want)
			}
		}
		for _, ref := range []string{"nope", "acme2/nope", "nope/moodle", "9999"} {
			_, err := a.ResolveStore(ctx, ref)
			wantCode(t, err, lrs.ENOTFOUND)
		}

		// Retention and renaming.
		ret, err := admin.ParseRetention("365d")
		if err != nil || ret != 365*24*time.Hour {
			t.Fatalf("365d: %v %v", ret, err)
		}
		got, err := a.UpdateStore(ctx, s.ID, admin.StoreUpdate{Retention: &ret})
		if err != nil || got.Retention != ret || got.Name != "moodle" {
			t.Fatalf("set retention: %+v %v", got, err)
		}
		if admin.FormatRetention(got.Retention) != "365d" {
			t.Errorf("format: %q", admin.FormatRetention(got.Retention))
		}
		name := "lms"
		if got, err = a.UpdateStore(ctx, s.ID, admin.StoreUpdate{Name: &name}); err != nil || got.Name != "lms" || got.Retention != ret {
			t.Fatalf("rename store: %+v %v", got, err)
		}
		dup := "moodle"
		if _, err := a.UpdateStore(ctx, s2.ID, admin.StoreUpdate{Name: &dup}); err != nil {
			t.Errorf("renaming to its own name: %v", err)
		}
		for _, bad := range []string{"-1d", "xd", "soon", "-5h"} {
			if _, err := admin.ParseRetention(bad); lrs.ErrorCode(err) != lrs.EINVALID {
				t.Errorf("retention %q: %v, want invalid", bad, err)
			}
		}
		if d, err := admin.ParseRetention("off"); err != nil || d != 0 {
			t.Errorf("off: %v %v", d, err)
		}

		// An organisation with stores is not deleted; the default never is.
		wantCode(t, a.DeleteOrganisation(ctx, acme.ID), lrs.ECONFLICT)
		wantCode(t, a.DeleteOrganisation(ctx, 1), lrs.ECONFLICT)
		wantCode(t, a.DeleteStore(ctx, 1, "default"), lrs.ECONFLICT)
		wantCode(t, a.DeleteStore(ctx, s.ID, "moodle"), lrs.EINVALID) // wrong confirmation
		if err := a.DeleteStore(ctx, s.ID, "lms"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, a.DeleteStore(ctx, s.ID, "lms"), lrs.ENOTFOUND)
		if err := a.DeleteOrganisation(ctx, acme.ID); err != nil {
			t.Fatalf("delete empty org: %v", err)
		}
		wantCode(t, a.DeleteOrganisation(ctx, acme.ID), lrs.ENOTFOUND)
	})
}

func TestTenantCredentials(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, forgotten := newAdmin(db)
		s, err := a.CreateStore(ctx, 1, "second")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = a.CreateCredential(ctx, 9999, admin.CredentialSpec{})
		wantCode(t, err, lrs.ENOTFOUND)
		_, _, err = a.CreateCredential(ctx, s.ID, admin.CredentialSpec{Scopes: []string{"statements/wrote"}})
		wantCode(t, err, lrs.EINVALID)
		_, _, err = a.CreateCredential(ctx, s.ID, admin.CredentialSpec{Key: "has space"})
		wantCode(t, err, lrs.EINVALID)

		info, secret, err := a.CreateCredential(ctx, s.ID, admin.CredentialSpec{Name: "Moodle", Scopes: []string{"statements/write", "statements/read", "statements/write"}})
		if err != nil {
			t.Fatal(err)
		}
		if info.StoreID != s.ID || info.Source != "admin" || !slices.Equal(info.Scopes, []string{"statements/write", "statements/read"}) || len(secret) < 32 {
			t.Fatalf("created %+v secret %q", info, secret)
		}
		stored, err := db.GetCredential(ctx, info.Key)
		if err != nil || !stored.Verify(secret) || stored.Verify("wrong") {
			t.Fatalf("stored credential does not verify its secret: %v", err)
		}
		if string(stored.SecretHash) == secret {
			t.Fatal("secret stored in clear")
		}
		_, _, err = a.CreateCredential(ctx, 1, admin.CredentialSpec{Key: info.Key})
		wantCode(t, err, lrs.ECONFLICT)
		fixed, _, err := a.CreateCredential(ctx, s.ID, admin.CredentialSpec{Key: "lms-sync"})
		if err != nil || fixed.Key != "lms-sync" || !slices.Equal(fixed.Scopes, []string{"all"}) {
			t.Fatalf("given key, default scopes: %+v %v", fixed, err)
		}

		list, err := a.ListCredentials(ctx, s.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("list: %+v %v", list, err)
		}
		if b, _ := json.Marshal(list); json.Valid(b) && (contains(string(b), secret) || contains(string(b), "secret")) {
			t.Errorf("listing shows secrets: %s", b)
		}
		if l1, _ := a.ListCredentials(ctx, 1); len(l1) != 0 {
			t.Errorf("store 1 lists another store's credentials: %+v", l1)
		}

		// Rotation: the old secret stops verifying, the new one does.
		*forgotten = nil
		_, secret2, err := a.RotateCredential(ctx, info.Key)
		if err != nil || secret2 == secret {
			t.Fatalf("rotate: %v", err)
		}
		stored, _ = db.GetCredential(ctx, info.Key)
		if stored.Verify(secret) || !stored.Verify(secret2) || stored.Name != "Moodle" || stored.StoreID != s.ID {
			t.Errorf("after rotation: %+v", stored)
		}
		if !slices.Contains(*forgotten, info.Key) {
			t.Error("rotation did not drop the credential from the auth cache")
		}

		// Scopes and name.
		newName := "LMS"
		got, err := a.UpdateCredential(ctx, info.Key, admin.CredentialUpdate{Scopes: []string{"all/read"}, Name: &newName})
		if err != nil || !slices.Equal(got.Scopes, []string{"all/read"}) || got.Name != "LMS" {
			t.Fatalf("update: %+v %v", got, err)
		}
		if stored, _ = db.GetCredential(ctx, info.Key); !stored.Verify(secret2) {
			t.Error("updating scopes changed the secret")
		}
		_, err = a.UpdateCredential(ctx, info.Key, admin.CredentialUpdate{Scopes: []string{}})
		wantCode(t, err, lrs.EINVALID)
		_, err = a.UpdateCredential(ctx, "nope", admin.CredentialUpdate{})
		wantCode(t, err, lrs.ENOTFOUND)

		// Config credentials are changed in the config.
		salt, hash := lrs.HashSecret("config-secret")
		db.PutCredential(ctx, &lrs.Credential{Key: "cfg", StoreID: 1, Scopes: []string{"all"}, SecretSalt: salt, SecretHash: hash, Source: "config"})
		_, _, err = a.RotateCredential(ctx, "cfg")
		wantCode(t, err, lrs.ECONFLICT)
		wantCode(t, a.DeleteCredential(ctx, "cfg"), lrs.ECONFLICT)

		if err := a.DeleteCredential(ctx, info.Key); err != nil {
			t.Fatal(err)
		}
		_, err = db.GetCredential(ctx, info.Key)
		wantCode(t, err, lrs.ENOTFOUND)
		wantCode(t, a.DeleteCredential(ctx, info.Key), lrs.ENOTFOUND)

		// Deleting the store deletes its credentials and forgets them.
		*forgotten = nil
		if err := a.DeleteStore(ctx, s.ID, "second"); err != nil {
			t.Fatal(err)
		}
		_, err = db.GetCredential(ctx, "lms-sync")
		wantCode(t, err, lrs.ENOTFOUND)
		if !slices.Contains(*forgotten, "lms-sync") {
			t.Error("store deletion did not forget its credentials")
		}
	})
}

func TestTenantStoreIsolationStatsAndDelete(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _ := newAdmin(db)
		sA, _ := a.CreateStore(ctx, 1, "a")
		sB, _ := a.CreateStore(ctx, 1, "b")
		svc := &lrs.Service{Statements: db, DefaultLimit: 100, MaxLimit: 500, Router: allRouter{}}
		docs := &lrs.Documents{Store: db}
		store := func(p *lrs.Principal, s map[string]any) string {
			ids, err := svc.StoreStatements(ctx, p, xapi.V200, []map[string]any{clone(s)}, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			return ids[0]
		}
		idA := store(writerIn(sA.ID), stmt("", "ann", "completed", "x", nil))
		store(writerIn(sA.ID), stmt("", "bob", "completed", "y", nil))
		idB := store(writerIn(sB.ID), stmt("", "ann", "completed", "x", nil))
		store(writerIn(sA.ID), voiding(idA))
		if _, err := docs.Put(ctx, writerIn(sA.ID), xapi.V200, &lrs.DocumentWrite{Key: stateKey("s1"), ContentType: "application/json", Body: []byte(`{"a":1}`)}); err != nil {
			t.Fatal(err)
		}
		a.CreateCredential(ctx, sA.ID, admin.CredentialSpec{})
		a.CreatePerson(ctx, sA.ID, "Ann", []json.RawMessage{json.RawMessage(`{"mbox":"mailto:ann@example.org"}`)})

		// Isolation: a store sees only its own statements.
		if _, err := db.GetStatement(ctx, sB.ID, idA); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("store B sees A's statement: %v", err)
		}
		if got := queryIDs(t, svc, lrs.Query{}); len(got) != 0 {
			t.Errorf("store 1 sees %d statements of other stores", len(got))
		}

		st, err := a.StoreStats(ctx, sA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Statements != 3 || st.Voided != 1 || st.Documents != 1 || st.Activities != 2 || st.Credentials != 1 ||
			st.Persons != 1 || st.PendingForwards != 3 || st.FirstStored == nil || st.LastStored == nil || st.LastStored.Before(*st.FirstStored) {
			b, _ := json.Marshal(st)
			t.Errorf("stats of A: %s", b)
		}
		_, err = a.StoreStats(ctx, 9999)
		wantCode(t, err, lrs.ENOTFOUND)
		if st, _ := a.StoreStats(ctx, 1); st.Statements != 0 || st.FirstStored != nil {
			t.Errorf("stats of the empty default store: %+v", st)
		}

		// Deleting A removes everything of A and nothing of B.
		if err := a.DeleteStore(ctx, sA.ID, "a"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetStatement(ctx, sB.ID, idB); err != nil {
			t.Errorf("B's statement gone with A: %v", err)
		}
		if st, _ := a.StoreStats(ctx, sB.ID); st.Statements != 1 || st.PendingForwards != 1 {
			t.Errorf("B after deleting A: %+v", st)
		}
		if _, err := db.GetStatement(ctx, sA.ID, idA); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("A's statement survived: %v", err)
		}
		if _, err := docs.Get(ctx, writerIn(sA.ID), stateKey("s1")); lrs.ErrorCode(err) != lrs.ENOTFOUND {
			t.Errorf("A's document survived: %v", err)
		}
		if ps, _ := db.ListPersons(ctx, sA.ID, 0, 10); len(ps) != 0 {
			t.Errorf("A's persons survived: %+v", ps)
		}
		// A store created now (possibly reusing the id on SQLite) starts empty.
		sC, _ := a.CreateStore(ctx, 1, "c")
		if st, _ := a.StoreStats(ctx, sC.ID); st.Statements != 0 || st.Persons != 0 || st.Credentials != 0 || st.Documents != 0 {
			t.Errorf("new store not empty: %+v", st)
		}
	})
}

func TestPersons(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _ := newAdmin(db)
		s, _ := a.CreateStore(ctx, 1, "p")
		other, _ := a.CreateStore(ctx, 1, "q")
		raw := func(v ...string) []json.RawMessage {
			out := make([]json.RawMessage, len(v))
			for i, s := range v {
				out[i] = json.RawMessage(s)
			}
			return out
		}
		mbox := func(n string) string { return `{"mbox":"mailto:` + n + `@example.org"}` }
		moodle := `{"objectType":"Agent","account":{"homePage":"https://moodle.example.org","name":"42"}}`

		// Validation names the agent.
		_, err := a.CreatePerson(ctx, s.ID, "Ann", raw(mbox("ann"), `{"mbox":"ann"}`))
		if lrs.ErrorCode(err) != lrs.EINVALID || !contains(lrs.ErrorMessage(err), "agents[1]") {
			t.Errorf("bad agent: %v", err)
		}
		_, err = a.CreatePerson(ctx, s.ID, "Ann", nil)
		wantCode(t, err, lrs.EINVALID)
		_, err = a.CreatePerson(ctx, 9999, "Ann", raw(mbox("ann")))
		wantCode(t, err, lrs.ENOTFOUND)

		ann, err := a.CreatePerson(ctx, s.ID, "Ann", raw(mbox("ann"), moodle, mbox("ann")))
		if err != nil {
			t.Fatal(err)
		}
		if ann.StoreID != s.ID || len(ann.Agents) != 2 || ann.Name != "Ann" {
			t.Fatalf("created %+v", ann)
		}
		// An agent belongs to one person per store...
		_, err = a.CreatePerson(ctx, s.ID, "Other", raw(mbox("ann")))
		wantCode(t, err, lrs.ECONFLICT)
		// ...but the same agent may be a person in another store.
		if _, err := a.CreatePerson(ctx, other.ID, "Ann elsewhere", raw(mbox("ann"))); err != nil {
			t.Fatal(err)
		}
		// Store checks: a person of another store is not found.
		_, err = a.GetPerson(ctx, other.ID, ann.ID)
		wantCode(t, err, lrs.ENOTFOUND)
		_, err = a.AddPersonAgents(ctx, other.ID, ann.ID, raw(mbox("x")))
		wantCode(t, err, lrs.ENOTFOUND)
		wantCode(t, a.DeletePerson(ctx, other.ID, ann.ID), lrs.ENOTFOUND)

		ann2, err := a.CreatePerson(ctx, s.ID, "", raw(mbox("ann.smith")))
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.MergePersons(ctx, other.ID, ann.ID, ann2.ID)
		wantCode(t, err, lrs.ENOTFOUND)
		_, err = a.MergePersons(ctx, s.ID, ann.ID, ann.ID)
		wantCode(t, err, lrs.EINVALID)
		merged, err := a.MergePersons(ctx, s.ID, ann.ID, ann2.ID)
		if err != nil || len(merged.Agents) != 3 {
			t.Fatalf("merge: %+v %v", merged, err)
		}
		_, err = a.GetPerson(ctx, s.ID, ann2.ID)
		wantCode(t, err, lrs.ENOTFOUND)
		if p, err := db.PersonOfAgent(ctx, s.ID, "mbox::mailto:ann.smith@example.org"); err != nil || p.ID != ann.ID {
			t.Errorf("person of merged agent: %+v %v", p, err)
		}
		_, err = db.PersonOfAgent(ctx, s.ID, "mbox::mailto:nobody@example.org")
		wantCode(t, err, lrs.ENOTFOUND)

		// Adding agents: own agents are a no-op, another person's a conflict.
		bob, _ := a.CreatePerson(ctx, s.ID, "Bob", raw(mbox("bob")))
		if p, err := a.AddPersonAgents(ctx, s.ID, ann.ID, raw(mbox("ann"), `{"openid":"https://ann.example.org/"}`)); err != nil || len(p.Agents) != 4 {
			t.Fatalf("add agents: %+v %v", p, err)
		}
		_, err = a.AddPersonAgents(ctx, s.ID, ann.ID, raw(mbox("bob")))
		wantCode(t, err, lrs.ECONFLICT)

		// AttachAgents: joins the persons of the agents, or makes one.
		p, err := db.AttachAgents(ctx, s.ID, "", []lrs.PersonAgent{
			{Key: "mbox::mailto:bob@example.org", Agent: []byte(mbox("bob"))},
			{Key: "mbox::mailto:ann@example.org", Agent: []byte(mbox("ann"))},
			{Key: "mbox::mailto:b2@example.org", Agent: []byte(mbox("b2"))},
		})
		if err != nil || p.ID != ann.ID || len(p.Agents) != 6 {
			t.Fatalf("attach: %+v %v", p, err)
		}
		_, err = a.GetPerson(ctx, s.ID, bob.ID)
		wantCode(t, err, lrs.ENOTFOUND)
		fresh, err := db.AttachAgents(ctx, s.ID, "Cat", []lrs.PersonAgent{{Key: "mbox::mailto:cat@example.org", Agent: []byte(mbox("cat"))}})
		if err != nil || fresh.ID == ann.ID || fresh.Name != "Cat" || len(fresh.Agents) != 1 {
			t.Fatalf("attach new: %+v %v", fresh, err)
		}

		// Listing pages by id.
		for i := 0; i < 3; i++ {
			a.CreatePerson(ctx, s.ID, "", raw(mbox("p"+string(rune('a'+i)))))
		}
		var seen []int64
		var after int64
		for {
			page, more, err := a.ListPersons(ctx, s.ID, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				seen = append(seen, p.ID)
				if len(p.Agents) == 0 {
					t.Errorf("listed person %d without agents", p.ID)
				}
			}
			if !more {
				break
			}
			after = page[len(page)-1].ID
		}
		if len(seen) != 5 || !slices.IsSorted(seen) {
			t.Errorf("listed %v, want 5 persons by id", seen)
		}

		// AttachAgentSets: several sets in one transaction. A set already one
		// person changes nothing; a set sharing an agent with an earlier set
		// of the same call joins its person.
		ag := func(name string) lrs.PersonAgent {
			return lrs.PersonAgent{Key: "mbox::mailto:" + name + "@example.org", Agent: []byte(mbox(name))}
		}
		if err := db.AttachAgentSets(ctx, s.ID, []lrs.AgentSet{
			{Name: "Cat", Agents: []lrs.PersonAgent{ag("cat")}},
			{Name: "Dee", Agents: []lrs.PersonAgent{ag("dee"), ag("dee2")}},
			{Name: "Dee again", Agents: []lrs.PersonAgent{ag("dee2"), ag("dee3")}},
		}); err != nil {
			t.Fatalf("attach sets: %v", err)
		}
		if p, err := db.PersonOfAgent(ctx, s.ID, "mbox::mailto:cat@example.org"); err != nil || p.ID != fresh.ID || len(p.Agents) != 1 {
			t.Errorf("a set already one person changed: %+v %v", p, err)
		}
		dee, err := db.PersonOfAgent(ctx, s.ID, "mbox::mailto:dee3@example.org")
		if err != nil || dee.Name != "Dee" || len(dee.Agents) != 3 {
			t.Errorf("sets sharing an agent: %+v %v", dee, err)
		}

		if err := a.DeletePerson(ctx, s.ID, fresh.ID); err != nil {
			t.Fatal(err)
		}
		_, err = db.PersonOfAgent(ctx, s.ID, "mbox::mailto:cat@example.org")
		wantCode(t, err, lrs.ENOTFOUND)
	})
}

func TestPersonStatements(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _ := newAdmin(db)
		s, _ := a.CreateStore(ctx, 1, "ps")
		svc := service(db)
		w := writerIn(s.ID)
		put := func(st map[string]any) string {
			ids, err := svc.StoreStatements(ctx, w, xapi.V200, []map[string]any{clone(st)}, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			return ids[0]
		}
		moodleAnn := map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "https://moodle.example.org", "name": "42"}}
		var want []string
		want = append(want, put(stmt("", "ann", "completed", "a", nil)))
		put(stmt("", "bob", "completed", "a", nil))
		m := stmt("", "x", "attempted", "b", nil)
		m["actor"] = moodleAnn
		want = append(want, put(m))
		want = append(want, put(stmt("", "ann", "passed", "c", nil)))
		// Ann's statements in the default store are not hers here.
		mustStore(t, svc, stmt("", "ann", "completed", "z", nil))

		p, err := a.CreatePerson(ctx, s.ID, "Ann", []json.RawMessage{
			json.RawMessage(`{"mbox":"mailto:ann@example.org"}`),
			json.RawMessage(`{"account":{"homePage":"https://moodle.example.org","name":"42"}}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		q := lrs.Query{Limit: 2}
		for pages := 0; ; pages++ {
			res, more, err := a.PersonStatements(ctx, s.ID, p.ID, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				got = append(got, r.ID)
			}
			if !more {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			q.After = res[len(res)-1].PK
		}
		slices.Reverse(want) // newest first
		if !slices.Equal(got, want) {
			t.Errorf("person statements %v, want %v", got, want)
		}
		_, _, err = a.PersonStatements(ctx, 1, p.ID, lrs.Query{})
		wantCode(t, err, lrs.ENOTFOUND)
	})
}
