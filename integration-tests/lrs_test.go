package integration_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/internal/testmysql"
)

func statement(actor, verb, activity string) map[string]any {
	return map[string]any{
		"actor":  map[string]any{"mbox": "mailto:" + actor + "@example.org", "name": actor},
		"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/" + verb, "display": map[string]any{"en-US": verb}},
		"object": map[string]any{"id": "http://example.org/activities/" + activity, "definition": map[string]any{"name": map[string]any{"en-US": activity}}},
	}
}

const configTmpl = `listen: 127.0.0.1:0
database:
  driver: %s
  dsn: "%s"
credentials:
  - key: admin
    secret: ${ADMIN_SECRET}
    scopes: [all]
  - key: writer
    secret: writer-secret-0123456789
    scopes: [statements/write]
  - key: reader
    secret: reader-secret-0123456789
    scopes: [statements/read]
  - key: mine
    secret: mine-secret-0123456789
    scopes: [statements/write, statements/read/mine]
`

// TestZeroConfigSQLite is the README's first command: no config at all.
func TestZeroConfigSQLite(t *testing.T) {
	dir := t.TempDir()
	p := startBridge(t, dir, []string{"BRIDGE_LISTEN=127.0.0.1:0"})
	credRE := regexp.MustCompile(`credential:\s+key (\S+) secret (\S+)`)
	var m []string
	for deadline := time.Now().Add(5 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m = credRE.FindStringSubmatch(p.Stdout()) // printed right after the endpoint line
	}
	if m == nil {
		t.Fatalf("no credential printed on first start:\n%s", p.Stdout())
	}
	if _, err := os.Stat(filepath.Join(dir, "bridge-data", "bridge.db")); err != nil {
		t.Fatalf("embedded database not created in bridge-data/: %v", err)
	}
	c := &client{t: t, endpoint: p.endpoint, user: m[1], secret: m[2], version: "1.0.3"}
	ids := c.expect(200, "POST", "/statements", statement("ann", "completed", "course-1"))
	var got []string
	ids.JSON(t, &got)
	r := c.expect(200, "GET", "/statements?statementId="+got[0], nil)
	if !strings.Contains(string(r.Body), `"version":"1.0.0"`) || r.Header.Get("X-Experience-API-Version") != "1.0.3" {
		t.Errorf("1.0.3 client: version header %q, body %s", r.Header.Get("X-Experience-API-Version"), r.Body)
	}
	if strings.Contains(p.Stdout()+p.Stderr(), "secret") && strings.Count(p.Stdout(), m[2]) > 2 {
		t.Errorf("secret printed more than at first start")
	}
	p.stop()

	// Second start: same database, the secret is not printed again, and the
	// old credential still works.
	p2 := startBridge(t, dir, []string{"BRIDGE_LISTEN=127.0.0.1:0"})
	if strings.Contains(p2.Stdout(), m[2]) {
		t.Errorf("secret printed again on second start")
	}
	c.endpoint = p2.endpoint
	var res struct{ Statements []map[string]any }
	c.expect(200, "GET", "/statements", nil).JSON(t, &res)
	if len(res.Statements) != 1 {
		t.Errorf("after restart: %d statements, want 1", len(res.Statements))
	}
}

func TestSQLite(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(configTmpl, "sqlite", filepath.Join(dir, "lrs.db"))), 0o600)
	// A child process: the suite ends by interrupting it (SIGINT).
	p := startProcess(t, dir, []string{"ADMIN_SECRET=admin-secret-0123456789"}, "serve", "--config", cfg)
	lrsSuite(t, p)
}

func TestMySQL(t *testing.T) {
	dsn := testmysql.New(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(configTmpl, "mysql", dsn)), 0o600)
	env := []string{"ADMIN_SECRET=admin-secret-0123456789"}

	// MySQL does not migrate implicitly: serve says what to run.
	out, code := runBridge(t, dir, env, "serve", "--config", cfg)
	if code == 0 || !strings.Contains(out, "bridge migrate") {
		t.Fatalf("serve on an empty MySQL database: exit %d, %s", code, out)
	}
	out, code = runBridge(t, dir, env, "migrate", "--config", cfg)
	if code != 0 || !strings.Contains(out, "database schema is at version") {
		t.Fatalf("migrate: exit %d, %s", code, out)
	}
	out, code = runBridge(t, dir, env, "migrate", "--config", cfg)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: exit %d, %s", code, out)
	}
	p := startProcess(t, dir, env, "serve", "--config", cfg) // see TestSQLite
	lrsSuite(t, p)
}

