package httpapi

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// countingBody is a request body that counts the bytes read from it.
type countingBody struct {
	mu sync.Mutex
	r  io.Reader
	n  int64
}

func newCountingBody(s string) *countingBody { return &countingBody{r: strings.NewReader(s)} }

func (b *countingBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.r.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *countingBody) Close() error { return nil }

func (b *countingBody) bytesRead() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

// orderedForm encodes name/value pairs in the order given (url.Values
// sorts them).
func orderedForm(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(pairs[i]) + "=" + url.QueryEscape(pairs[i+1]))
	}
	return b.String()
}

// TestAlternateFormBeforeAuth: an alternate-syntax form is read without
// credentials only up to MaxFormBytesBeforeAuth; past it the credentials
// given so far are checked, and the rest is read only for a good one.
func TestAlternateFormBeforeAuth(t *testing.T) {
	const limit, maxBody = 1024, 64 << 10
	content := `{"verb":{"id":"http://example.com/v"},"x":"` + strings.Repeat("a", 8<<10) + `"}`
	good := "Basic " + basic(testKey, testSecret)
	cases := []struct {
		name     string
		form     string
		header   string // Authorization header
		authErr  bool   // the Authenticator refuses
		status   int
		maxRead  int64  // at most this many bytes read; 0: any
		msg      string // in the error message
		authArgs string // Authenticate called with key:secret, or "" for not called
		// authChunked: Authenticate is called only without Content-Length
		// (with it, the size is refused before anything is read).
		authChunked bool
	}{
		{"credentials first, content past the limit",
			orderedForm("Authorization", good, "X-Experience-API-Version", "1.0.3", "statementId", testStmtID, "content", content),
			"", false, 204, 0, "", testKey + ":" + testSecret, false},
		{"wrong credentials first",
			orderedForm("Authorization", "Basic "+basic("nobody", "guess"), "X-Experience-API-Version", "1.0.3", "statementId", testStmtID, "content", content),
			"", true, 401, limit + 1, "", "nobody:guess", false},
		{"not Basic credentials first",
			orderedForm("Authorization", "Bearer xyz", "X-Experience-API-Version", "1.0.3", "statementId", testStmtID, "content", content),
			"", false, 401, limit + 1, "Basic", "", false},
		{"no credentials",
			orderedForm("X-Experience-API-Version", "1.0.3", "statementId", testStmtID, "content", content),
			"", false, 413, limit + 1, "1024", "", false},
		{"credentials after the content",
			orderedForm("X-Experience-API-Version", "1.0.3", "statementId", testStmtID, "content", content, "Authorization", good),
			"", false, 413, limit + 1, "Authorization", "", false},
		{"credentials in the header",
			orderedForm("X-Experience-API-Version", "1.0.3", "statementId", testStmtID, "content", content),
			good, false, 204, 0, "", testKey + ":" + testSecret, false},
		{"credentials first, form past MaxBodyBytes",
			orderedForm("Authorization", good, "X-Experience-API-Version", "1.0.3", "statementId", testStmtID, "content", strings.Repeat("a", maxBody)),
			"", false, 413, maxBody + 1, "65536", testKey + ":" + testSecret, true},
	}
	for _, tc := range cases {
		for _, chunked := range []bool{false, true} {
			name := tc.name
			if chunked {
				name += ", no Content-Length"
			}
			t.Run(name, func(t *testing.T) {
				f := newFakes()
				if tc.authErr {
					f.auth.err = lrs.Errorf(lrs.EUNAUTHORIZED, "unknown credential")
				}
				s := f.server()
				s.MaxFormBytesBeforeAuth, s.MaxBodyBytes = limit, maxBody
				body := newCountingBody(tc.form)
				r := httptest.NewRequest("POST", "/xapi/statements?method=PUT", body)
				if chunked {
					r.ContentLength = -1
				} else {
					r.ContentLength = int64(len(tc.form))
				}
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if tc.header != "" {
					r.Header.Set("Authorization", tc.header)
				}
				w := serve(s.Handler(), r)
				if w.Code != tc.status {
					t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body.String())
				}
				if tc.maxRead > 0 && body.bytesRead() > tc.maxRead {
					t.Errorf("read %d bytes, want at most %d", body.bytesRead(), tc.maxRead)
				}
				if tc.status >= 400 {
					if _, msg := errorBody(t, w); !strings.Contains(msg, tc.msg) {
						t.Errorf("message %q, want it to mention %q", msg, tc.msg)
					}
					if tc.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic ") {
						t.Errorf("401 without a Basic challenge: %v", w.Header())
					}
					if n := f.log.callsTo("Statements.") + f.log.callsTo("Documents."); n != 0 {
						t.Errorf("a service was called: %v", f.log.names())
					}
				} else {
					_, v, stmts, _, _ := storeArgs(t, f.log.mustGet(t, "Statements.StoreStatements"))
					if v != xapi.V103 || len(stmts) != 1 || stmts[0]["id"] != testStmtID || len(stmts[0]["x"].(string)) != 8<<10 {
						t.Errorf("stored %v %d statements", v, len(stmts))
					}
				}
				wantAuth := tc.authArgs
				if tc.authChunked && !chunked {
					wantAuth = ""
				}
				var auths []string
				for _, c := range f.log.all() {
					if c.name == "Auth.Authenticate" {
						auths = append(auths, c.args[0].(string)+":"+c.args[1].(string))
					}
				}
				switch {
				case wantAuth == "" && len(auths) != 0:
					t.Errorf("Authenticate called %v, want not at all", auths)
				case wantAuth != "" && (len(auths) != 1 || auths[0] != wantAuth):
					t.Errorf("Authenticate called %v, want once with %s", auths, wantAuth)
				}
			})
		}
	}

	t.Run("Content-Length past MaxBodyBytes is refused unread", func(t *testing.T) {
		f := newFakes()
		s := f.server()
		s.MaxBodyBytes = maxBody
		body := newCountingBody(orderedForm("Authorization", good, "content", strings.Repeat("a", maxBody)))
		r := httptest.NewRequest("POST", "/xapi/statements?method=POST", body)
		r.ContentLength = body.r.(*strings.Reader).Size()
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := serve(s.Handler(), r)
		if code, msg := errorBody(t, w); w.Code != 413 || code != lrs.ETOOLARGE || !strings.Contains(msg, "65536") {
			t.Errorf("%d %s, want 413 naming 65536", w.Code, w.Body.String())
		}
		if body.bytesRead() != 0 {
			t.Errorf("read %d bytes of a body announced too large", body.bytesRead())
		}
	})
}

