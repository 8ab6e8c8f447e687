package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// TestAuthBeforeBody: a request without credentials, or with credentials
// the Authenticator refuses, is answered 401 before its body is read and
// without reaching the service.
func TestAuthBeforeBody(t *testing.T) {
	const stmt = `{"verb":{"id":"http://example.com/v"}}`
	multipart := "--b\r\nContent-Type: application/json\r\n\r\n" + stmt + "\r\n--b--\r\n"
	type creds int
	const (
		none creds = iota
		wrong
		notBasic
	)
	cases := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		creds       creds
	}{
		{"POST statements, no credentials", "POST", "/xapi/statements", "application/json", stmt, none},
		{"POST statements, wrong credentials", "POST", "/xapi/statements", "application/json", stmt, wrong},
		{"POST statements, bearer not basic", "POST", "/xapi/statements", "application/json", stmt, notBasic},
		{"POST statements multipart, no credentials", "POST", "/xapi/statements", "multipart/mixed; boundary=b", multipart, none},
		{"POST statements multipart, wrong credentials", "POST", "/xapi/statements", "multipart/mixed; boundary=b", multipart, wrong},
		{"PUT statement, no credentials", "PUT", "/xapi/statements?statementId=" + testStmtID, "application/json", stmt, none},
		{"PUT statement, wrong credentials", "PUT", "/xapi/statements?statementId=" + testStmtID, "application/json", stmt, wrong},
		{"PUT state, no credentials", "PUT", "/xapi/activities/state?" + stateQ, "application/json", `{"a":1}`, none},
		{"POST agent profile, wrong credentials", "POST", "/xapi/agents/profile?" + agentProf, "application/json", `{"a":1}`, wrong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			f.auth.err = lrs.Errorf(lrs.EUNAUTHORIZED, "unknown credential")
			body := newSpyBody(tc.body)
			r := httptest.NewRequest(tc.method, tc.target, body)
			r.Header.Set("X-Experience-API-Version", "2.0.0")
			r.Header.Set("Content-Type", tc.contentType)
			switch tc.creds {
			case wrong:
				r.SetBasicAuth("nobody", "guess")
			case notBasic:
				r.Header.Set("Authorization", "Bearer "+adminToken)
			}
			w := serve(f.handler(), r)

			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401; body %s", w.Code, w.Body.String())
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
				t.Errorf("WWW-Authenticate %q, want a Basic challenge", got)
			}
			if code, _ := errorBody(t, w); code != lrs.EUNAUTHORIZED {
				t.Errorf("error %q, want %q", code, lrs.EUNAUTHORIZED)
			}
			if body.wasRead() {
				t.Error("the body was read before authentication")
			}
			if n := f.log.callsTo("Statements.") + f.log.callsTo("Documents."); n != 0 {
				t.Errorf("a service was called: %v", f.log.names())
			}
			c, called := f.log.get("Auth.Authenticate")
			switch tc.creds {
			case wrong:
				if !called || c.args[0] != "nobody" || c.args[1] != "guess" {
					t.Errorf("Authenticate called %v, want (nobody, guess)", c.args)
				}
			default:
				if called {
					t.Error("Authenticate was called without Basic credentials")
				}
			}
		})
	}

	// The admin API authenticates before reading bodies too.
	t.Run("admin POST orgs, no token", func(t *testing.T) {
		f := newFakes()
		body := newSpyBody(`{"name":"x"}`)
		r := httptest.NewRequest("POST", "/api/v1/orgs", body)
		r.Header.Set("Content-Type", "application/json")
		w := serve(f.handler(), r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
		if body.wasRead() {
			t.Error("the body was read before authentication")
		}
		if n := len(f.log.all()); n != 0 {
			t.Errorf("a service was called: %v", f.log.names())
		}
	})

	// xAPI 1.0.3's alternate request syntax carries the Authorization
	// header inside the form body (alternate.go), so the form is read
	// before anyone is authenticated, but only up to MaxFormBytesBeforeAuth
	// (64 KiB by default): a larger form without credentials before that
	// point is refused once that much is read, not buffered whole
	// (TestAlternateFormBeforeAuth has the other cases).
	t.Run("alternate syntax, no credentials", func(t *testing.T) {
		f := newFakes()
		form := url.Values{"X-Experience-API-Version": {"1.0.3"}, "statementId": {testStmtID}, "content": {stmt}}
		body := newCountingBody(form.Encode())
		r := httptest.NewRequest("POST", "/xapi/statements?method=PUT", body)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := serve(f.handler(), r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401; body %s", w.Code, w.Body.String())
		}
		if n := f.log.callsTo("Statements.StoreStatements"); n != 0 {
			t.Errorf("StoreStatements was called: %v", f.log.names())
		}

		const big = 4 << 20 // under MaxBodyBytes (16 MiB), over MaxFormBytesBeforeAuth (64 KiB)
		f = newFakes()
		form.Set("content", `{"verb":{"id":"http://example.com/v"},"x":"`+strings.Repeat("a", big)+`"}`)
		body = newCountingBody(form.Encode())
		r = httptest.NewRequest("POST", "/xapi/statements?method=PUT", body)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w = serve(f.handler(), r)
		if n := body.bytesRead(); n > 64<<10+1 {
			t.Errorf("read %d bytes of a form without credentials, want at most 64 KiB + 1", n)
		}
		if code, msg := errorBody(t, w); w.Code != http.StatusRequestEntityTooLarge || code != lrs.ETOOLARGE ||
			!strings.Contains(msg, "65536") || !strings.Contains(msg, "Authorization") {
			t.Errorf("%d %s, want 413 too_large naming the 65536-byte limit and Authorization", w.Code, w.Body.String())
		}
		if n := len(f.log.all()); n != 0 {
			t.Errorf("a service was called: %v", f.log.names())
		}
	})
}

