package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// storeArgs unpacks a recorded StoreStatements call.
func storeArgs(t *testing.T, c call) (p *lrs.Principal, v xapi.Version, stmts []map[string]any, batch bool, parts []lrs.Attachment) {
	t.Helper()
	return c.args[0].(*lrs.Principal), c.args[1].(xapi.Version), c.args[2].([]map[string]any), c.args[3].(bool), c.args[4].([]lrs.Attachment)
}

func TestPostStatements(t *testing.T) {
	cases := []struct {
		name      string
		body      string
		ids       []string
		wantN     int
		wantBatch bool
	}{
		{"one statement", `{"id":"` + testStmtID + `","verb":{"id":"http://example.com/v"}}`, []string{testStmtID}, 1, false},
		{"a batch", `[{"verb":{"id":"http://example.com/a"}},{"verb":{"id":"http://example.com/b"}}]`, []string{"id-a", "id-b"}, 2, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			f.st.ids = tc.ids
			w := serve(f.handler(), xapiRequest("POST", "/xapi/statements", strings.NewReader(tc.body)))
			if w.Code != 200 {
				t.Fatalf("status %d; body %s", w.Code, w.Body.String())
			}
			var got []string
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || !reflect.DeepEqual(got, tc.ids) {
				t.Errorf("body %s, want the ids %v", w.Body.String(), tc.ids)
			}
			p, v, stmts, batch, parts := storeArgs(t, f.log.mustGet(t, "Statements.StoreStatements"))
			if p != f.auth.principal {
				t.Errorf("principal %+v, want the Authenticator's %+v", p, f.auth.principal)
			}
			if v != xapi.V200 || batch != tc.wantBatch || len(stmts) != tc.wantN || len(parts) != 0 {
				t.Errorf("got version %s batch %v %d statements %d parts", v, batch, len(stmts), len(parts))
			}
			var want any
			json.Unmarshal([]byte(tc.body), &want)
			if !tc.wantBatch {
				want = []any{want}
			}
			gotJSON, _ := json.Marshal(stmts)
			var gotAny any
			json.Unmarshal(gotJSON, &gotAny)
			if !reflect.DeepEqual(gotAny, want) {
				t.Errorf("statements %s, want the decoded body %s", gotJSON, tc.body)
			}
			a := f.log.mustGet(t, "Auth.Authenticate")
			if a.args[0] != testKey || a.args[1] != testSecret {
				t.Errorf("Authenticate(%v), want (%s, %s)", a.args, testKey, testSecret)
			}
		})
	}

	t.Run("with an attachment", func(t *testing.T) {
		f := newFakes()
		content := "hello attachment"
		sum := sha256.Sum256([]byte(content))
		hash := hex.EncodeToString(sum[:])
		body := "--xx\r\nContent-Type: application/json\r\n\r\n" +
			`{"attachments":[{"sha2":"` + hash + `"}]}` + "\r\n" +
			"--xx\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: " + hash + "\r\n\r\n" +
			content + "\r\n--xx--\r\n"
		r := xapiRequest("POST", "/xapi/statements", strings.NewReader(body))
		r.Header.Set("Content-Type", "multipart/mixed; boundary=xx")
		w := serve(f.handler(), r)
		if w.Code != 200 {
			t.Fatalf("status %d; body %s", w.Code, w.Body.String())
		}
		_, _, stmts, _, parts := storeArgs(t, f.log.mustGet(t, "Statements.StoreStatements"))
		if len(stmts) != 1 || len(parts) != 1 || parts[0].SHA2 != hash || string(parts[0].Content) != content || parts[0].ContentType != "text/plain" {
			t.Errorf("got %d statements, parts %+v", len(stmts), parts)
		}
	})

	bad := []struct {
		name, target, contentType, body, msg string
	}{
		{"a query parameter", "/xapi/statements?statementId=" + testStmtID, "application/json", `{}`, "statementId"},
		{"not JSON", "/xapi/statements", "application/json", `{"a":`, ""},
		{"not an object", "/xapi/statements", "application/json", `"str"`, ""},
		{"an unsupported content type", "/xapi/statements", "text/plain", `{}`, "text/plain"},
		{"multipart without a boundary", "/xapi/statements", "multipart/mixed", `{}`, "boundary"},
		{"multipart part without its hash", "/xapi/statements", "multipart/mixed; boundary=b",
			"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nx\r\n--b--\r\n", "X-Experience-API-Hash"},
		{"multipart part with a wrong hash", "/xapi/statements", "multipart/mixed; boundary=b",
			"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\nX-Experience-API-Hash: 00\r\n\r\nx\r\n--b--\r\n", "SHA-256"},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			f := newFakes()
			r := xapiRequest("POST", tc.target, strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			w := serve(f.handler(), r)
			if w.Code != 400 {
				t.Fatalf("status %d, want 400; body %s", w.Code, w.Body.String())
			}
			if code, msg := errorBody(t, w); code != lrs.EINVALID || !strings.Contains(msg, tc.msg) {
				t.Errorf("body %s, want invalid mentioning %q", w.Body.String(), tc.msg)
			}
			if n := f.log.callsTo("Statements.StoreStatements"); n != 0 {
				t.Error("StoreStatements was called")
			}
		})
	}
}