// blockingStatements holds StoreStatements until release is closed.
type blockingStatements struct {
	*fakeStatements
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStatements) StoreStatements(ctx context.Context, p *lrs.Principal, v xapi.Version, stmts []map[string]any, batch bool, parts []lrs.Attachment) ([]string, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.fakeStatements.StoreStatements(ctx, p, v, stmts, batch, parts)
}

// TestBodyBudget: the request bodies in flight together hold at most
// MaxInflightBodyBytes; a request past it waits briefly, then gets 503 with
// Retry-After, and the next one after the others finish is served.
func TestBodyBudget(t *testing.T) {
	f := newFakes()
	bs := &blockingStatements{fakeStatements: f.st, entered: make(chan struct{}, 1), release: make(chan struct{})}
	s := f.server()
	s.Statements = bs
	s.MaxInflightBodyBytes, s.BodyBudgetWait, s.MaxBodyBytes = 4096, 20*time.Millisecond, 4096
	h := s.Handler()
	stmt := func(n int) string {
		return `{"verb":{"id":"http://example.com/v"},"x":"` + strings.Repeat("a", n) + `"}`
	}

	first := make(chan *httptest.ResponseRecorder)
	go func() { first <- serve(h, xapiRequest("POST", "/xapi/statements", strings.NewReader(stmt(3000)))) }()
	<-bs.entered // the first request holds its 3 kB body

	second := make(chan *httptest.ResponseRecorder, 1)
	go func() { second <- serve(h, xapiRequest("POST", "/xapi/statements", strings.NewReader(stmt(2000)))) }()
	var w *httptest.ResponseRecorder
	select {
	case w = <-second:
	case <-time.After(3 * time.Second):
		close(bs.release)
		t.Fatal("the second request was not refused: it reached the service beside the first")
	}
	if code, msg := errorBody(t, w); w.Code != 503 || code != lrs.EUNAVAILABLE || !strings.Contains(msg, "4096") {
		t.Errorf("second request: %d %s, want 503 unavailable naming the 4096-byte budget", w.Code, w.Body.String())
	}
	if ra := w.Header().Get("Retry-After"); ra == "" {
		t.Error("503 without Retry-After")
	}
	// A request with a small body fits beside the first: its body is read
	// and it reaches the service while the first still holds its own.
	small := make(chan *httptest.ResponseRecorder)
	go func() { small <- serve(h, xapiRequest("POST", "/xapi/statements", strings.NewReader(stmt(100)))) }()
	select {
	case <-bs.entered:
	case w := <-small:
		close(bs.release)
		t.Fatalf("a small request beside the first: %d %s, want it served", w.Code, w.Body.String())
	}

	close(bs.release)
	if w := <-first; w.Code != 200 {
		t.Errorf("first request: %d %s", w.Code, w.Body.String())
	}
	if w := <-small; w.Code != 200 {
		t.Errorf("small request beside it: %d %s", w.Code, w.Body.String())
	}
	// The budget is free again.
	if w := serve(h, xapiRequest("POST", "/xapi/statements", strings.NewReader(stmt(2000)))); w.Code != 200 {
		t.Errorf("after the first finished: %d %s", w.Code, w.Body.String())
	}
	if n := f.log.callsTo("Statements.StoreStatements"); n != 3 {
		t.Errorf("StoreStatements called %d times, want 3 (not for the refused one)", n)
	}
}

