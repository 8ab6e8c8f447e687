package integration_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/internal/testmysql"
)

const tenantAdminToken = "tenant-admin-token-0123456789"

const tenantConfigTmpl = `listen: 127.0.0.1:0
database:
  driver: %s
  dsn: "%s"
admin:
  tokens: [` + tenantAdminToken + `]
credentials:
  - key: default-admin
    secret: default-admin-secret-0123456789
    scopes: [all]
`

func TestAdminTenantsSQLite(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(tenantConfigTmpl, "sqlite", filepath.Join(dir, "lrs.db"))), 0o600)
	p := startBridge(t, dir, nil, "serve", "--config", cfg)
	tenantSuite(t, p, dir, cfg)
}

func TestAdminTenantsMySQL(t *testing.T) {
	dsn := testmysql.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(tenantConfigTmpl, "mysql", dsn)), 0o600)
	if out, code := runBridge(t, dir, nil, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("migrate: exit %d, %s", code, out)
	}
	p := startBridge(t, dir, nil, "serve", "--config", cfg)
	tenantSuite(t, p, dir, cfg)
}

// tnAdmin calls the admin API with the admin token.
type tnAdmin struct {
	t *testing.T
	c *client
}

func (a *tnAdmin) call(status int, method, path string, body any) *response {
	a.t.Helper()
	return a.c.expect(status, method, path, body, "Authorization", "Bearer "+tenantAdminToken)
}

func (a *tnAdmin) callJSON(status int, method, path string, body, into any) {
	a.t.Helper()
	r := a.call(status, method, path, body)
	if into != nil {
		r.JSON(a.t, into)
	}
}

type tnErr struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// wantErr checks an admin API error reply: its code, and that its message
// names the field.
func (a *tnAdmin) wantErr(status int, method, path string, body any, code, field string) {
	a.t.Helper()
	var e tnErr
	a.callJSON(status, method, path, body, &e)
	if e.Error != code || !strings.Contains(e.Message, field) {
		a.t.Errorf("%s %s: error %+v, want code %q and a message naming %q", method, path, e, code, field)
	}
}

type tnStore struct {
	ID        int64  `json:"id"`
	OrgID     int64  `json:"org_id"`
	Name      string `json:"name"`
	Retention string `json:"retention"`
}

type tnCred struct {
	Key     string   `json:"key"`
	Secret  string   `json:"secret"`
	StoreID int64    `json:"store_id"`
	Scopes  []string `json:"scopes"`
	Source  string   `json:"source"`
}

type tnPerson struct {
	ID     int64 `json:"id"`
	Agents []struct {
		Key   string          `json:"key"`
		Agent json.RawMessage `json:"agent"`
	} `json:"agents"`
}

func xapiAs(t *testing.T, p *proc, key, secret string) *client {
	return &client{t: t, endpoint: p.endpoint, user: key, secret: secret, version: "2.0.0"}
}

func statementsOf(t *testing.T, r *response) []string {
	t.Helper()
	var res struct {
		Statements []struct {
			ID string `json:"id"`
		} `json:"statements"`
	}
	r.JSON(t, &res)
	ids := make([]string, len(res.Statements))
	for i, s := range res.Statements {
		ids[i] = s.ID
	}
	return ids
}