func TestPutStatement(t *testing.T) {
	t.Run("stores under statementId", func(t *testing.T) {
		f := newFakes()
		w := serve(f.handler(), xapiRequest("PUT", "/xapi/statements?statementId="+testStmtID, strings.NewReader(`{"verb":{"id":"http://example.com/v"}}`)))
		if w.Code != 204 || w.Body.Len() != 0 {
			t.Fatalf("status %d body %q, want 204 and no body", w.Code, w.Body.String())
		}
		p, _, stmts, batch, _ := storeArgs(t, f.log.mustGet(t, "Statements.StoreStatements"))
		if p != f.auth.principal || batch || len(stmts) != 1 || stmts[0]["id"] != testStmtID {
			t.Errorf("got principal %p batch %v statements %v, want the statement with id %s", p, batch, stmts, testStmtID)
		}
	})
	t.Run("an id matching statementId in another case", func(t *testing.T) {
		f := newFakes()
		body := `{"id":"` + strings.ToUpper(testStmtID) + `"}`
		w := serve(f.handler(), xapiRequest("PUT", "/xapi/statements?statementId="+testStmtID, strings.NewReader(body)))
		if w.Code != 204 {
			t.Fatalf("status %d; body %s", w.Code, w.Body.String())
		}
	})
	bad := []struct{ name, target, body, msg string }{
		{"no statementId", "/xapi/statements", `{}`, "statementId"},
		{"statementId not a UUID", "/xapi/statements?statementId=42", `{}`, "UUID"},
		{"another parameter", "/xapi/statements?statementId=" + testStmtID + "&x=1", `{}`, `"x"`},
		{"an array", "/xapi/statements?statementId=" + testStmtID, `[{}]`, "array"},
		{"a different id", "/xapi/statements?statementId=" + testStmtID, `{"id":"d0a1f9c2-5a3e-4c8e-9f4b-1d2e3f4a5b6c"}`, "does not match"},
		{"a service error", "/xapi/statements?statementId=" + testStmtID, `{}`, "service says no"},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			f := newFakes()
			if tc.name == "a service error" {
				f.st.err = lrs.Errorf(lrs.EINVALID, "service says no")
			}
			w := serve(f.handler(), xapiRequest("PUT", tc.target, strings.NewReader(tc.body)))
			if code, msg := errorBody(t, w); w.Code != 400 || code != lrs.EINVALID || !strings.Contains(msg, tc.msg) {
				t.Errorf("%d %s, want 400 invalid mentioning %q", w.Code, w.Body.String(), tc.msg)
			}
			if n := f.log.callsTo("Statements.StoreStatements"); n != 0 && tc.name != "a service error" {
				t.Error("StoreStatements was called")
			}
		})
	}
}

