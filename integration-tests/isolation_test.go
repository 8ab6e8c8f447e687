package integration_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/internal/testmysql"
)

func TestStoreIsolationSQLite(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(tenantConfigTmpl, "sqlite", filepath.Join(dir, "lrs.db"))), 0o600)
	isolationSuite(t, startBridge(t, dir, nil, "serve", "--config", cfg))
}

func TestStoreIsolationMySQL(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(tenantConfigTmpl, "mysql", testmysql.New(t))), 0o600)
	if out, code := runBridge(t, dir, nil, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("migrate: %s", out)
	}
	isolationSuite(t, startBridge(t, dir, nil, "serve", "--config", cfg))
}

// newStoreClient creates a store through the admin API and returns an xAPI
// client with a credential of that store (scope all).
func newStoreClient(t *testing.T, p *proc, a *tnAdmin, name string) *client {
	t.Helper()
	var st struct{ ID int64 }
	a.callJSON(201, "POST", p.base+"/api/v1/orgs/1/stores", map[string]any{"name": name}, &st)
	var cred struct{ Key, Secret string }
	a.callJSON(201, "POST", fmt.Sprintf("%s/api/v1/stores/%d/credentials", p.base, st.ID), map[string]any{"scopes": []string{"all"}}, &cred)
	return &client{t: t, endpoint: p.endpoint, user: cred.Key, secret: cred.Secret, version: "2.0.0"}
}