// TestErrorTable: every lrs error code a service returns is answered with
// its status and {"error": code, "message": message}, on xAPI and admin
// routes alike.
func TestErrorTable(t *testing.T) {
	cases := []struct {
		code   string
		status int
	}{
		{lrs.EINVALID, 400},
		{lrs.EUNAUTHORIZED, 401},
		{lrs.EFORBIDDEN, 403},
		{lrs.ENOTFOUND, 404},
		{lrs.ECONFLICT, 409},
		{lrs.EPRECONDITION, 412},
		{lrs.ETOOLARGE, 413},
		{lrs.EUNAVAILABLE, 503},
		{lrs.EINTERNAL, 500},
		{eTimeout, 408},
	}
	if len(cases) != len(statusOf) {
		t.Fatalf("statusOf has %d codes, the test %d", len(statusOf), len(cases))
	}
	for _, tc := range cases {
		wantMsg := "message for " + tc.code
		if tc.code == lrs.EINTERNAL {
			wantMsg = "internal error" // internal messages are not shown to clients
		}
		t.Run(tc.code+" from Statements", func(t *testing.T) {
			f := newFakes()
			f.st.err = lrs.Errorf(tc.code, "message for %s", tc.code)
			w := serve(f.handler(), xapiRequest("POST", "/xapi/statements", strings.NewReader(`{"a":1}`)))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			code, msg := errorBody(t, w)
			if code != tc.code || msg != wantMsg {
				t.Errorf("body %s, want error %q message %q", w.Body.String(), tc.code, wantMsg)
			}
			if got := w.Header().Get("WWW-Authenticate"); (tc.code == lrs.EUNAUTHORIZED) != (got != "") {
				t.Errorf("WWW-Authenticate %q on a %s error", got, tc.code)
			}
			if w.Header().Get("X-Experience-API-Version") != "2.0.0" {
				t.Errorf("X-Experience-API-Version %q on an error, want 2.0.0", w.Header().Get("X-Experience-API-Version"))
			}
		})
		t.Run(tc.code+" from Tenants", func(t *testing.T) {
			f := newFakes()
			f.ten.err = lrs.Errorf(tc.code, "message for %s", tc.code)
			w := serve(f.handler(), adminRequest("GET", "/api/v1/orgs/3", ""))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if code, msg := errorBody(t, w); code != tc.code || msg != wantMsg {
				t.Errorf("body %s, want error %q message %q", w.Body.String(), tc.code, wantMsg)
			}
		})
	}

	t.Run("a wrapped lrs error keeps its code", func(t *testing.T) {
		f := newFakes()
		f.st.err = fmt.Errorf("storing: %w", lrs.Errorf(lrs.ECONFLICT, "statement %s exists", testStmtID))
		w := serve(f.handler(), xapiRequest("POST", "/xapi/statements", strings.NewReader(`{"a":1}`)))
		if code, msg := errorBody(t, w); w.Code != 409 || code != lrs.ECONFLICT || !strings.Contains(msg, testStmtID) {
			t.Errorf("%d %s, want 409 conflict naming the id", w.Code, w.Body.String())
		}
	})
	t.Run("a plain error is a 500 that hides its text", func(t *testing.T) {
		f := newFakes()
		f.st.err = errors.New("dial tcp 10.0.0.1:5432: password=hunter2")
		w := serve(f.handler(), xapiRequest("POST", "/xapi/statements", strings.NewReader(`{"a":1}`)))
		code, msg := errorBody(t, w)
		if w.Code != 500 || code != lrs.EINTERNAL || msg != "internal error" {
			t.Errorf("%d %s, want 500 internal/internal error", w.Code, w.Body.String())
		}
	})
	t.Run("an internal error hides its cause", func(t *testing.T) {
		f := newFakes()
		f.ten.err = lrs.Internal(errors.New("secret cause"), "loading")
		w := serve(f.handler(), adminRequest("GET", "/api/v1/orgs", ""))
		if code, msg := errorBody(t, w); w.Code != 500 || code != lrs.EINTERNAL || msg != "internal error" {
			t.Errorf("%d %s, want 500 with the cause hidden", w.Code, w.Body.String())
		}
	})
	t.Run("an unknown code is a 500", func(t *testing.T) {
		f := newFakes()
		f.st.err = lrs.Errorf("weird", "odd")
		w := serve(f.handler(), xapiRequest("POST", "/xapi/statements", strings.NewReader(`{"a":1}`)))
		if code, _ := errorBody(t, w); w.Code != 500 || code != "weird" {
			t.Errorf("%d %s, want 500 with error weird", w.Code, w.Body.String())
		}
	})
	t.Run("a panicking service is a 500", func(t *testing.T) {
		f := newFakes()
		s := f.server()
		s.Statements = panickyStatements{f.st}
		w := serve(s.Handler(), xapiRequest("POST", "/xapi/statements", strings.NewReader(`{"a":1}`)))
		if code, msg := errorBody(t, w); w.Code != 500 || code != lrs.EINTERNAL || msg != "internal error" {
			t.Errorf("%d %s, want 500 internal", w.Code, w.Body.String())
		}
	})
}