func TestGetStatements(t *testing.T) {
	stored := time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)
	body := `{"id":"` + testStmtID + `",  "verb" : {"id":"http://example.com/v"}}` // stored byte for byte

	for _, tc := range []struct {
		param  string
		voided bool
	}{{"statementId", false}, {"voidedStatementId", true}} {
		t.Run("by "+tc.param, func(t *testing.T) {
			f := newFakes()
			f.st.stmt = &lrs.StoredStatement{PK: 1, ID: testStmtID, Stored: stored, Body: []byte(body)}
			w := serve(f.handler(), xapiRequest("GET", "/xapi/statements?"+tc.param+"="+testStmtID, nil))
			if w.Code != 200 {
				t.Fatalf("status %d; body %s", w.Code, w.Body.String())
			}
			if w.Body.String() != body {
				t.Errorf("body %q, want the stored body %q", w.Body.String(), body)
			}
			if got := w.Header().Get("Last-Modified"); got != stored.Format(http.TimeFormat) {
				t.Errorf("Last-Modified %q", got)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			c := f.log.mustGet(t, "Statements.GetStatement")
			if c.args[0] != f.auth.principal || c.args[1] != testStmtID || c.args[2] != tc.voided {
				t.Errorf("GetStatement%v, want (principal, %s, %v)", c.args, testStmtID, tc.voided)
			}
		})
	}
	t.Run("by id, format=ids", func(t *testing.T) {
		f := newFakes()
		f.st.stmt = &lrs.StoredStatement{ID: testStmtID, Stored: stored, Body: []byte(`{"id":"` + testStmtID + `","actor":{"mbox":"mailto:a@example.com","name":"Ann"}}`)}
		w := serve(f.handler(), xapiRequest("GET", "/xapi/statements?format=ids&statementId="+testStmtID, nil))
		if w.Code != 200 || strings.Contains(w.Body.String(), "Ann") {
			t.Errorf("%d %s, want the ids format (no names)", w.Code, w.Body.String())
		}
	})
	t.Run("not found", func(t *testing.T) {
		f := newFakes()
		f.st.err = lrs.Errorf(lrs.ENOTFOUND, "no statement %s", testStmtID)
		w := serve(f.handler(), xapiRequest("GET", "/xapi/statements?statementId="+testStmtID, nil))
		if code, _ := errorBody(t, w); w.Code != 404 || code != lrs.ENOTFOUND {
			t.Errorf("%d %s, want 404", w.Code, w.Body.String())
		}
	})

	t.Run("a query and its more link", func(t *testing.T) {
		f := newFakes()
		f.st.result = []lrs.StoredStatement{{PK: 10, Body: []byte(`{"id":"a"}`)}, {PK: 9, Body: []byte(`{"id":"b"}`)}}
		f.st.more = true
		h := f.handler()
		w := serve(h, xapiRequest("GET", "/xapi/statements?verb="+url.QueryEscape("http://example.com/v")+"&limit=2&"+qAgent, nil))
		if w.Code != 200 {
			t.Fatalf("status %d; body %s", w.Code, w.Body.String())
		}
		var res struct {
			Statements []map[string]any `json:"statements"`
			More       string           `json:"more"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
			t.Fatalf("body %s: %v", w.Body.String(), err)
		}
		if len(res.Statements) != 2 || res.Statements[0]["id"] != "a" || !strings.HasPrefix(res.More, "/xapi/statements?more=") {
			t.Fatalf("result %s", w.Body.String())
		}
		q := f.log.mustGet(t, "Statements.QueryStatements").args[1].(lrs.Query)
		if q.Verb != "http://example.com/v" || q.Limit != 2 || q.Agent == "" || q.After != 0 {
			t.Errorf("query %+v", q)
		}

		// Following the link asks for the same query after the last PK.
		f.log = &callLog{}
		f.st.log, f.auth.log = f.log, f.log
		f.st.more = false
		w = serve(h, xapiRequest("GET", res.More, nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"more":""`) {
			t.Fatalf("%d %s", w.Code, w.Body.String())
		}
		q2 := f.log.mustGet(t, "Statements.QueryStatements").args[1].(lrs.Query)
		want := q
		want.After = 9
		if !reflect.DeepEqual(q2, want) {
			t.Errorf("more query %+v, want %+v", q2, want)
		}
	})

	bad := []struct{ name, query string }{
		{"an unknown parameter", "foo=1"},
		{"a repeated parameter", "limit=1&limit=2"},
		{"statementId with a filter", "statementId=" + testStmtID + "&verb=http://example.com/v"},
		{"statementId and voidedStatementId", "statementId=" + testStmtID + "&voidedStatementId=" + testStmtID},
		{"statementId not a UUID", "statementId=nope"},
		{"a verb that is not an IRI", "verb=nope"},
		{"a bad limit", "limit=-1"},
		{"a bad format", "format=pretty"},
		{"a bad more token", "more=xyz"},
		{"more with another parameter", "more=xyz&limit=1"},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			f := newFakes()
			w := serve(f.handler(), xapiRequest("GET", "/xapi/statements?"+tc.query, nil))
			if code, _ := errorBody(t, w); w.Code != 400 || code != lrs.EINVALID {
				t.Errorf("%d %s, want 400 invalid", w.Code, w.Body.String())
			}
			if n := f.log.callsTo("Statements.GetStatement") + f.log.callsTo("Statements.QueryStatements"); n != 0 {
				t.Errorf("the service was asked: %v", f.log.names())
			}
		})
	}

	t.Run("attachments=true answers multipart", func(t *testing.T) {
		f := newFakes()
		f.st.stmt = &lrs.StoredStatement{ID: testStmtID, Stored: stored, Body: []byte(body)}
		f.st.atts = []lrs.Attachment{lrs.NewAttachment("text/plain", []byte("att"))}
		w := serve(f.handler(), xapiRequest("GET", "/xapi/statements?attachments=true&statementId="+testStmtID, nil))
		mt, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
		if w.Code != 200 || err != nil || mt != "multipart/mixed" {
			t.Fatalf("%d %q", w.Code, w.Header().Get("Content-Type"))
		}
		// Spelled as the spec does, for clients that look it up case-sensitively.
		if !strings.Contains(w.Body.String(), "\r\nX-Experience-API-Hash: "+f.st.atts[0].SHA2+"\r\n") {
			t.Errorf("the attachment part lacks X-Experience-API-Hash spelled as in the spec:\n%s", w.Body.String())
		}
		mr := multipart.NewReader(w.Body, params["boundary"])
		var parts []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, string(b))
			if len(parts) == 2 && p.Header.Get("X-Experience-API-Hash") != f.st.atts[0].SHA2 {
				t.Errorf("attachment part headers %v", p.Header)
			}
		}
		if len(parts) != 2 || parts[0] != body || parts[1] != "att" {
			t.Errorf("parts %q", parts)
		}
		bodies := f.log.mustGet(t, "Statements.Attachments").args[1].([][]byte)
		if len(bodies) != 1 || string(bodies[0]) != body {
			t.Errorf("Attachments got %q", bodies)
		}
	})
}