// slowStatements sleeps in its calls and records whether their context was
// still alive after.
type slowStatements struct {
	*fakeStatements
	sleep  time.Duration
	mu     sync.Mutex
	ctxErr []error
}

func (s *slowStatements) wait(ctx context.Context) {
	time.Sleep(s.sleep)
	s.mu.Lock()
	s.ctxErr = append(s.ctxErr, ctx.Err())
	s.mu.Unlock()
}

func (s *slowStatements) StoreStatements(ctx context.Context, p *lrs.Principal, v xapi.Version, stmts []map[string]any, batch bool, parts []lrs.Attachment) ([]string, error) {
	s.wait(ctx)
	return s.fakeStatements.StoreStatements(ctx, p, v, stmts, batch, parts)
}

func (s *slowStatements) QueryStatements(ctx context.Context, p *lrs.Principal, q lrs.Query) ([]lrs.StoredStatement, bool, error) {
	s.wait(ctx)
	return s.fakeStatements.QueryStatements(ctx, p, q)
}

// TestBodyReadTimeout: a body that does not arrive within BodyReadTimeout
// is answered 408 and its connection closed; a request whose body has
// arrived may then take longer than that (exports, big pages).
func TestBodyReadTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	f := newFakes()
	slow := &slowStatements{fakeStatements: f.st, sleep: 2 * timeout}
	s := f.server()
	s.Statements = slow
	s.BodyReadTimeout = timeout
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	for _, alternate := range []bool{false, true} {
		name := "a stalled body"
		if alternate {
			name = "a stalled alternate-syntax form"
		}
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if alternate {
				fmt.Fprintf(conn, "POST /xapi/statements?method=PUT HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
					"Content-Length: 1000\r\n\r\nX-Experience-API-Version=1.0.3&content=")
			} else {
				fmt.Fprintf(conn, "POST /xapi/statements HTTP/1.1\r\nHost: x\r\nX-Experience-API-Version: 2.0.0\r\nAuthorization: Basic %s\r\n"+
					"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"verb\":", basic(testKey, testSecret))
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer within 5s to a body stalled for longer than the %s timeout: %v", timeout, err)
			}
			b, _ := io.ReadAll(res.Body)
			if took := time.Since(start); res.StatusCode != http.StatusRequestTimeout || took > 2*time.Second {
				t.Errorf("%d %s after %s, want 408 soon after %s", res.StatusCode, b, took, timeout)
			}
			var e map[string]string
			if json.Unmarshal(b, &e) != nil || e["error"] != eTimeout || !strings.Contains(e["message"], timeout.String()) {
				t.Errorf("body %s, want error %q naming the timeout", b, eTimeout)
			}
		})
	}

	t.Run("a request may run longer once its body is read", func(t *testing.T) {
		slow.ctxErr = nil
		req, _ := http.NewRequest("POST", srv.URL+"/xapi/statements", strings.NewReader(`{"verb":{"id":"http://example.com/v"}}`))
		req.Header.Set("X-Experience-API-Version", "2.0.0")
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(testKey, testSecret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		req, _ = http.NewRequest("GET", srv.URL+"/xapi/statements", nil)
		req.Header.Set("X-Experience-API-Version", "2.0.0")
		req.SetBasicAuth(testKey, testSecret)
		res2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res2.Body.Close()
		if res.StatusCode != 200 || res2.StatusCode != 200 {
			t.Errorf("POST %d, GET %d, want 200s", res.StatusCode, res2.StatusCode)
		}
		slow.mu.Lock()
		defer slow.mu.Unlock()
		if len(slow.ctxErr) != 2 || slow.ctxErr[0] != nil || slow.ctxErr[1] != nil {
			t.Errorf("request contexts after %s: %v, want both alive", slow.sleep, slow.ctxErr)
		}
	})
}

