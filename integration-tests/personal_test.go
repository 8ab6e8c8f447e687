package integration_test

import (
	"encoding/json"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The personal-LRS registrations act on the store the request names, by id
// or name, on every verb, and refuse fields they do not know (issue 14 bug
// 4: {"stor_id":2} or {"store":"org/name"} registered in store 1, and a
// DELETE with store_id=2 removed store 1's registration).
func TestPersonalLRSStores(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startFw(t, dir, fwConfig(t, dir, "", "rules:\n  - name: learners-own\n    targets: [personal]\n"))
	mk := func(path string, body any) map[string]any {
		r := adminCall(t, p, "POST", path, body)
		if r.Status != 201 {
			t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
		}
		var v map[string]any
		r.JSON(t, &v)
		return v
	}
	moodle := mk("/orgs/1/stores", map[string]any{"name": "moodle"})
	org := mk("/orgs", map[string]any{"name": "acme"})
	hr := mk("/orgs/"+jsonNumber(org["id"])+"/stores", map[string]any{"name": "hr"})
	ann := map[string]any{"mbox": "mailto:ann@example.org"}
	reg := func(extra map[string]any) *response {
		body := map[string]any{"agent": ann, "endpoint": "https://ann-lrs.example/xapi", "username": "ann", "password": "pw"}
		for k, v := range extra {
			body[k] = v
		}
		return adminCall(t, p, "POST", "/personal-lrs", body)
	}
	storeOf := func(r *response) string {
		var v struct {
			StoreID json.Number `json:"store_id"`
		}
		r.JSON(t, &v)
		return v.StoreID.String()
	}

	if r := reg(map[string]any{"stor_id": 2}); r.Status != 400 || !strings.Contains(string(r.Body), "stor_id") {
		t.Errorf("misspelt field: %d %s, want 400 naming stor_id", r.Status, r.Body)
	}
	if r := reg(map[string]any{"store": "nosuch"}); r.Status != 404 || !strings.Contains(string(r.Body), "nosuch") {
		t.Errorf("unknown store: %d %s, want 404 naming it", r.Status, r.Body)
	}
	if r := reg(map[string]any{"store_id": moodle["id"], "store": "acme/hr"}); r.Status != 400 {
		t.Errorf("store_id and store naming different stores: %d %s, want 400", r.Status, r.Body)
	}
	for _, c := range []struct {
		extra map[string]any
		want  string
	}{
		{nil, "1"},
		{map[string]any{"store": "moodle"}, jsonNumber(moodle["id"])},
		{map[string]any{"store": "acme/hr"}, jsonNumber(hr["id"])},
		{map[string]any{"store_id": moodle["id"]}, jsonNumber(moodle["id"])},
		{map[string]any{"store": hr["id"]}, jsonNumber(hr["id"])},
	} {
		r := reg(c.extra)
		if r.Status != 201 || storeOf(r) != c.want {
			t.Errorf("register with %v: %d %s, want 201 in store %s", c.extra, r.Status, r.Body, c.want)
		}
	}
	count := func(query string) int {
		r := adminCall(t, p, "GET", "/personal-lrs"+query, nil)
		if r.Status != 200 {
			t.Fatalf("GET /personal-lrs%s: %d %s", query, r.Status, r.Body)
		}
		var v struct {
			All []json.RawMessage `json:"personal_lrs"`
		}
		r.JSON(t, &v)
		return len(v.All)
	}
	if n := count(""); n != 3 {
		t.Errorf("every store: %d registrations, want 3", n)
	}
	if n := count("?store=moodle"); n != 1 {
		t.Errorf("?store=moodle: %d registrations, want 1", n)
	}
	if r := adminCall(t, p, "GET", "/personal-lrs?stor=moodle", nil); r.Status != 400 {
		t.Errorf("misspelt parameter: %d %s, want 400", r.Status, r.Body)
	}
	agentQ := "agent=" + url.QueryEscape(`{"mbox":"mailto:ann@example.org"}`)
	if r := adminCall(t, p, "DELETE", "/personal-lrs?"+agentQ+"&store_id="+jsonNumber(moodle["id"]), nil); r.Status != 204 {
		t.Fatalf("DELETE in store moodle: %d %s", r.Status, r.Body)
	}
	if count("?store=moodle") != 0 || count("?store_id=1") != 1 || count("?store=acme/hr") != 1 {
		t.Errorf("DELETE with store_id removed another store's registration: moodle %d, default %d, acme/hr %d",
			count("?store=moodle"), count("?store_id=1"), count("?store=acme/hr"))
	}
	if r := adminCall(t, p, "DELETE", "/personal-lrs?"+agentQ+"&store=acme/hr", nil); r.Status != 204 || count("?store=acme/hr") != 0 || count("") != 1 {
		t.Errorf("DELETE in store acme/hr: %d %s; left %d", r.Status, r.Body, count(""))
	}

	// The CLI, on the same database: --store by name.
	cfg := dir + "/bridge.yaml"
	env := []string{"PERSONAL_LRS_PASSWORD=pw"}
	out, code := runBridge(t, dir, env, "personal", "add", "--no-check", "--config", cfg, "--store", "acme/hr",
		"--agent", `{"mbox":"mailto:bob@example.org"}`, "--endpoint", "https://bob-lrs.example/xapi", "--username", "bob")
	if code != 0 {
		t.Fatalf("personal add --store acme/hr: %d %s", code, out)
	}
	if out, _ := runBridge(t, dir, nil, "personal", "list", "--config", cfg, "--store", "acme/hr"); !strings.Contains(out, "mbox::mailto:bob@example.org") || strings.Contains(out, "ann@") {
		t.Errorf("personal list --store acme/hr:\n%s", out)
	}
	if out, code := runBridge(t, dir, nil, "personal", "remove", "--config", cfg, "--store", "moodle", "--agent", `{"mbox":"mailto:bob@example.org"}`); code == 0 {
		t.Errorf("remove from a store bob is not registered in succeeded: %s", out)
	}
	if out, code := runBridge(t, dir, nil, "personal", "remove", "--config", cfg, "--store", "acme/hr", "--agent", `{"mbox":"mailto:bob@example.org"}`); code != 0 {
		t.Errorf("personal remove --store acme/hr: %d %s", code, out)
	}
	if out, code := runBridge(t, dir, nil, "personal", "list", "--config", cfg, "--store", "nosuch"); code == 0 || !strings.Contains(out, "--store") {
		t.Errorf("personal list --store nosuch: %d %s", code, out)
	}
}

// jsonNumber formats an id decoded from JSON (a float64).
func jsonNumber(v any) string {
	f, _ := v.(float64)
	return strconv.FormatInt(int64(f), 10)
}

// `bridge rules test` says a "personal" match is delivered only when the
// actor has a personal LRS registered in the store, and otherwise that no
// delivery would be made and why (issue 14 bug 5: it said every such
// statement went to "personal").
func TestRulesTestPersonal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := fwConfig(t, dir, "", "rules:\n  - name: learners-own\n    targets: [personal]\n")
	stmtFile := dir + "/statement.json"
	write := func(who string) {
		os.WriteFile(stmtFile, mustJSON(t, statement(who, "completed", "course-1")), 0o600)
	}
	write("ann")
	// Before the bridge ever ran: no database, so no registration.
	out, code := runBridge(t, dir, nil, "rules", "test", "--config", cfg, stmtFile)
	if code != 0 || !strings.Contains(out, `rule "learners-own" -> target "personal": no delivery: no personal LRS is registered yet`) {
		t.Errorf("rules test without a database: %d\n%s", code, out)
	}
	if _, err := os.Stat(dir + "/lrs.db"); err == nil {
		t.Errorf("rules test created the database")
	}
	p := startFw(t, dir, cfg)
	if r := adminCall(t, p, "POST", "/personal-lrs", map[string]any{"agent": map[string]any{"mbox": "mailto:ann@example.org"},
		"endpoint": "https://ann-lrs.example/xapi", "username": "ann", "password": "pw"}); r.Status != 201 {
		t.Fatalf("register: %d %s", r.Status, r.Body)
	}
	p.stop()
	out, code = runBridge(t, dir, nil, "rules", "test", "--config", cfg, stmtFile)
	if code != 0 || !strings.Contains(out, `-> target "personal": to mbox::mailto:ann@example.org's personal LRS at https://ann-lrs.example/xapi (only for statements stored by a Moodle source or a trusted credential)`) {
		t.Errorf("rules test, ann registered: %d\n%s", code, out)
	}
	write("bob")
	out, code = runBridge(t, dir, nil, "rules", "test", "--config", cfg, stmtFile)
	if code != 0 || !strings.Contains(out, `-> target "personal": no delivery: mbox::mailto:bob@example.org has no personal LRS registered in store "default"`) {
		t.Errorf("rules test, bob not registered: %d\n%s", code, out)
	}
}