// lrsSuite exercises the Statements API as a client would.
func lrsSuite(t *testing.T, p *proc) {
	admin := &client{t: t, endpoint: p.endpoint, user: "admin", secret: "admin-secret-0123456789", version: "2.0.0"}

	t.Run("about and operations", func(t *testing.T) {
		anon := &client{t: t, endpoint: p.endpoint}
		r := anon.expect(200, "GET", "/about", nil)
		if !strings.Contains(string(r.Body), `"2.0.0"`) || !strings.Contains(string(r.Body), `"1.0.3"`) {
			t.Errorf("about: %s", r.Body)
		}
		anon.expect(200, "GET", p.base+"/health", nil)
		anon.expect(200, "GET", p.base+"/ready", nil)
	})

	t.Run("auth", func(t *testing.T) {
		anon := &client{t: t, endpoint: p.endpoint, version: "2.0.0"}
		r := anon.expect(401, "GET", "/statements", nil)
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		bad := &client{t: t, endpoint: p.endpoint, version: "2.0.0", user: "admin", secret: "nope"}
		bad.expect(401, "GET", "/statements", nil)
		writer := &client{t: t, endpoint: p.endpoint, version: "2.0.0", user: "writer", secret: "writer-secret-0123456789"}
		writer.expect(200, "POST", "/statements", statement("wendy", "attempted", "auth"))
		writer.expect(403, "GET", "/statements", nil)
		reader := &client{t: t, endpoint: p.endpoint, version: "2.0.0", user: "reader", secret: "reader-secret-0123456789"}
		reader.expect(403, "POST", "/statements", statement("rita", "attempted", "auth"))
		reader.expect(200, "GET", "/statements", nil)

		// statements/read/mine sees only what it stored.
		mine := &client{t: t, endpoint: p.endpoint, version: "2.0.0", user: "mine", secret: "mine-secret-0123456789"}
		var ids []string
		mine.expect(200, "POST", "/statements", statement("mo", "attempted", "auth")).JSON(t, &ids)
		var res struct{ Statements []map[string]any }
		mine.expect(200, "GET", "/statements?activity="+url.QueryEscape("http://example.org/activities/auth"), nil).JSON(t, &res)
		if len(res.Statements) != 1 || res.Statements[0]["id"] != ids[0] {
			t.Errorf("read/mine returned %d statements, want only its own", len(res.Statements))
		}
	})

	t.Run("version header", func(t *testing.T) {
		none := &client{t: t, endpoint: p.endpoint, user: "admin", secret: "admin-secret-0123456789"}
		r := none.expect(400, "GET", "/statements", nil)
		if !strings.Contains(string(r.Body), "X-Experience-API-Version") {
			t.Errorf("missing version: %s", r.Body)
		}
		none.version = "3.0.0"
		none.expect(400, "GET", "/statements", nil)
	})

	t.Run("post get put conflict", func(t *testing.T) {
		var ids []string
		admin.expect(200, "POST", "/statements", []any{statement("ann", "attempted", "q1"), statement("bob", "passed", "q1")}).JSON(t, &ids)
		if len(ids) != 2 {
			t.Fatalf("ids %v", ids)
		}
		var st map[string]any
		r := admin.expect(200, "GET", "/statements?statementId="+ids[1], nil)
		r.JSON(t, &st)
		for _, k := range []string{"stored", "timestamp", "authority", "version"} {
			if st[k] == nil {
				t.Errorf("%s not set: %s", k, r.Body)
			}
		}
		if r.Header.Get("X-Experience-API-Consistent-Through") == "" || r.Header.Get("Last-Modified") == "" {
			t.Errorf("headers: %v", r.Header)
		}
		admin.expect(200, "HEAD", "/statements?statementId="+ids[1], nil)

		id := uuid.NewString()
		s := statement("cy", "completed", "q2")
		admin.expect(204, "PUT", "/statements?statementId="+id, s)
		admin.expect(204, "PUT", "/statements?statementId="+id, s) // same content: no-op
		changed := statement("cy", "failed", "q2")
		r = admin.expect(409, "PUT", "/statements?statementId="+id, changed)
		if !strings.Contains(string(r.Body), id) {
			t.Errorf("409 does not name the id: %s", r.Body)
		}
		admin.expect(400, "PUT", "/statements", s)
		var back map[string]any
		admin.expect(200, "GET", "/statements?statementId="+id, nil).JSON(t, &back)
		if back["verb"].(map[string]any)["id"] != "http://adlnet.gov/expapi/verbs/completed" {
			t.Errorf("conflicting PUT changed the statement: %v", back["verb"])
		}
	})

	t.Run("bad input names the field and stores nothing", func(t *testing.T) {
		good := statement("dee", "attempted", "bad-batch")
		bad := statement("dee", "attempted", "bad-batch")
		bad["verb"] = map[string]any{"id": "not an iri"}
		r := admin.expect(400, "POST", "/statements", []any{good, bad})
		if !strings.Contains(string(r.Body), "[1].verb.id") {
			t.Errorf("error does not name [1].verb.id: %s", r.Body)
		}
		noActor := statement("x", "y", "z")
		delete(noActor, "actor")
		r = admin.expect(400, "POST", "/statements", noActor)
		if !strings.Contains(string(r.Body), "actor") {
			t.Errorf("error does not name actor: %s", r.Body)
		}
		admin.expect(400, "POST", "/statements", "{not json")
		admin.expect(400, "GET", "/statements?agent=notjson", nil)
		admin.expect(400, "GET", "/statements?limit=-1", nil)
		admin.expect(400, "GET", "/statements?bogus=1", nil)
		var res struct{ Statements []any }
		admin.expect(200, "GET", "/statements?activity="+url.QueryEscape("http://example.org/activities/bad-batch"), nil).JSON(t, &res)
		if len(res.Statements) != 0 {
			t.Errorf("a rejected batch stored %d statements", len(res.Statements))
		}
	})

	t.Run("voiding", func(t *testing.T) {
		var ids []string
		admin.expect(200, "POST", "/statements", statement("eve", "completed", "voidme")).JSON(t, &ids)
		admin.expect(200, "POST", "/statements", map[string]any{
			"actor":  map[string]any{"mbox": "mailto:admin@example.org"},
			"verb":   map[string]any{"id": "http://adlnet.gov/expapi/verbs/voided"},
			"object": map[string]any{"objectType": "StatementRef", "id": ids[0]},
		})
		admin.expect(404, "GET", "/statements?statementId="+ids[0], nil)
		admin.expect(200, "GET", "/statements?voidedStatementId="+ids[0], nil)
	})

	t.Run("query and more pages", func(t *testing.T) {
		var batch []any
		for i := 0; i < 25; i++ {
			batch = append(batch, statement(fmt.Sprintf("pager%d", i%2), "experienced", "pages"))
		}
		var ids []string
		admin.expect(200, "POST", "/statements", batch).JSON(t, &ids)
		next := "/statements?limit=10&activity=" + url.QueryEscape("http://example.org/activities/pages")
		var seen []string
		for pages := 0; next != ""; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			var res struct {
				Statements []map[string]any
				More       string
			}
			admin.expect(200, "GET", next, nil).JSON(t, &res)
			for _, s := range res.Statements {
				seen = append(seen, s["id"].(string))
			}
			next = ""
			if res.More != "" {
				next = p.base + res.More
			}
		}
		if len(seen) != 25 || seen[0] != ids[24] || seen[24] != ids[0] {
			t.Errorf("paged %d statements, newest first expected", len(seen))
		}
		agent := url.QueryEscape(`{"mbox":"mailto:pager1@example.org"}`)
		var res struct{ Statements []map[string]any }
		admin.expect(200, "GET", "/statements?agent="+agent+"&format=ids&ascending=true", nil).JSON(t, &res)
		if len(res.Statements) != 12 || res.Statements[0]["id"] != ids[1] {
			t.Errorf("agent query: %d statements", len(res.Statements))
		}
		if actor := res.Statements[0]["actor"].(map[string]any); actor["name"] != nil {
			t.Errorf("format=ids kept the name: %v", actor)
		}
		r := admin.expect(200, "GET", "/statements?limit=1&attachments=true", nil)
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/mixed") {
			t.Errorf("attachments=true content type %q", r.Header.Get("Content-Type"))
		}
	})

	t.Run("attachments", func(t *testing.T) {
		text := []byte("certificate of completion\r\n--not-a-boundary\r\n")
		sum := sha256.Sum256(text)
		sha := hex.EncodeToString(sum[:])
		withAtt := func() map[string]any {
			s := statement("att", "completed", "attachments")
			s["attachments"] = []any{map[string]any{
				"usageType": "http://example.org/usage/certificate", "display": map[string]any{"en-US": "certificate"},
				"contentType": "text/plain", "length": len(text), "sha2": sha,
			}}
			return s
		}
		body := func(parts ...[]byte) (string, []byte) {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			for i, p := range parts {
				h := textproto.MIMEHeader{}
				if i == 0 {
					h.Set("Content-Type", "application/json")
				} else {
					sum := sha256.Sum256(p)
					h.Set("Content-Type", "text/plain")
					h.Set("Content-Transfer-Encoding", "binary")
					h.Set("X-Experience-API-Hash", hex.EncodeToString(sum[:]))
				}
				w, _ := mw.CreatePart(h)
				w.Write(p)
			}
			mw.Close()
			return "multipart/mixed; boundary=" + mw.Boundary(), b.Bytes()
		}
		// Two statements share one attachment: one part.
		stmts, _ := json.Marshal([]any{withAtt(), withAtt()})
		ct, b := body(stmts, text)
		var ids []string
		admin.expect(200, "POST", "/statements", b, "Content-Type", ct).JSON(t, &ids)

		r := admin.expect(200, "GET", "/statements?attachments=true&statementId="+ids[1], nil)
		mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "multipart/mixed" {
			t.Fatalf("content type %q", r.Header.Get("Content-Type"))
		}
		mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
		first, _ := mr.NextPart()
		js, _ := io.ReadAll(first)
		if !strings.Contains(string(js), ids[1]) {
			t.Errorf("first part is not the statement: %s", js)
		}
		att, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no attachment part: %v", err)
		}
		got, _ := io.ReadAll(att)
		if !bytes.Equal(got, text) || att.Header.Get("X-Experience-API-Hash") != sha {
			t.Errorf("attachment part %q hash %q", got, att.Header.Get("X-Experience-API-Hash"))
		}
		// Without attachments=true: plain JSON.
		r = admin.expect(200, "GET", "/statements?statementId="+ids[1], nil)
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Errorf("content type without attachments: %q", r.Header.Get("Content-Type"))
		}

		one, _ := json.Marshal(withAtt())
		ct, b = body(one) // declared but no part
		r = admin.expect(400, "POST", "/statements", b, "Content-Type", ct)
		if !strings.Contains(string(r.Body), "attachments[0]") {
			t.Errorf("missing part: %s", r.Body)
		}
		ct, b = body(one, text, []byte("extra")) // a part no statement declares
		admin.expect(400, "POST", "/statements", b, "Content-Type", ct)
		// fileUrl-only attachments need no part and may come as JSON.
		s := statement("att", "completed", "attachments")
		s["attachments"] = []any{map[string]any{"usageType": "http://example.org/usage/certificate",
			"display": map[string]any{"en-US": "certificate"}, "contentType": "application/pdf", "length": 10,
			"sha2": sha, "fileUrl": "https://example.org/cert.pdf"}}
		admin.expect(200, "POST", "/statements", s)
	})

	t.Run("alternate request syntax", func(t *testing.T) {
		anon := &client{t: t, endpoint: p.endpoint}
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin-secret-0123456789"))
		content, _ := json.Marshal(statement("alt", "completed", "alternate"))
		id := uuid.NewString()
		form := url.Values{"statementId": {id}, "content": {string(content)},
			"X-Experience-API-Version": {"1.0.3"}, "Authorization": {auth}}
		formCT := []string{"Content-Type", "application/x-www-form-urlencoded"}
		anon.expect(204, "POST", "/statements?method=PUT", form.Encode(), formCT...)
		admin.expect(200, "GET", "/statements?statementId="+id, nil)

		get := url.Values{"statementId": {id}, "X-Experience-API-Version": {"1.0.3"}, "Authorization": {auth}}
		r := anon.expect(200, "POST", "/statements?method=GET", get.Encode(), formCT...)
		if !strings.Contains(string(r.Body), id) {
			t.Errorf("method=GET: %s", r.Body)
		}
		// xAPI 2.0 removed the syntax; extra query parameters are refused.
		form.Set("X-Experience-API-Version", "2.0.0")
		anon.expect(400, "POST", "/statements?method=PUT", form.Encode(), formCT...)
		form.Set("X-Experience-API-Version", "1.0.3")
		anon.expect(400, "POST", "/statements?method=PUT&statementId="+id, form.Encode(), formCT...)
	})

	t.Run("cors", func(t *testing.T) {
		anon := &client{t: t, endpoint: p.endpoint}
		r := anon.do("OPTIONS", "/statements", nil, "Origin", "https://moodle.example.org",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,x-experience-api-version,content-type")
		if r.Status >= 300 || r.Header.Get("Access-Control-Allow-Origin") == "" {
			t.Errorf("preflight: %d %v", r.Status, r.Header)
		}
		r = admin.do("GET", "/statements?limit=1", nil, "Origin", "https://moodle.example.org")
		if !strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "X-Experience-Api-Consistent-Through") &&
			!strings.Contains(strings.ToLower(r.Header.Get("Access-Control-Expose-Headers")), "x-experience-api-consistent-through") {
			t.Errorf("exposed headers: %q", r.Header.Get("Access-Control-Expose-Headers"))
		}
	})

	t.Run("metrics", func(t *testing.T) {
		anon := &client{t: t, endpoint: p.endpoint}
		body := string(anon.expect(200, "GET", p.base+"/metrics", nil).Body)
		for _, want := range []string{`bridge_http_requests_total{method="POST",route="/xapi/statements",status="200"}`,
			"bridge_statements_stored_total", "bridge_http_request_duration_seconds_bucket"} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	t.Run("graceful shutdown keeps every acknowledged statement", func(t *testing.T) {
		var acked sync.Map
		var n atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					id := uuid.NewString()
					s := statement("sig", "attempted", "shutdown")
					s["id"] = id
					r, err := admin.try("POST", "/statements", s)
					if err != nil {
						return // the bridge has stopped accepting
					}
					if r.Status == 200 {
						acked.Store(id, true)
						n.Add(1)
					}
				}
			}()
		}
		for n.Load() < 20 {
		}
		p.cmd.Process.Signal(os.Interrupt)
		<-p.done
		close(stop)
		wg.Wait()
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit %d after SIGINT: %s", code, p.Stderr())
		}
		// Restart on the same database and check every acknowledged id.
		p2 := startBridge(t, p.cmd.Dir, p.cmd.Env[len(cleanEnv()):], p.cmd.Args[1:]...)
		c := *admin
		c.endpoint = p2.endpoint
		missing := 0
		acked.Range(func(k, _ any) bool {
			if r := c.do("GET", "/statements?statementId="+k.(string), nil); r.Status != 200 {
				missing++
			}
			return true
		})
		if missing > 0 {
			t.Errorf("%d of %d acknowledged statements lost in shutdown", missing, n.Load())
		}
	})
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\ndatabse:\n  driver: sqlite\n"), 0o600)
	out, code := runBridge(t, dir, nil, "serve", "--config", cfg)
	if code == 0 || !strings.Contains(out, "databse") {
		t.Errorf("unknown key: exit %d, %s", code, out)
	}
	os.WriteFile(cfg, []byte("database:\n  driver: mysql\n  dsn: root@tcp(127.0.0.1:3306)\n"), 0o600)
	out, code = runBridge(t, dir, nil, "serve", "--config", cfg)
	if code == 0 || !strings.Contains(out, "database.dsn") {
		t.Errorf("bad dsn: exit %d, %s", code, out)
	}
	out, code = runBridge(t, dir, []string{"BRIDGE_DATABSE_DRIVER=mysql"})
	if code == 0 || !strings.Contains(out, "BRIDGE_DATABSE_DRIVER") {
		t.Errorf("unknown env var: exit %d, %s", code, out)
	}
	out, code = runBridge(t, dir, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "bridge ") {
		t.Errorf("version: exit %d, %s", code, out)
	}
}