// metricLabels returns the label sets of a metric family in reg.
func metricLabels(t *testing.T, reg *prometheus.Registry, family string) []map[string]string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out = append(out, l)
		}
	}
	return out
}

// TestMetricsLabels: invented methods and unmatched paths add no series.
func TestMetricsLabels(t *testing.T) {
	s := newFakes().server()
	reg := prometheus.NewRegistry()
	s.Registry = reg
	h := s.Handler()
	for i := 0; i < 50; i++ {
		serve(h, httptest.NewRequest(fmt.Sprintf("INVENTED%d", i), "/xapi/statements", nil))
		serve(h, httptest.NewRequest(fmt.Sprintf("X%d", i), fmt.Sprintf("/nope/%d", i), nil))
		serve(h, httptest.NewRequest("GET", fmt.Sprintf("/nope/%d", i), nil))
	}
	serve(h, xapiRequest("PATCH", "/xapi/statements", nil))
	serve(h, httptest.NewRequest("GET", "/health", nil))
	known := map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "OPTIONS": true, "other": true}
	for _, fam := range []string{"bridge_http_requests_total", "bridge_http_request_duration_seconds"} {
		labels := metricLabels(t, reg, fam)
		if len(labels) == 0 || len(labels) > 6 {
			t.Errorf("%s has %d series, want a handful", fam, len(labels))
		}
		for _, l := range labels {
			if !known[l["method"]] {
				t.Errorf("%s: method label %q (and maybe more)", fam, l["method"])
				break
			}
			if r := l["route"]; r != "unmatched" && r != "/health" && r != "/xapi/statements" {
				t.Errorf("%s: route label %q (and maybe more)", fam, r)
				break
			}
		}
	}
	if n := requestCount(t, reg, "unmatched", "other", "405"); n != 50 {
		t.Errorf("invented methods on a route: counted %v as unmatched/other/405, want 50", n)
	}
	if n := requestCount(t, reg, "unmatched", "other", "404"); n != 50 {
		t.Errorf("invented methods elsewhere: counted %v as unmatched/other/404, want 50", n)
	}
	if n := requestCount(t, reg, "unmatched", "PATCH", "405"); n != 1 {
		t.Errorf("PATCH counted %v, want 1 under its own name", n)
	}
}