// isolationSuite: a credential of one store can never read or write
// another, for every xAPI resource.
func isolationSuite(t *testing.T, p *proc) {
	a := &tnAdmin{t: t, c: &client{t: t, endpoint: p.endpoint}}
	A := newStoreClient(t, p, a, "store-a")
	B := newStoreClient(t, p, a, "store-b")

	agent := `{"objectType":"Agent","mbox":"mailto:iso@example.org"}`
	activity := "http://example.org/isolation/activity"
	text := []byte("only for store A")
	sum := sha256.Sum256(text)
	sha := hex.EncodeToString(sum[:])
	stmtID := uuid.NewString()
	st := map[string]any{
		"id":    stmtID,
		"actor": map[string]any{"mbox": "mailto:iso@example.org"},
		"verb":  map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed"},
		"object": map[string]any{"id": activity, "definition": map[string]any{
			"name": map[string]any{"en": "Secret course of store A"}}},
		"attachments": []any{map[string]any{"usageType": "http://example.org/usage", "display": map[string]any{"en": "a"},
			"contentType": "text/plain", "length": len(text), "sha2": sha}},
	}
	js, _ := json.Marshal(st)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{"Content-Type": {"application/json"}}
	w, _ := mw.CreatePart(h)
	w.Write(js)
	h = textproto.MIMEHeader{"Content-Type": {"text/plain"}, "Content-Transfer-Encoding": {"binary"}, "X-Experience-Api-Hash": {sha}}
	w, _ = mw.CreatePart(h)
	w.Write(text)
	mw.Close()
	A.expect(200, "POST", "/statements", body.Bytes(), "Content-Type", "multipart/mixed; boundary="+mw.Boundary())

	stateQ := "?activityId=" + url.QueryEscape(activity) + "&agent=" + url.QueryEscape(agent)
	A.expect(204, "PUT", "/activities/state"+stateQ+"&stateId=bookmark", `{"page":7}`)
	A.expect(204, "PUT", "/activities/profile?activityId="+url.QueryEscape(activity)+"&profileId=p1", `{"a":1}`, "If-None-Match", "*")
	A.expect(204, "PUT", "/agents/profile?agent="+url.QueryEscape(agent)+"&profileId=p1", `{"b":2}`, "If-None-Match", "*")

	t.Run("statements", func(t *testing.T) {
		B.expect(404, "GET", "/statements?statementId="+stmtID, nil)
		var res struct{ Statements []any }
		B.expect(200, "GET", "/statements", nil).JSON(t, &res)
		if len(res.Statements) != 0 {
			t.Errorf("store B sees %d statements of store A", len(res.Statements))
		}
		B.expect(200, "GET", "/statements?agent="+url.QueryEscape(agent)+"&related_agents=true", nil).JSON(t, &res)
		if len(res.Statements) != 0 {
			t.Errorf("store B finds store A's statements by agent")
		}
		// B may store a statement with the same id: ids are per store.
		other := map[string]any{"id": stmtID, "actor": map[string]any{"mbox": "mailto:b@example.org"},
			"verb": map[string]any{"id": "http://adlnet.gov/expapi/verbs/attempted"}, "object": map[string]any{"id": "http://example.org/b"}}
		B.expect(204, "PUT", "/statements?statementId="+stmtID, other)
		var back map[string]any
		A.expect(200, "GET", "/statements?statementId="+stmtID, nil).JSON(t, &back)
		if back["verb"].(map[string]any)["id"] != "http://adlnet.gov/expapi/verbs/completed" {
			t.Errorf("store B's write changed store A's statement")
		}
	})
	t.Run("attachments", func(t *testing.T) {
		// B references the same hash without sending the part: it has no
		// copy of A's bytes to fall back on.
		ref := map[string]any{"actor": map[string]any{"mbox": "mailto:b@example.org"},
			"verb": map[string]any{"id": "http://adlnet.gov/expapi/verbs/attempted"}, "object": map[string]any{"id": "http://example.org/b"},
			"attachments": []any{map[string]any{"usageType": "http://example.org/usage", "display": map[string]any{"en": "a"},
				"contentType": "text/plain", "length": len(text), "sha2": sha, "fileUrl": "http://example.org/x"}}}
		var ids []string
		B.expect(200, "POST", "/statements", ref).JSON(t, &ids)
		r := B.expect(200, "GET", "/statements?attachments=true&statementId="+ids[0], nil)
		if bytes.Contains(r.Body, text) {
			t.Error("store B received store A's attachment bytes")
		}
		r = A.expect(200, "GET", "/statements?attachments=true&statementId="+stmtID, nil)
		if !bytes.Contains(r.Body, text) {
			t.Error("store A lost its attachment")
		}
	})
	t.Run("state", func(t *testing.T) {
		B.expect(404, "GET", "/activities/state"+stateQ+"&stateId=bookmark", nil)
		r := B.expect(200, "GET", "/activities/state"+stateQ, nil)
		if strings.Contains(string(r.Body), "bookmark") {
			t.Errorf("store B lists store A's state ids: %s", r.Body)
		}
		B.expect(204, "DELETE", "/activities/state"+stateQ, nil)
		A.expect(200, "GET", "/activities/state"+stateQ+"&stateId=bookmark", nil)
	})
	t.Run("activity profile", func(t *testing.T) {
		B.expect(404, "GET", "/activities/profile?activityId="+url.QueryEscape(activity)+"&profileId=p1", nil)
		r := B.expect(200, "GET", "/activities/profile?activityId="+url.QueryEscape(activity), nil)
		if strings.Contains(string(r.Body), "p1") {
			t.Errorf("store B lists store A's profiles: %s", r.Body)
		}
	})
	t.Run("agent profile", func(t *testing.T) {
		B.expect(404, "GET", "/agents/profile?agent="+url.QueryEscape(agent)+"&profileId=p1", nil)
		B.expect(204, "DELETE", "/agents/profile?agent="+url.QueryEscape(agent)+"&profileId=p1", nil)
		A.expect(200, "GET", "/agents/profile?agent="+url.QueryEscape(agent)+"&profileId=p1", nil)
	})
	t.Run("activities", func(t *testing.T) {
		r := B.expect(200, "GET", "/activities?activityId="+url.QueryEscape(activity), nil)
		if strings.Contains(string(r.Body), "Secret course") {
			t.Errorf("store B sees store A's activity definition: %s", r.Body)
		}
		r = A.expect(200, "GET", "/activities?activityId="+url.QueryEscape(activity), nil)
		if !strings.Contains(string(r.Body), "Secret course") {
			t.Errorf("store A lost its activity definition: %s", r.Body)
		}
	})
	t.Run("agents", func(t *testing.T) {
		// The Person object is built from the agent asked for: nothing of
		// another store's data appears in it.
		r := B.expect(200, "GET", "/agents?agent="+url.QueryEscape(agent), nil)
		if strings.Contains(string(r.Body), "Secret") {
			t.Errorf("agents: %s", r.Body)
		}
	})
}
