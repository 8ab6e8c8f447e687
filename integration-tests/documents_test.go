package integration_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/internal/testmysql"
)

func TestDocumentsSQLite(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(configTmpl, "sqlite", filepath.Join(dir, "lrs.db"))), 0o600)
	p := startBridge(t, dir, []string{"ADMIN_SECRET=admin-secret-0123456789"}, "serve", "--config", cfg)
	documentsSuite(t, p)
}

func TestDocumentsMySQL(t *testing.T) {
	dsn := testmysql.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(configTmpl, "mysql", dsn)), 0o600)
	env := []string{"ADMIN_SECRET=admin-secret-0123456789"}
	if out, code := runBridge(t, dir, env, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("migrate: exit %d, %s", code, out)
	}
	p := startBridge(t, dir, env, "serve", "--config", cfg)
	documentsSuite(t, p)
}

// qs builds a query string; map values are JSON-encoded (agents).
func qs(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return "?" + v.Encode()
}

const (
	docAgent    = `{"objectType":"Agent","mbox":"mailto:doc@example.org","name":"Doc"}`
	docActivity = "http://example.org/activities/doc"
)

func quotedSHA1(b []byte) string {
	h := sha1.Sum(b)
	return `"` + hex.EncodeToString(h[:]) + `"`
}