// TestMetricsToken: with MetricsToken set, /metrics needs it as a bearer
// token; without, it is open.
func TestMetricsToken(t *testing.T) {
	s := newFakes().server()
	s.MetricsToken = "metrics-token-1"
	h := s.Handler()
	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{"no credentials", "", 401},
		{"a wrong token", "Bearer nope", 401},
		{"the admin token", "Bearer " + adminToken, 401},
		{"xAPI credentials", "Basic " + basic(testKey, testSecret), 401},
		{"the token", "Bearer metrics-token-1", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/metrics", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := serve(h, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if tc.status == 200 {
				if !strings.Contains(w.Body.String(), "bridge_http_requests_total") {
					t.Errorf("metrics lack bridge_http_requests_total")
				}
				return
			}
			if code, _ := errorBody(t, w); code != lrs.EUNAUTHORIZED || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %v, want unauthorized with a Bearer challenge", w.Body.String(), w.Header())
			}
			if strings.Contains(w.Body.String(), "go_goroutines") || strings.Contains(w.Body.String(), "bridge_http") {
				t.Errorf("metrics shown without the token")
			}
		})
	}
	t.Run("other routes do not need it", func(t *testing.T) {
		if w := serve(h, httptest.NewRequest("GET", "/health", nil)); w.Code != 200 {
			t.Errorf("/health %d", w.Code)
		}
	})
}

func statementsArray(n int, each string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(" ,\n")
		}
		b.WriteString(each)
	}
	b.WriteByte(']')
	return b.String()
}