type panickyStatements struct{ *fakeStatements }

func (panickyStatements) StoreStatements(_ context.Context, _ *lrs.Principal, _ xapi.Version, _ []map[string]any, _ bool, _ []lrs.Attachment) ([]string, error) {
	panic("boom")
}

// TestVersionHeader: X-Experience-API-Version negotiation.
func TestVersionHeader(t *testing.T) {
	cases := []struct {
		name     string
		header   string // "-" for none
		defaultV xapi.Version
		status   int
		want     string
		service  xapi.Version // the version StoreStatements gets
	}{
		{"1.0.3", "1.0.3", "", 200, "1.0.3", xapi.V103},
		{"2.0.0", "2.0.0", "", 200, "2.0.0", xapi.V200},
		{"1.0 is 1.0.3", "1.0", "", 200, "1.0.3", xapi.V103},
		{"1.0.1 is 1.0.3", "1.0.1", "", 200, "1.0.3", xapi.V103},
		{"2.0 is 2.0.0", "2.0", "", 200, "2.0.0", xapi.V200},
		{"unsupported", "3.0.0", "", 400, "2.0.0", ""},
		{"unsupported, default 1.0.3", "0.95", xapi.V103, 400, "1.0.3", ""},
		{"missing", "-", "", 400, "2.0.0", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			s := f.server()
			s.DefaultVersion = tc.defaultV
			r := xapiRequest("POST", "/xapi/statements", strings.NewReader(`{"a":1}`))
			if tc.header == "-" {
				r.Header.Del("X-Experience-API-Version")
			} else {
				r.Header.Set("X-Experience-API-Version", tc.header)
			}
			w := serve(s.Handler(), r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body.String())
			}
			if got := w.Header().Get("X-Experience-API-Version"); got != tc.want {
				t.Errorf("X-Experience-API-Version %q, want %q", got, tc.want)
			}
			c, called := f.log.get("Statements.StoreStatements")
			if tc.service == "" {
				if called {
					t.Error("StoreStatements called for an unsupported version")
				}
				if code, msg := errorBody(t, w); code != lrs.EINVALID || !strings.Contains(msg, "X-Experience-API-Version") {
					t.Errorf("body %s, want invalid naming the header", w.Body.String())
				}
				if _, authed := f.log.get("Auth.Authenticate"); authed {
					t.Error("credentials were checked for a request refused for its version")
				}
				return
			}
			if !called || c.args[1] != tc.service {
				t.Errorf("StoreStatements got version %v, want %v", c.args, tc.service)
			}
		})
	}

	t.Run("about without a header answers the default version", func(t *testing.T) {
		for _, v := range []xapi.Version{"", xapi.V103} {
			s := newFakes().server()
			s.DefaultVersion = v
			w := serve(s.Handler(), httptest.NewRequest("GET", "/xapi/about", nil))
			want := string(v)
			if want == "" {
				want = "2.0.0"
			}
			if w.Code != 200 || w.Header().Get("X-Experience-API-Version") != want {
				t.Errorf("default %q: %d version %q, want 200 %s", v, w.Code, w.Header().Get("X-Experience-API-Version"), want)
			}
			if !strings.Contains(w.Body.String(), `"version":["1.0.3","2.0.0"]`) {
				t.Errorf("about body %s lacks the versions", w.Body.String())
			}
		}
	})
	t.Run("about echoes a supported version", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/xapi/about", nil)
		r.Header.Set("X-Experience-API-Version", "1.0.3")
		w := serve(newFakes().handler(), r)
		if w.Header().Get("X-Experience-API-Version") != "1.0.3" {
			t.Errorf("version %q, want 1.0.3", w.Header().Get("X-Experience-API-Version"))
		}
	})
}