// TestMaxBodyBytes: a body over MaxBodyBytes is a 413 and reaches no
// service; one at the limit is served.
func TestMaxBodyBytes(t *testing.T) {
	const limit = 256
	small := `{"verb":{"id":"http://example.com/v"}}`
	big := `{"verb":{"id":"http://example.com/v"},"x":"` + strings.Repeat("a", limit) + `"}`
	exact := `{"x":"` + strings.Repeat("a", limit-8) + `"}`
	if len(exact) != limit {
		t.Fatalf("exact is %d bytes", len(exact))
	}
	multipartBody := func(stmt string) string {
		return "--b\r\nContent-Type: application/json\r\n\r\n" + stmt + "\r\n--b--\r\n"
	}
	cases := []struct {
		name, method, target, contentType, body string
		status                                  int
		call                                    string
	}{
		{"POST statements under the limit", "POST", "/xapi/statements", "application/json", small, 200, "Statements.StoreStatements"},
		{"POST statements at the limit", "POST", "/xapi/statements", "application/json", exact, 200, "Statements.StoreStatements"},
		{"POST statements over the limit", "POST", "/xapi/statements", "application/json", big, 413, "Statements.StoreStatements"},
		{"PUT statement over the limit", "PUT", "/xapi/statements?statementId=" + testStmtID, "application/json", big, 413, "Statements.StoreStatements"},
		{"POST multipart over the limit", "POST", "/xapi/statements", "multipart/mixed; boundary=b", multipartBody(big), 413, "Statements.StoreStatements"},
		{"PUT state under the limit", "PUT", "/xapi/activities/state?" + stateQ, "application/json", small, 204, "Documents.Put"},
		{"PUT state over the limit", "PUT", "/xapi/activities/state?" + stateQ, "application/json", big, 413, "Documents.Put"},
		{"POST activity profile over the limit", "POST", "/xapi/activities/profile?" + actProfQ, "application/json", big, 413, "Documents.Post"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			s := f.server()
			s.MaxBodyBytes = limit
			r := xapiRequest(tc.method, tc.target, strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			w := serve(s.Handler(), r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body.String())
			}
			_, called := f.log.get(tc.call)
			if tc.status == 413 {
				if code, msg := errorBody(t, w); code != lrs.ETOOLARGE || !strings.Contains(msg, "256") {
					t.Errorf("body %s, want too_large naming the limit", w.Body.String())
				}
				if called {
					t.Errorf("%s was called for a body over the limit", tc.call)
				}
			} else if !called {
				t.Errorf("%s was not called", tc.call)
			}
		})
	}
	t.Run("alternate syntax over the limit", func(t *testing.T) {
		f := newFakes()
		s := f.server()
		s.MaxBodyBytes = limit
		form := url.Values{"X-Experience-API-Version": {"1.0.3"}, "content": {big}}
		r := xapiRequest("POST", "/xapi/statements?method=POST", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := serve(s.Handler(), r)
		if n := len(f.log.all()); n != 0 {
			t.Errorf("a service was called: %v", f.log.names())
		}
		if code, msg := errorBody(t, w); w.Code != 413 || code != lrs.ETOOLARGE || !strings.Contains(msg, "256") {
			t.Errorf("%d %s, want 413 too_large naming the limit", w.Code, w.Body.String())
		}
	})
}