// TestMaxStatements: a request with more statements than MaxStatements is
// a 413 naming the limit, refused while the body is read, before anything
// is decoded, validated or stored.
func TestMaxStatements(t *testing.T) {
	const max = 10
	plain := `{"verb":{"id":"http://example.com/v"}}`
	// Nested arrays, and strings holding brackets, commas and escaped
	// quotes, are inside one statement.
	tricky := `{"verb":{"id":"http://example.com/v","display":{"en":"a, [b], {c}, \"d,\" \\"}},"context":{"contextActivities":{"parent":[{"id":"http://e.com/1"},{"id":"http://e.com/2"}]}},"x":[[1,2],[3,[4,5]],"],["]}`
	cases := []struct {
		name, contentType, body string
		status, n               int
	}{
		{"at the limit", "application/json", statementsArray(max, plain), 200, max},
		{"at the limit, with arrays and strings that look like statements", "application/json", statementsArray(max, tricky), 200, max},
		{"one statement object", "application/json", tricky, 200, 1},
		{"an empty array", "application/json", " [ ] ", 200, 0},
		{"one over", "application/json", statementsArray(max+1, plain), 413, 0},
		{"one over, multipart", "multipart/mixed; boundary=b",
			"--b\r\nContent-Type: application/json\r\n\r\n" + statementsArray(max+1, plain) + "\r\n--b--\r\n", 413, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			s := f.server()
			s.MaxStatements = max
			r := xapiRequest("POST", "/xapi/statements", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.contentType)
			w := serve(s.Handler(), r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body.String())
			}
			if tc.status == 413 {
				if code, msg := errorBody(t, w); code != lrs.ETOOLARGE || !strings.Contains(msg, "[10]") || !strings.Contains(msg, "at most 10 statements") {
					t.Errorf("body %s, want too_large naming [10] and the limit of 10", w.Body.String())
				}
				if n := len(f.log.all()) - f.log.callsTo("Auth."); n != 0 {
					t.Errorf("a service was called: %v", f.log.names())
				}
				return
			}
			_, _, stmts, _, _ := storeArgs(t, f.log.mustGet(t, "Statements.StoreStatements"))
			if len(stmts) != tc.n {
				t.Errorf("stored %d statements, want %d", len(stmts), tc.n)
			}
		})
	}

	t.Run("refused while reading, not after", func(t *testing.T) {
		f := newFakes()
		s := f.server()
		s.MaxStatements = max
		body := statementsArray(100000, plain) // 4 MB
		cb := newCountingBody(body)
		r := xapiRequest("POST", "/xapi/statements", cb)
		w := serve(s.Handler(), r)
		if w.Code != 413 {
			t.Fatalf("status %d, want 413", w.Code)
		}
		if cb.bytesRead() > 64<<10 {
			t.Errorf("read %d of %d bytes to find more than %d statements", cb.bytesRead(), len(body), max)
		}
	})

	t.Run("through the alternate syntax", func(t *testing.T) {
		f := newFakes()
		s := f.server()
		s.MaxStatements = max
		form := url.Values{"Authorization": {"Basic " + basic(testKey, testSecret)}, "X-Experience-API-Version": {"1.0.3"},
			"content": {statementsArray(max+1, plain)}}
		r := httptestRequest("POST", "/xapi/statements?method=POST", form.Encode())
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := serve(s.Handler(), r)
		if code, _ := errorBody(t, w); w.Code != 413 || code != lrs.ETOOLARGE {
			t.Errorf("%d %s, want 413", w.Code, w.Body.String())
		}
	})

	t.Run("the default is 5000", func(t *testing.T) {
		for _, n := range []int{5000, 5001} {
			f := newFakes()
			w := serve(f.handler(), xapiRequest("POST", "/xapi/statements", strings.NewReader(statementsArray(n, `{}`))))
			want := 200
			if n > 5000 {
				want = 413
			}
			if w.Code != want {
				t.Errorf("%d statements: %d, want %d", n, w.Code, want)
			}
			if want == 413 && !strings.Contains(w.Body.String(), "5000") {
				t.Errorf("body %s does not name the limit", w.Body.String())
			}
		}
	})
}

// pageResult is a decoded GET /statements result.
type pageResult struct {
	Statements []map[string]any `json:"statements"`
	More       string           `json:"more"`
}

// attachmentStatements answers Attachments with the attachments its
// statements (by body) declare.
type attachmentStatements struct {
	*fakeStatements
	byBody map[string][]lrs.Attachment
}

func (a *attachmentStatements) Attachments(_ context.Context, p *lrs.Principal, bodies [][]byte) ([]lrs.Attachment, error) {
	a.log.add("Statements.Attachments", p, bodies)
	var out []lrs.Attachment
	for _, b := range bodies {
		out = append(out, a.byBody[string(b)]...)
	}
	return out, nil
}