// documentsSuite exercises the document, Activities and Agents resources as
// a client would.
func documentsSuite(t *testing.T, p *proc) {
	admin := &client{t: t, endpoint: p.endpoint, user: "admin", secret: "admin-secret-0123456789", version: "2.0.0"}
	old := &client{t: t, endpoint: p.endpoint, user: "admin", secret: "admin-secret-0123456789", version: "1.0.3"}

	t.Run("state round trip, byte for byte", func(t *testing.T) {
		reg := "6FA459EA-EE8A-3CA4-894E-DB77E160355E"
		q := qs("activityId", docActivity, "agent", docAgent, "registration", reg, "stateId", "bytes")
		body := []byte("\x00\x01binary\xff")
		r := admin.expect(204, "PUT", "/activities/state"+q, body, "Content-Type", "application/x-custom")
		if r.Header.Get("ETag") != quotedSHA1(body) {
			t.Errorf("PUT ETag %q", r.Header.Get("ETag"))
		}
		r = admin.expect(200, "GET", "/activities/state"+q, nil)
		if string(r.Body) != string(body) || r.Header.Get("Content-Type") != "application/x-custom" ||
			r.Header.Get("ETag") != quotedSHA1(body) || r.Header.Get("Last-Modified") == "" {
			t.Errorf("GET: %q %v", r.Body, r.Header)
		}
		// The registration is case-insensitive; without it, it is another document.
		admin.expect(200, "GET", "/activities/state"+qs("activityId", docActivity, "agent", docAgent, "registration", strings.ToLower(reg), "stateId", "bytes"), nil)
		admin.expect(404, "GET", "/activities/state"+qs("activityId", docActivity, "agent", docAgent, "stateId", "bytes"), nil)
		// HEAD: same headers, no body.
		r = admin.expect(200, "HEAD", "/activities/state"+q, nil)
		if len(r.Body) != 0 || r.Header.Get("ETag") != quotedSHA1(body) {
			t.Errorf("HEAD: %q %v", r.Body, r.Header)
		}
	})

	t.Run("state merge, concurrency and listing", func(t *testing.T) {
		base := []string{"activityId", docActivity, "agent", docAgent}
		one := func(id string) string { return qs(append(base, "stateId", id)...) }
		admin.expect(204, "POST", "/activities/state"+one("m"), `{"a":1,"b":{"c":2}}`)
		admin.expect(204, "POST", "/activities/state"+one("m"), `{"b":{"d":3},"e":"<&>"}`)
		r := admin.expect(200, "GET", "/activities/state"+one("m"), nil)
		var got map[string]any
		r.JSON(t, &got)
		want := map[string]any{"a": 1.0, "b": map[string]any{"d": 3.0}, "e": "<&>"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("merged %s", r.Body)
		}
		etag := r.Header.Get("ETag")
		// Merging needs JSON on both sides; nothing changes on failure.
		admin.expect(400, "POST", "/activities/state"+one("m"), "x=1", "Content-Type", "text/plain")
		admin.expect(400, "POST", "/activities/state"+one("m"), `{"a":`)
		admin.expect(400, "POST", "/activities/state"+one("m"), `[1,2]`)
		// 2.0: replacing needs If-Match; 1.0.3 State permits it without.
		admin.expect(409, "PUT", "/activities/state"+one("m"), `{"z":1}`)
		admin.expect(412, "PUT", "/activities/state"+one("m"), `{"z":1}`, "If-Match", `"0000"`)
		admin.expect(412, "PUT", "/activities/state"+one("m"), `{"z":1}`, "If-None-Match", "*")
		admin.expect(412, "DELETE", "/activities/state"+one("m"), nil, "If-Match", `"0000"`)
		if r := admin.expect(200, "GET", "/activities/state"+one("m"), nil); r.Header.Get("ETag") != etag {
			t.Fatal("a rejected request changed the document")
		}
		admin.expect(204, "PUT", "/activities/state"+one("m"), `{"z":1}`, "If-Match", etag)
		old.expect(204, "PUT", "/activities/state"+one("m"), `{"z":2}`)

		admin.expect(204, "PUT", "/activities/state"+one("n"), `{}`)
		r = admin.expect(200, "GET", "/activities/state"+qs(base...), nil)
		var ids []string
		r.JSON(t, &ids)
		// Without registration: every registration's ids ("bytes" has one).
		if !reflect.DeepEqual(ids, []string{"bytes", "m", "n"}) || r.Header.Get("Last-Modified") == "" {
			t.Errorf("ids %s %v", r.Body, r.Header)
		}
		r = admin.expect(200, "GET", "/activities/state"+qs(append(base, "since", "2999-01-01T00:00:00Z")...), nil)
		if strings.TrimSpace(string(r.Body)) != "[]" {
			t.Errorf("since in the future: %s", r.Body)
		}
		// DELETE without stateId clears the context (every registration).
		admin.expect(204, "DELETE", "/activities/state"+qs(base...), nil)
		r = admin.expect(200, "GET", "/activities/state"+qs(base...), nil)
		if strings.TrimSpace(string(r.Body)) != "[]" {
			t.Errorf("after DELETE all: %s", r.Body)
		}
		admin.expect(404, "GET", "/activities/state"+qs("activityId", docActivity, "agent", docAgent,
			"registration", "6fa459ea-ee8a-3ca4-894e-db77e160355e", "stateId", "bytes"), nil)
	})

	t.Run("profiles", func(t *testing.T) {
		ap := qs("activityId", docActivity, "profileId", "p")
		old.expect(400, "PUT", "/activities/profile"+ap, `{"a":1}`) // 1.0.3: a header is required
		admin.expect(204, "PUT", "/activities/profile"+ap, `{"a":1}`, "If-None-Match", "*")
		admin.expect(412, "PUT", "/activities/profile"+ap, `{"a":2}`, "If-None-Match", "*")
		old.expect(409, "PUT", "/activities/profile"+ap, `{"a":2}`)
		r := admin.expect(200, "GET", "/activities/profile"+qs("activityId", docActivity), nil)
		if strings.TrimSpace(string(r.Body)) != `["p"]` {
			t.Errorf("activity profile ids: %s", r.Body)
		}
		admin.expect(400, "DELETE", "/activities/profile"+qs("activityId", docActivity), nil) // profileId required
		admin.expect(204, "DELETE", "/activities/profile"+ap, nil)
		admin.expect(404, "GET", "/activities/profile"+ap, nil)

		gp := qs("agent", docAgent, "profileId", "settings")
		admin.expect(204, "POST", "/agents/profile"+gp, `{"theme":"dark"}`)
		r = admin.expect(200, "GET", "/agents/profile"+gp, nil)
		if string(r.Body) != `{"theme":"dark"}` || r.Header.Get("ETag") != quotedSHA1(r.Body) {
			t.Errorf("agent profile: %s %v", r.Body, r.Header)
		}
		// The same agent, other name: same IFI, same documents.
		admin.expect(200, "GET", "/agents/profile"+qs("agent", `{"mbox":"mailto:doc@example.org"}`, "profileId", "settings"), nil)
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, u := range []string{
			"/activities/state" + qs("agent", docAgent, "stateId", "s"),                                                 // no activityId
			"/activities/state" + qs("activityId", "not an iri", "agent", docAgent, "stateId", "s"),                     // bad IRI
			"/activities/state" + qs("activityId", docActivity, "stateId", "s"),                                         // no agent
			"/activities/state" + qs("activityId", docActivity, "agent", "{", "stateId", "s"),                           // agent not JSON
			"/activities/state" + qs("activityId", docActivity, "agent", `{"name":"x"}`, "stateId", "s"),                // no IFI
			"/activities/state" + qs("activityId", docActivity, "agent", docAgent, "registration", "x", "stateId", "s"), // bad UUID
			"/activities/state" + qs("activityId", docActivity, "agent", docAgent, "stateId", "s", "foo", "1"),          // unknown
			"/activities/state" + qs("activityId", docActivity, "agent", docAgent, "since", "yesterday"),                // bad since
			"/activities/state" + qs("activityId", docActivity, "agent", docAgent, "stateId", "s") + "&stateId=t",       // repeated
			"/agents/profile" + qs("profileId", "p"),
			"/activities/profile" + qs("profileId", "p"),
			"/activities", "/agents",
			"/agents" + qs("agent", `{"objectType":"Agent"}`),
		} {
			r := admin.do("GET", u, nil)
			if r.Status != 400 {
				t.Errorf("GET %s: %d, want 400: %s", u, r.Status, r.Body)
			}
		}
		admin.expect(400, "PUT", "/activities/state"+qs("activityId", docActivity, "agent", docAgent), `{}`) // stateId required
		admin.expect(400, "DELETE", "/activities/state"+qs("activityId", docActivity, "agent", docAgent, "since", "2020-01-01T00:00:00Z"), nil)
	})

	t.Run("scopes", func(t *testing.T) {
		writer := &client{t: t, endpoint: p.endpoint, version: "2.0.0", user: "writer", secret: "writer-secret-0123456789"}
		q := qs("activityId", docActivity, "agent", docAgent, "stateId", "w")
		writer.expect(403, "PUT", "/activities/state"+q, `{}`)
		writer.expect(403, "GET", "/activities/state"+q, nil)
		writer.expect(403, "GET", "/activities"+qs("activityId", docActivity), nil)
		admin.expect(404, "GET", "/activities/state"+q, nil)
	})

	t.Run("activities and agents", func(t *testing.T) {
		id := "http://example.org/activities/canonical"
		s1 := statement("ann", "attempted", "x")
		s1["object"] = map[string]any{"id": id, "definition": map[string]any{"name": map[string]any{"en-US": "Canon"}}}
		s2 := statement("bob", "attempted", "x")
		s2["object"] = map[string]any{"id": id, "definition": map[string]any{"name": map[string]any{"fr-FR": "Canon (fr)"}, "type": "http://example.org/t"}}
		admin.expect(200, "POST", "/statements", []any{s1, s2})
		r := admin.expect(200, "GET", "/activities"+qs("activityId", id), nil)
		var act map[string]any
		r.JSON(t, &act)
		want := map[string]any{"objectType": "Activity", "id": id, "definition": map[string]any{
			"name": map[string]any{"en-US": "Canon", "fr-FR": "Canon (fr)"}, "type": "http://example.org/t"}}
		if !reflect.DeepEqual(act, want) {
			t.Errorf("activity %s", r.Body)
		}
		r = admin.expect(200, "GET", "/activities"+qs("activityId", "http://example.org/never"), nil)
		if strings.TrimSpace(string(r.Body)) != `{"id":"http://example.org/never","objectType":"Activity"}` {
			t.Errorf("unknown activity: %s", r.Body)
		}
		r = admin.expect(200, "GET", "/agents"+qs("agent", docAgent), nil)
		var person map[string]any
		r.JSON(t, &person)
		wantP := map[string]any{"objectType": "Person", "name": []any{"Doc"}, "mbox": []any{"mailto:doc@example.org"}}
		if !reflect.DeepEqual(person, wantP) {
			t.Errorf("person %s", r.Body)
		}
		if r := admin.do("HEAD", "/agents"+qs("agent", docAgent), nil); r.Status != http.StatusOK || len(r.Body) != 0 {
			t.Errorf("HEAD /agents: %d %q", r.Status, r.Body)
		}
	})
}