// TestAlternateSyntax: xAPI 1.0.3's form POST with ?method= is served as
// the request it stands for; 2.0.0 refuses it.
func TestAlternateSyntax(t *testing.T) {
	t.Run("PUT statement as a form", func(t *testing.T) {
		f := newFakes()
		form := url.Values{
			"Authorization":            {"Basic " + basic(testKey, testSecret)},
			"X-Experience-API-Version": {"1.0.3"},
			"Content-Type":             {"application/json"},
			"statementId":              {testStmtID},
			"content":                  {`{"verb":{"id":"http://example.com/v"}}`},
		}
		r := httptestRequest("POST", "/xapi/statements?method=PUT", form.Encode())
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := serve(f.handler(), r)
		if w.Code != 204 {
			t.Fatalf("status %d; body %s", w.Code, w.Body.String())
		}
		p, v, stmts, _, _ := storeArgs(t, f.log.mustGet(t, "Statements.StoreStatements"))
		if p != f.auth.principal || v != xapi.V103 || len(stmts) != 1 || stmts[0]["id"] != testStmtID {
			t.Errorf("StoreStatements(%v, %v, %v)", p, v, stmts)
		}
		if w.Header().Get("X-Experience-API-Version") != "1.0.3" {
			t.Errorf("version %q", w.Header().Get("X-Experience-API-Version"))
		}
	})
	bad := []struct {
		name, method, target, contentType string
		form                              url.Values
		msg                               string
	}{
		{"in 2.0.0", "POST", "/xapi/statements?method=PUT", "application/x-www-form-urlencoded",
			url.Values{"X-Experience-API-Version": {"2.0.0"}}, "2.0.0"},
		{"with the default version", "POST", "/xapi/statements?method=PUT", "application/x-www-form-urlencoded",
			url.Values{}, "2.0.0"},
		{"not a POST", "GET", "/xapi/statements?method=PUT", "application/x-www-form-urlencoded",
			url.Values{"X-Experience-API-Version": {"1.0.3"}}, "POST"},
		{"other query parameters", "POST", "/xapi/statements?method=PUT&statementId=" + testStmtID, "application/x-www-form-urlencoded",
			url.Values{"X-Experience-API-Version": {"1.0.3"}}, "query string"},
		{"not a form", "POST", "/xapi/statements?method=PUT", "application/json",
			url.Values{"X-Experience-API-Version": {"1.0.3"}}, "x-www-form-urlencoded"},
		{"an unknown method", "POST", "/xapi/statements?method=PATCH", "application/x-www-form-urlencoded",
			url.Values{"X-Experience-API-Version": {"1.0.3"}}, "PATCH"},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			f := newFakes()
			tc.form.Set("Authorization", "Basic "+basic(testKey, testSecret))
			r := httptestRequest(tc.method, tc.target, tc.form.Encode())
			r.Header.Set("Content-Type", tc.contentType)
			w := serve(f.handler(), r)
			if code, msg := errorBody(t, w); w.Code != 400 || code != lrs.EINVALID || !strings.Contains(msg, tc.msg) {
				t.Errorf("%d %s, want 400 invalid mentioning %q", w.Code, w.Body.String(), tc.msg)
			}
			if n := len(f.log.all()); n != 0 {
				t.Errorf("a service was called: %v", f.log.names())
			}
		})
	}
}