// TestMaxResponseBytes: a page whose statements (and attachments) pass
// MaxResponseBytes is cut short, with a more link that continues after the
// last statement it holds; nothing fails.
func TestMaxResponseBytes(t *testing.T) {
	stmt := func(id string, n int) lrs.StoredStatement {
		return lrs.StoredStatement{PK: int64(100 + len(id)), ID: id, Body: []byte(`{"id":"` + id + `","x":"` + strings.Repeat("a", n) + `"}`)}
	}
	t.Run("statements past the limit", func(t *testing.T) {
		f := newFakes()
		s := f.server()
		s.MaxResponseBytes = 250
		for i := 0; i < 5; i++ {
			st := stmt(fmt.Sprint("s", i), 80) // 96 bytes each
			st.PK = int64(50 - i)
			f.st.result = append(f.st.result, st)
		}
		h := s.Handler()
		w := serve(h, xapiRequest("GET", "/xapi/statements?limit=5", nil))
		var res pageResult
		if err := json.Unmarshal(w.Body.Bytes(), &res); w.Code != 200 || err != nil {
			t.Fatalf("%d %s: %v", w.Code, w.Body.String(), err)
		}
		if len(res.Statements) != 2 || res.Statements[1]["id"] != "s1" || res.More == "" {
			t.Fatalf("got %d statements, more %q; want s0 and s1 and a more link", len(res.Statements), res.More)
		}
		if w.Body.Len() > 250+100 {
			t.Errorf("response of %d bytes", w.Body.Len())
		}
		f.log = &callLog{}
		f.st.log, f.auth.log = f.log, f.log
		serve(h, xapiRequest("GET", res.More, nil))
		q := f.log.mustGet(t, "Statements.QueryStatements").args[1].(lrs.Query)
		if q.After != 49 || q.Limit != 5 {
			t.Errorf("the more link asks for %+v, want after 49 (s1) with limit 5", q)
		}
	})

	t.Run("one statement larger than the limit is still served", func(t *testing.T) {
		f := newFakes()
		s := f.server()
		s.MaxResponseBytes = 100
		f.st.result = []lrs.StoredStatement{stmt("big", 1000)}
		w := serve(s.Handler(), xapiRequest("GET", "/xapi/statements", nil))
		var res pageResult
		if err := json.Unmarshal(w.Body.Bytes(), &res); w.Code != 200 || err != nil || len(res.Statements) != 1 || res.More != "" {
			t.Errorf("%d %d statements more %q (%v), want the statement and no more link", w.Code, len(res.Statements), res.More, err)
		}
	})

	t.Run("the default is 16 MiB", func(t *testing.T) {
		f := newFakes()
		for i := 0; i < 20; i++ {
			st := stmt(fmt.Sprint("s", i), 1<<20) // 1 MiB each
			st.PK = int64(100 - i)
			f.st.result = append(f.st.result, st)
		}
		w := serve(f.handler(), xapiRequest("GET", "/xapi/statements", nil))
		var res pageResult
		if err := json.Unmarshal(w.Body.Bytes(), &res); w.Code != 200 || err != nil {
			t.Fatalf("%d: %v", w.Code, err)
		}
		if len(res.Statements) != 15 || res.More == "" {
			t.Errorf("%d statements of 1 MiB, more %q; want 15 and a more link", len(res.Statements), res.More)
		}
	})

	t.Run("attachments past the limit", func(t *testing.T) {
		f := newFakes()
		as := &attachmentStatements{fakeStatements: f.st, byBody: map[string][]lrs.Attachment{}}
		s := f.server()
		s.Statements = as
		s.MaxResponseBytes = 700 // each statement is 96 bytes, each attachment 200
		for i := 0; i < 3; i++ {
			content := []byte(strings.Repeat(fmt.Sprint(i), 200))
			sum := sha256.Sum256(content)
			st := lrs.StoredStatement{PK: int64(10 - i), ID: fmt.Sprint("a", i),
				Body: []byte(fmt.Sprintf(`{"id":"a%d","attachments":[{"sha2":"%s"}]}`, i, hex.EncodeToString(sum[:])))}
			f.st.result = append(f.st.result, st)
			as.byBody[string(st.Body)] = []lrs.Attachment{lrs.NewAttachment("text/plain", content)}
		}
		w := serve(s.Handler(), xapiRequest("GET", "/xapi/statements?attachments=true", nil))
		mt, params, err := mime.ParseMediaType(w.Header().Get("Content-Type"))
		if w.Code != 200 || err != nil || mt != "multipart/mixed" {
			t.Fatalf("%d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
		}
		mr := multipart.NewReader(w.Body, params["boundary"])
		var parts [][]byte
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p)
			parts = append(parts, b)
		}
		if len(parts) != 3 {
			t.Fatalf("%d parts, want the statements and two attachments", len(parts))
		}
		var res pageResult
		if err := json.Unmarshal(parts[0], &res); err != nil || len(res.Statements) != 2 || res.More == "" {
			t.Errorf("statements part %s: want a0 and a1 and a more link", parts[0])
		}
		if string(parts[1]) != strings.Repeat("0", 200) || string(parts[2]) != strings.Repeat("1", 200) {
			t.Errorf("attachment parts %q", parts[1:])
		}
	})
}