// TestConsistentThrough: every GET and HEAD of /statements carries
// X-Experience-API-Consistent-Through from the service, errors included.
func TestConsistentThrough(t *testing.T) {
	want := xapi.FormatTimestamp(consistentThrough)
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"GET query", func() *http.Request { return xapiRequest("GET", "/xapi/statements", nil) }, 200},
		{"HEAD query", func() *http.Request { return xapiRequest("HEAD", "/xapi/statements", nil) }, 200},
		{"GET one", func() *http.Request {
			return xapiRequest("GET", "/xapi/statements?statementId="+testStmtID, nil)
		}, 200},
		{"GET bad parameter", func() *http.Request { return xapiRequest("GET", "/xapi/statements?bogus=1", nil) }, 400},
		{"GET without credentials", func() *http.Request {
			r := xapiRequest("GET", "/xapi/statements", nil)
			r.Header.Del("Authorization")
			return r
		}, 401},
		{"GET with an unsupported version", func() *http.Request {
			r := xapiRequest("GET", "/xapi/statements", nil)
			r.Header.Set("X-Experience-API-Version", "9.9")
			return r
		}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			f.st.stmt = &lrs.StoredStatement{ID: testStmtID, Body: []byte(`{"id":"` + testStmtID + `"}`), Stored: consistentThrough}
			w := serve(f.handler(), tc.req())
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body.String())
			}
			if got := w.Header().Get("X-Experience-API-Consistent-Through"); got != want {
				t.Errorf("X-Experience-API-Consistent-Through %q, want %q", got, want)
			}
		})
	}
	t.Run("not on POST", func(t *testing.T) {
		f := newFakes()
		w := serve(f.handler(), xapiRequest("POST", "/xapi/statements", strings.NewReader(`{"a":1}`)))
		if got := w.Header().Get("X-Experience-API-Consistent-Through"); got != "" {
			t.Errorf("POST answered with X-Experience-API-Consistent-Through %q", got)
		}
	})
}