func tenantSuite(t *testing.T, p *proc, dir, cfg string) {
	a := &tnAdmin{t: t, c: &client{t: t, endpoint: p.base + "/api/v1"}}
	env := []string(nil)
	cli := func(args ...string) string {
		t.Helper()
		out, code := runBridge(t, dir, env, append(args, "--config", cfg)...)
		if code != 0 {
			t.Fatalf("bridge %s: exit %d: %s", strings.Join(args, " "), code, out)
		}
		return out
	}
	cliFails := func(want string, args ...string) {
		t.Helper()
		out, code := runBridge(t, dir, env, append(args, "--config", cfg)...)
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("bridge %s: exit %d, %s; want a failure saying %q", strings.Join(args, " "), code, out, want)
		}
	}

	// The admin API takes its own tokens, never xAPI credentials.
	anon := &client{t: t, endpoint: p.base + "/api/v1"}
	anon.expect(401, "GET", "/orgs", nil)
	anon.expect(401, "GET", "/orgs", nil, "Authorization", "Bearer wrong")
	basic := &client{t: t, endpoint: p.base + "/api/v1", user: "default-admin", secret: "default-admin-secret-0123456789"}
	basic.expect(401, "GET", "/orgs", nil)

	// Organisations and stores.
	var org struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	a.callJSON(201, "POST", "/orgs", map[string]any{"name": "acme"}, &org)
	a.wantErr(409, "POST", "/orgs", map[string]any{"name": "acme"}, "conflict", "name")
	a.wantErr(400, "POST", "/orgs", map[string]any{"name": "a b"}, "invalid", "name")
	a.wantErr(400, "POST", "/orgs", map[string]any{"nmae": "x"}, "invalid", "nmae")
	var orgs struct {
		Orgs []struct{ Name string } `json:"orgs"`
	}
	a.callJSON(200, "GET", "/orgs", nil, &orgs)
	if len(orgs.Orgs) != 2 {
		t.Errorf("orgs: %+v", orgs)
	}
	orgPath := fmt.Sprintf("/orgs/%d", org.ID)
	a.callJSON(200, "PATCH", orgPath, map[string]any{"name": "acme-corp"}, &org)
	if org.Name != "acme-corp" {
		t.Errorf("renamed org: %+v", org)
	}
	var sA, sB tnStore
	a.callJSON(201, "POST", orgPath+"/stores", map[string]any{"name": "moodle"}, &sA)
	a.callJSON(201, "POST", orgPath+"/stores", map[string]any{"name": "other", "retention": "30d"}, &sB)
	if sA.OrgID != org.ID || sB.Retention != "30d" {
		t.Errorf("stores: %+v %+v", sA, sB)
	}
	a.wantErr(409, "POST", orgPath+"/stores", map[string]any{"name": "moodle"}, "conflict", "name")
	a.call(404, "POST", "/orgs/9999/stores", map[string]any{"name": "x"})
	a.wantErr(409, "DELETE", orgPath, nil, "conflict", "stores")
	var stores struct{ Stores []tnStore }
	a.callJSON(200, "GET", orgPath+"/stores", nil, &stores)
	if len(stores.Stores) != 2 {
		t.Errorf("org stores: %+v", stores)
	}
	storeA := fmt.Sprintf("/stores/%d", sA.ID)
	storeB := fmt.Sprintf("/stores/%d", sB.ID)
	var upd tnStore
	a.callJSON(200, "PATCH", storeA, map[string]any{"retention": "365d"}, &upd)
	if upd.Retention != "365d" || upd.Name != "moodle" {
		t.Errorf("retention: %+v", upd)
	}
	a.callJSON(200, "PATCH", storeA, map[string]any{"retention": "0"}, &upd)
	if upd.Retention != "" {
		t.Errorf("retention off: %+v", upd)
	}
	a.wantErr(400, "PATCH", storeA, map[string]any{"retention": "a while"}, "invalid", "retention")

	// Credentials: created with the secret shown once; they work on /xapi,
	// in their own store only.
	var cA, cB tnCred
	a.callJSON(201, "POST", storeA+"/credentials", map[string]any{"name": "Moodle", "scopes": []string{"all"}}, &cA)
	a.callJSON(201, "POST", storeB+"/credentials", map[string]any{"key": "other-lms", "scopes": []string{"statements/write", "statements/read"}}, &cB)
	if cA.Secret == "" || cA.StoreID != sA.ID || cB.Key != "other-lms" {
		t.Fatalf("credentials: %+v %+v", cA, cB)
	}
	a.wantErr(400, "POST", storeA+"/credentials", map[string]any{"scopes": []string{"everything"}}, "invalid", "scopes[0]")
	a.wantErr(409, "POST", storeA+"/credentials", map[string]any{"key": "other-lms"}, "conflict", "key")
	r := a.call(200, "GET", storeA+"/credentials", nil)
	if strings.Contains(string(r.Body), cA.Secret) || strings.Contains(string(r.Body), `"secret"`) || !strings.Contains(string(r.Body), cA.Key) {
		t.Errorf("credential list: %s", r.Body)
	}

	xa := xapiAs(t, p, cA.Key, cA.Secret)
	xb := xapiAs(t, p, cB.Key, cB.Secret)
	var idsA []string
	xa.expect(200, "POST", "/statements", statement("ann", "completed", "course-a")).JSON(t, &idsA)
	var idsB []string
	xb.expect(200, "POST", "/statements", statement("ann", "completed", "course-b")).JSON(t, &idsB)
	if got := statementsOf(t, xa.expect(200, "GET", "/statements", nil)); !slices.Equal(got, idsA) {
		t.Errorf("store A sees %v, want %v", got, idsA)
	}
	if got := statementsOf(t, xb.expect(200, "GET", "/statements", nil)); !slices.Equal(got, idsB) {
		t.Errorf("store B sees %v, want %v", got, idsB)
	}
	xb.expect(404, "GET", "/statements?statementId="+idsA[0], nil)
	def := xapiAs(t, p, "default-admin", "default-admin-secret-0123456789")
	if got := statementsOf(t, def.expect(200, "GET", "/statements", nil)); len(got) != 0 {
		t.Errorf("the default store sees other stores' statements: %v", got)
	}

	// Rotation: the old secret is refused at once, the new one works.
	var rot tnCred
	a.callJSON(200, "POST", "/credentials/"+cA.Key+"/rotate", nil, &rot)
	if rot.Secret == "" || rot.Secret == cA.Secret {
		t.Fatalf("rotate: %+v", rot)
	}
	xa.expect(401, "GET", "/statements", nil)
	xa = xapiAs(t, p, cA.Key, rot.Secret)
	xa.expect(200, "GET", "/statements", nil)
	a.wantErr(409, "POST", "/credentials/default-admin/rotate", nil, "conflict", "config")
	a.call(404, "POST", "/credentials/nope/rotate", nil)

	// Scopes.
	var patched tnCred
	a.callJSON(200, "PATCH", "/credentials/"+cB.Key, map[string]any{"scopes": []string{"statements/read"}}, &patched)
	if !slices.Equal(patched.Scopes, []string{"statements/read"}) {
		t.Errorf("patched scopes: %+v", patched)
	}
	xb.expect(403, "POST", "/statements", statement("bob", "completed", "course-b"))
	xb.expect(200, "GET", "/statements", nil)

	// Persons: several agents of one learner, merged, queried together.
	moodleAnn := map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "https://moodle.example.org", "name": "42"}}
	st := statement("x", "attempted", "quiz-1")
	st["actor"] = moodleAnn
	xa.expect(200, "POST", "/statements", st)
	xa.expect(200, "POST", "/statements", statement("ann.smith", "passed", "quiz-1"))
	xa.expect(200, "POST", "/statements", statement("bob", "passed", "quiz-1"))
	var ann, ann2 tnPerson
	a.callJSON(201, "POST", storeA+"/persons", map[string]any{"name": "Ann",
		"agents": []any{map[string]any{"mbox": "mailto:ann@example.org"}, moodleAnn}}, &ann)
	if len(ann.Agents) != 2 {
		t.Fatalf("person: %+v", ann)
	}
	a.wantErr(400, "POST", storeA+"/persons", map[string]any{"agents": []any{map[string]any{"mbox": "ann"}}}, "invalid", "agents[0]")
	a.wantErr(409, "POST", storeA+"/persons", map[string]any{"agents": []any{map[string]any{"mbox": "mailto:ann@example.org"}}}, "conflict", "agents")
	a.callJSON(201, "POST", storeA+"/persons", map[string]any{"agents": []any{map[string]any{"mbox": "mailto:ann.smith@example.org"}}}, &ann2)
	annPath := fmt.Sprintf("%s/persons/%d", storeA, ann.ID)
	// A person of store A does not exist under store B.
	a.call(404, "GET", fmt.Sprintf("%s/persons/%d", storeB, ann.ID), nil)
	a.call(404, "GET", fmt.Sprintf("%s/persons/%d/statements", storeB, ann.ID), nil)
	a.call(404, "POST", fmt.Sprintf("%s/persons/%d/merge", storeB, ann.ID), map[string]any{"from": ann2.ID})

	var page struct {
		Statements []json.RawMessage `json:"statements"`
		More       string            `json:"more"`
	}
	a.callJSON(200, "GET", annPath+"/statements", nil, &page)
	if len(page.Statements) != 2 || page.More != "" {
		t.Errorf("Ann's statements before merge: %d, more %q", len(page.Statements), page.More)
	}
	var merged tnPerson
	a.callJSON(200, "POST", annPath+"/merge", map[string]any{"from": ann2.ID}, &merged)
	if len(merged.Agents) != 3 {
		t.Errorf("merged: %+v", merged)
	}
	a.call(404, "GET", fmt.Sprintf("%s/persons/%d", storeA, ann2.ID), nil)
	var all []string
	path := annPath + "/statements?limit=1"
	for i := 0; ; i++ {
		a.callJSON(200, "GET", path, nil, &page)
		for _, s := range page.Statements {
			var v struct {
				ID    string         `json:"id"`
				Actor map[string]any `json:"actor"`
			}
			json.Unmarshal(s, &v)
			if v.Actor["mbox"] == "mailto:bob@example.org" {
				t.Errorf("Bob's statement among Ann's: %s", s)
			}
			all = append(all, v.ID)
		}
		if page.More == "" {
			break
		}
		if i > 5 {
			t.Fatal("person statement paging does not end")
		}
		path = annPath + "/statements?more=" + page.More
	}
	if len(all) != 3 {
		t.Errorf("Ann's statements after merge: %d, want 3 (mbox, Moodle account, second mbox)", len(all))
	}
	var withAgent tnPerson
	a.callJSON(200, "POST", annPath+"/agents", map[string]any{"agents": []any{map[string]any{"openid": "https://ann.example.org/"}}}, &withAgent)
	if len(withAgent.Agents) != 4 {
		t.Errorf("add agent: %+v", withAgent)
	}
	var persons struct {
		Persons []tnPerson `json:"persons"`
	}
	a.callJSON(200, "GET", storeA+"/persons", nil, &persons)
	if len(persons.Persons) != 1 {
		t.Errorf("persons of A: %+v", persons)
	}

	// Stats.
	var stats struct {
		Statements  int64 `json:"statements"`
		Credentials int64 `json:"credentials"`
		Persons     int64 `json:"persons"`
	}
	a.callJSON(200, "GET", storeA+"/stats", nil, &stats)
	if stats.Statements != 4 || stats.Credentials != 1 || stats.Persons != 1 {
		t.Errorf("stats of A: %+v", stats)
	}

	// The CLI works on the same database, next to the running server.
	out := cli("store", "list")
	if !strings.Contains(out, "moodle") || !strings.Contains(out, "other") {
		t.Errorf("store list: %s", out)
	}
	out = cli("credential", "create", "--store", "acme-corp/moodle", "--scopes", "statements/read", "--name", "reports")
	secretRE := regexp.MustCompile(`key:\s+(\S+)\n\s+secret:\s+(\S+)`)
	m := secretRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("credential create printed no key and secret: %s", out)
	}
	// Rotated before first use, so no server cache holds the old secret.
	out = cli("credential", "rotate", m[1])
	m2 := secretRE.FindStringSubmatch(out)
	if m2 == nil || m2[2] == m[2] {
		t.Fatalf("credential rotate: %s", out)
	}
	xapiAs(t, p, m[1], m[2]).expect(401, "GET", "/statements", nil)
	reports := xapiAs(t, p, m[1], m2[2])
	if got := statementsOf(t, reports.expect(200, "GET", "/statements", nil)); len(got) != 4 {
		t.Errorf("CLI credential of store A sees %d statements, want 4", len(got))
	}
	reports.expect(403, "POST", "/statements", statement("cat", "completed", "x"))
	if out := cli("credential", "list", "--store", fmt.Sprint(sA.ID)); !strings.Contains(out, m[1]) || strings.Contains(out, m2[2]) {
		t.Errorf("credential list: %s", out)
	}
	cli("credential", "set-scopes", m[1], "statements/read,statements/write")
	cliFails("not a scope", "credential", "set-scopes", m[1], "statements/wrote")
	cli("credential", "delete", m[1])
	cliFails("no credential", "credential", "delete", m[1])

	out = cli("person", "create", "--store", fmt.Sprint(sA.ID), "--name", "Bob", "--agent", `{"mbox":"mailto:bob@example.org"}`)
	idRE := regexp.MustCompile(`person (\d+)`)
	bob := idRE.FindStringSubmatch(out)
	if bob == nil {
		t.Fatalf("person create: %s", out)
	}
	out = cli("person", "create", "--store", fmt.Sprint(sA.ID), "--agent", `{"account":{"homePage":"https://moodle.example.org","name":"7"}}`)
	bob2 := idRE.FindStringSubmatch(out)
	cli("person", "add-agent", "--store", fmt.Sprint(sA.ID), bob[1], "--agent", `{"mbox":"mailto:robert@example.org"}`)
	cli("person", "merge", "--store", fmt.Sprint(sA.ID), bob[1], bob2[1])
	cliFails("--agent #1", "person", "create", "--store", fmt.Sprint(sA.ID), "--agent", `{"mbox":"bob"}`)
	cliFails("belongs to person", "person", "create", "--store", fmt.Sprint(sA.ID), "--agent", `{"mbox":"mailto:ann@example.org"}`)
	out = cli("person", "list", "--store", fmt.Sprint(sA.ID))
	if !strings.Contains(out, "mbox::mailto:robert@example.org") || !strings.Contains(out, "account::https://moodle.example.org::7") {
		t.Errorf("person list: %s", out)
	}
	var bobP tnPerson
	a.callJSON(200, "GET", storeA+"/persons/"+bob[1], nil, &bobP)
	if len(bobP.Agents) != 3 {
		t.Errorf("Bob via the API after CLI changes: %+v", bobP)
	}
	a.callJSON(200, "GET", storeA+"/persons/"+bob[1]+"/statements", nil, &page)
	if len(page.Statements) != 1 {
		t.Errorf("Bob's statements: %d", len(page.Statements))
	}
	out = cli("store", "stats", fmt.Sprint(sA.ID))
	if !regexp.MustCompile(`statements\s+4 `).MatchString(out) || !regexp.MustCompile(`persons\s+2`).MatchString(out) {
		t.Errorf("store stats: %s", out)
	}
	if out := cli("store", "set-retention", "acme-corp/moodle", "90d"); !strings.Contains(out, "90d") {
		t.Errorf("set-retention: %s", out)
	}
	a.callJSON(200, "GET", storeA, nil, &upd)
	if upd.Retention != "90d" {
		t.Errorf("retention set by the CLI, via the API: %+v", upd)
	}
	out = cli("org", "create", "cli-org")
	if !strings.Contains(out, "cli-org") {
		t.Errorf("org create: %s", out)
	}
	out = cli("store", "create", "--org", "cli-org", "scratch")
	if !strings.Contains(out, "scratch") {
		t.Errorf("store create: %s", out)
	}
	cliFails("still has stores", "org", "delete", "cli-org")
	cliFails("--confirm scratch", "store", "delete", "cli-org/scratch")
	cli("store", "delete", "cli-org/scratch", "--confirm", "scratch")
	cli("org", "delete", "cli-org")
	if out := cli("org", "list"); strings.Contains(out, "cli-org") || !strings.Contains(out, "acme-corp") {
		t.Errorf("org list: %s", out)
	}

	// Deleting a store takes a confirmation, then removes it and its
	// credentials at once.
	a.wantErr(400, "DELETE", storeB, nil, "invalid", "confirm")
	a.wantErr(400, "DELETE", storeB+"?confirm=moodle", nil, "invalid", "confirm")
	a.call(204, "DELETE", storeB+"?confirm=other", nil)
	a.call(404, "GET", storeB, nil)
	xb.expect(401, "GET", "/statements", nil)
	a.call(404, "GET", "/credentials/"+cB.Key, nil)
	xa.expect(200, "GET", "/statements", nil)
	a.wantErr(409, "DELETE", "/stores/1?confirm=default", nil, "conflict", "default")

	a.call(204, "DELETE", "/credentials/"+cA.Key, nil)
	xa.expect(401, "GET", "/statements", nil)
	a.call(204, "DELETE", annPath, nil)
	a.call(404, "GET", annPath, nil)
	a.call(204, "DELETE", storeA+"?confirm=moodle", nil)
	a.call(204, "DELETE", orgPath, nil)
	a.call(404, "GET", orgPath, nil)
}