// moreToken is a more token as a client could write it: base64url JSON.
func moreToken(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestMoreTokens: a more token carries only GET /statements' public
// parameters, validated as they are in a query; internal query fields
// cannot be set through one.
func TestMoreTokens(t *testing.T) {
	agents := make([]string, 33000)
	for i := range agents {
		agents[i] = fmt.Sprintf("mbox:mailto:a%d@example.com", i)
	}
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"internal fields (Agents, AuthorityKey)", moreToken(map[string]any{"Agents": agents, "AuthorityKey": "x", "After": 5})},
		{"an authority restriction lifted", moreToken(map[string]any{"AuthorityKey": "", "After": 5, "Verb": "http://example.com/v"})},
		{"a verb that is not an IRI", moreToken(map[string]any{"q": "verb=nope", "after": 5})},
		{"an unknown parameter", moreToken(map[string]any{"q": "foo=1", "after": 5})},
		{"statementId", moreToken(map[string]any{"q": "statementId=" + testStmtID, "after": 5})},
		{"more itself", moreToken(map[string]any{"q": "more=abc", "after": 5})},
		{"a repeated parameter", moreToken(map[string]any{"q": "limit=1&limit=2", "after": 5})},
		{"no position", moreToken(map[string]any{"q": "limit=1"})},
		{"an unknown field", moreToken(map[string]any{"q": "limit=1", "after": 5, "Agents": []string{"x"}})},
		{"not base64", "%%%"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			f := newFakes()
			w := serve(f.handler(), xapiRequest("GET", "/xapi/statements?more="+url.QueryEscape(tc.token), nil))
			if code, _ := errorBody(t, w); w.Code != 400 || code != lrs.EINVALID {
				t.Errorf("%d %s, want 400 invalid", w.Code, w.Body.String())
			}
			if c, ok := f.log.get("Statements.QueryStatements"); ok {
				t.Errorf("QueryStatements was called with %+v", c.args[1])
			}
		})
	}

	t.Run("a more link keeps every parameter", func(t *testing.T) {
		f := newFakes()
		f.st.result = []lrs.StoredStatement{{PK: 10, Body: []byte(`{"id":"a","actor":{"mbox":"mailto:x@example.com","name":"X"}}`)}}
		f.st.more = true
		h := f.handler()
		q := "verb=" + url.QueryEscape("http://example.com/v") + "&activity=" + url.QueryEscape("http://example.com/a") +
			"&registration=" + testStmtID + "&related_activities=true&related_agents=true&since=2025-01-01T00:00:00Z" +
			"&until=2026-01-01T00:00:00Z&limit=1&format=ids&ascending=true&" + qAgent
		w := serve(h, xapiRequest("GET", "/xapi/statements?"+q, nil))
		var res pageResult
		json.Unmarshal(w.Body.Bytes(), &res)
		first := f.log.mustGet(t, "Statements.QueryStatements").args[1].(lrs.Query)
		f.log = &callLog{}
		f.st.log, f.auth.log = f.log, f.log
		w = serve(h, xapiRequest("GET", res.More, nil))
		if w.Code != 200 || strings.Contains(w.Body.String(), `"X"`) {
			t.Errorf("following the link: %d %s, want 200 in the ids format", w.Code, w.Body.String())
		}
		next := f.log.mustGet(t, "Statements.QueryStatements").args[1].(lrs.Query)
		first.After = 10
		if !reflect.DeepEqual(next, first) {
			t.Errorf("more query %+v, want %+v", next, first)
		}
	})
}
