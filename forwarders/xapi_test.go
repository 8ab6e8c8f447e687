package forwarders

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newXAPI(t *testing.T, c XAPIConfig) *XAPI {
	t.Helper()
	x, err := NewXAPI(c)
	if err != nil {
		t.Fatalf("NewXAPI: %v", err)
	}
	return x
}

func TestXAPIBatchSuccess(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusOK, `["a","b","c"]`)
	x := newXAPI(t, XAPIConfig{Name: "lrs2", Endpoint: ft.URL() + "/xapi/", Headers: map[string]string{"X-Tenant": "t1"}})
	if x.Name() != "lrs2" {
		t.Errorf("Name = %q", x.Name())
	}
	out := x.Send(context.Background(), items("a", "b", "c"))
	checkOK(t, out, 3)
	for _, o := range out {
		if o.Status != 200 {
			t.Errorf("status = %d", o.Status)
		}
	}
	reqs := ft.Requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1 for the batch", len(reqs))
	}
	r := reqs[0]
	if r.Method != "POST" || r.Path != "/xapi/statements" || r.Query != "" {
		t.Errorf("request = %s %s?%s", r.Method, r.Path, r.Query)
	}
	if !isArray(r.Body) || !reflect.DeepEqual(bodyIDs(t, r.Body), []string{"a", "b", "c"}) {
		t.Errorf("body = %s", r.Body)
	}
	for k, want := range map[string]string{
		"Content-Type":             "application/json",
		"X-Experience-Api-Version": "1.0.3",
		"User-Agent":               "bridge",
		"X-Tenant":                 "t1",
		"Authorization":            "",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	// Unchanged statements are sent byte for byte.
	if want := string(joinArray([][]byte{stmt("a"), stmt("b"), stmt("c")})); string(r.Body) != want {
		t.Errorf("body = %s\nwant %s", r.Body, want)
	}
}

func TestXAPIEmptyBatch(t *testing.T) {
	ft := newTarget(t)
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	if out := x.Send(context.Background(), nil); len(out) != 0 {
		t.Errorf("outcomes = %v", out)
	}
	if ft.Count() != 0 {
		t.Errorf("empty batch made %d requests", ft.Count())
	}
	if x.Name() != strings.TrimPrefix(ft.URL(), "http://") {
		t.Errorf("default name = %q", x.Name())
	}
}

func TestXAPIAuthHeaders(t *testing.T) {
	ft := newTarget(t)
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL(), Username: "key", Password: "s:cret"})
	checkOK(t, x.Send(context.Background(), items("a")), 1)
	x = newXAPI(t, XAPIConfig{Endpoint: ft.URL(), Token: "tok123"})
	checkOK(t, x.Send(context.Background(), items("a")), 1)
	// Headers cannot override the configured auth.
	x = newXAPI(t, XAPIConfig{Endpoint: ft.URL(), Token: "tok456", Headers: map[string]string{"authorization": "Basic Zm9v"}})
	checkOK(t, x.Send(context.Background(), items("a")), 1)

	reqs := ft.Requests()
	req := &http.Request{Header: reqs[0].Header}
	if u, p, ok := req.BasicAuth(); !ok || u != "key" || p != "s:cret" {
		t.Errorf("basic auth = %q %q %v (header %q)", u, p, ok, reqs[0].Header.Get("Authorization"))
	}
	if got := reqs[1].Header.Get("Authorization"); got != "Bearer tok123" {
		t.Errorf("bearer = %q", got)
	}
	if got := reqs[2].Header.Values("Authorization"); len(got) != 1 || got[0] != "Bearer tok456" {
		t.Errorf("authorization with override attempt = %q", got)
	}
}

func TestXAPIVersion200(t *testing.T) {
	ft := newTarget(t)
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL(), Version: "2.0.0"})
	s := stmt("a", `"version":"2.0.0"`, `"context":{"contextAgents":[{"objectType":"contextAgent","agent":{"mbox":"mailto:b@example.org"}}]}`)
	checkOK(t, x.Send(context.Background(), []Item{{DeliveryID: 1, StatementID: "a", Statement: s}}), 1)
	r := ft.Requests()[0]
	if got := r.Header.Get("X-Experience-API-Version"); got != "2.0.0" {
		t.Errorf("version header = %q", got)
	}
	if string(r.Body) != "["+string(s)+"]" {
		t.Errorf("2.0.0 target got a modified statement: %s", r.Body)
	}
}

func TestXAPIStrip103(t *testing.T) {
	ft := newTarget(t)
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL(), Version: "1.0.3"})
	s := stmt("a",
		`"version":"2.0.0"`,
		`"authority":{"mbox":"mailto:auth@example.org"}`,
		`"stored":"2024-01-01T00:00:00Z"`,
		`"context":{"registration":"6fbd6c3e-1f4b-4a1e-9d3e-2f0e5c3a8b11","contextAgents":[{"objectType":"contextAgent","agent":{"mbox":"mailto:b@example.org"}}],"contextGroups":[],"extensions":{"http://x/e":"<&>"}}`,
	)
	sub := json.RawMessage(`{"id":"b","actor":{"mbox":"mailto:ann@example.org"},"verb":{"id":"http://v/1"},"object":{"objectType":"SubStatement","actor":{"mbox":"mailto:c@example.org"},"verb":{"id":"http://v/2"},"object":{"id":"http://o/2"},"context":{"contextGroups":[],"language":"en"}}}`)
	old := stmt("c", `"version":"1.0.1"`)
	out := x.Send(context.Background(), []Item{
		{DeliveryID: 1, StatementID: "a", Statement: s},
		{DeliveryID: 2, StatementID: "b", Statement: sub},
		{DeliveryID: 3, StatementID: "c", Statement: old},
	})
	checkOK(t, out, 3)
	r := ft.Requests()[0]
	var got []map[string]any
	if err := json.Unmarshal(r.Body, &got); err != nil {
		t.Fatal(err)
	}
	a := got[0]
	if a["version"] != "1.0.0" {
		t.Errorf("version = %v, want 1.0.0", a["version"])
	}
	ctx := a["context"].(map[string]any)
	if _, ok := ctx["contextAgents"]; ok {
		t.Error("contextAgents kept for a 1.0.3 target")
	}
	if _, ok := ctx["contextGroups"]; ok {
		t.Error("contextGroups kept for a 1.0.3 target")
	}
	if ctx["registration"] != "6fbd6c3e-1f4b-4a1e-9d3e-2f0e5c3a8b11" {
		t.Errorf("registration lost: %v", ctx)
	}
	if ext := ctx["extensions"].(map[string]any); ext["http://x/e"] != "<&>" {
		t.Errorf("extensions = %v", ext)
	}
	if a["authority"] == nil || a["stored"] == nil || a["id"] != "a" {
		t.Errorf("authority/stored/id not kept: %v", a)
	}
	if strings.Contains(string(r.Body), `\u003c`) {
		t.Errorf("re-encoded statement is HTML-escaped: %s", r.Body)
	}
	subCtx := got[1]["object"].(map[string]any)["context"].(map[string]any)
	if _, ok := subCtx["contextGroups"]; ok || subCtx["language"] != "en" {
		t.Errorf("sub-statement context = %v", subCtx)
	}
	if !strings.Contains(string(r.Body), string(old)) {
		t.Errorf("1.0.x statement was modified: %s", r.Body)
	}
}

// A 400 on a batch is split into single POSTs: the good statements get through, the bad one is Permanent.
func TestXAPI400SplitIsolatesBad(t *testing.T) {
	ft := newTarget(t)
	ft.Handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		for _, id := range bodyIDs(t, body) {
			if id == "bad" {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid verb in bad"}`))
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	})
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	out := x.Send(context.Background(), items("a", "bad", "c"))
	if !out[0].OK || !out[2].OK {
		t.Errorf("good statements: %+v %+v", out[0], out[2])
	}
	checkPermanent(t, out[1], 400)
	if !strings.Contains(out[1].Error, "invalid verb in bad") {
		t.Errorf("error lacks the response body: %q", out[1].Error)
	}
	reqs := ft.Requests()
	if len(reqs) != 4 {
		t.Fatalf("got %d requests, want 1 batch + 3 singles", len(reqs))
	}
	for i, want := range []string{"a", "bad", "c"} {
		r := reqs[i+1]
		if r.Method != "POST" || isArray(r.Body) || bodyIDs(t, r.Body)[0] != want {
			t.Errorf("single %d: %s %s", i, r.Method, r.Body)
		}
	}
}

func TestXAPI400SingleIsPermanentWithoutSplit(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusBadRequest, "nope")
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	out := x.Send(context.Background(), items("a"))
	checkPermanent(t, out[0], 400)
	if ft.Count() != 1 {
		t.Errorf("requests = %d, want 1", ft.Count())
	}
}

// A retryable failure while splitting stops the split; the rest are retryable "not sent".
func TestXAPISplitStopsOnRetryable(t *testing.T) {
	ft := newTarget(t)
	n := 0
	ft.Handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		n++ // handler calls are sequential here
		if n == 1 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	out := x.Send(context.Background(), items("a", "b", "c"))
	checkRetryable(t, out[0], 503)
	for _, o := range out[1:] {
		checkRetryable(t, o, 0)
		if !strings.HasPrefix(o.Error, "not sent") || o.RetryAfter != 3*time.Second {
			t.Errorf("not-sent outcome = %+v", o)
		}
	}
	if ft.Count() != 2 {
		t.Errorf("requests = %d, want 2", ft.Count())
	}
}

// A 409 on a batch falls back to one PUT per statement, each classified alone.
func TestXAPI409FallsBackToPut(t *testing.T) {
	ft := newTarget(t)
	ft.Handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.Method == "POST":
			w.WriteHeader(http.StatusConflict)
		case r.Method == "PUT" && r.URL.Query().Get("statementId") == "changed":
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte("statement conflicts with stored one"))
		case r.Method == "PUT":
			w.WriteHeader(http.StatusNoContent) // same content already stored, or new
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL() + "/xapi"})
	in := items("same", "changed", "new")
	in[2].Statement = json.RawMessage(`{"actor":{"mbox":"mailto:a@example.org"},"verb":{"id":"http://v"},"object":{"id":"http://o"}}`) // id only in Item
	out := x.Send(context.Background(), in)
	if !out[0].OK || out[0].Status != 204 || !out[2].OK {
		t.Errorf("outcomes = %+v", out)
	}
	checkPermanent(t, out[1], 409)
	if !strings.Contains(out[1].Error, "conflict") || !strings.Contains(out[1].Error, "changed") {
		t.Errorf("error = %q", out[1].Error)
	}
	reqs := ft.Requests()
	if len(reqs) != 4 {
		t.Fatalf("got %d requests, want 1 POST + 3 PUTs", len(reqs))
	}
	for i, id := range []string{"same", "changed", "new"} {
		r := reqs[i+1]
		q, _ := url.ParseQuery(r.Query)
		if r.Method != "PUT" || r.Path != "/xapi/statements" || q.Get("statementId") != id || isArray(r.Body) {
			t.Errorf("fallback %d: %s %s?%s %s", i, r.Method, r.Path, r.Query, r.Body)
		}
	}
}

func TestXAPI429RetryAfter(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusTooManyRequests, "slow down", "Retry-After", "7")
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	out := x.Send(context.Background(), items("a", "b"))
	for _, o := range out {
		checkRetryable(t, o, 429)
		if o.RetryAfter != 7*time.Second {
			t.Errorf("RetryAfter = %v, want 7s", o.RetryAfter)
		}
	}
	if ft.Count() != 1 {
		t.Errorf("requests = %d", ft.Count())
	}
}

func TestXAPI503Retryable(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusServiceUnavailable, strings.Repeat("maintenance ", 200))
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	out := x.Send(context.Background(), items("a", "b"))
	for _, o := range out {
		checkRetryable(t, o, 503)
		if o.RetryAfter != 0 {
			t.Errorf("RetryAfter = %v without header", o.RetryAfter)
		}
		if len(o.Error) > MaxErrorLen || !strings.HasPrefix(o.Error, "HTTP 503 Service Unavailable: maintenance") {
			t.Errorf("error (%d bytes) = %q", len(o.Error), o.Error)
		}
	}
	ft.Respond(http.StatusRequestTimeout, "")
	checkRetryable(t, x.Send(context.Background(), items("a"))[0], 408)
}

func TestXAPITimeoutRetryable(t *testing.T) {
	ft := newTarget(t)
	ft.Stall()
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL(), Timeout: 50 * time.Millisecond})
	start := time.Now()
	out := x.Send(context.Background(), items("a", "b"))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Send took %v", d)
	}
	for _, o := range out {
		checkRetryable(t, o, 0)
		if !strings.Contains(o.Error, "timeout") {
			t.Errorf("error = %q", o.Error)
		}
	}
	// Recovers.
	ft.Respond(http.StatusOK, "")
	checkOK(t, x.Send(context.Background(), items("a")), 1)
}

func TestXAPICanceledContext(t *testing.T) {
	ft := newTarget(t)
	ft.Stall()
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	out := x.Send(ctx, items("a"))
	checkRetryable(t, out[0], 0)
	if !strings.HasPrefix(out[0].Error, "canceled") {
		t.Errorf("error = %q", out[0].Error)
	}
}

func TestXAPI401Permanent(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusUnauthorized, `{"error":"bad credentials"}`)
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL(), Username: "k", Password: "wrong"})
	out := x.Send(context.Background(), items("a", "b"))
	for _, o := range out {
		checkPermanent(t, o, 401)
		if !strings.Contains(o.Error, "bad credentials") {
			t.Errorf("error = %q", o.Error)
		}
	}
	for _, st := range []int{403, 404, 413} {
		ft.Respond(st, "")
		checkPermanent(t, x.Send(context.Background(), items("a"))[0], st)
	}
}

func TestXAPIRedirectNotFollowed(t *testing.T) {
	ft := newTarget(t)
	ft.Respond(http.StatusFound, "", "Location", "/elsewhere")
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL(), Client: &http.Client{}})
	out := x.Send(context.Background(), items("a"))
	checkPermanent(t, out[0], 302)
	if !strings.Contains(out[0].Error, "/elsewhere") {
		t.Errorf("error = %q", out[0].Error)
	}
	if ft.Count() != 1 {
		t.Errorf("requests = %d (redirect followed?)", ft.Count())
	}
}

func TestXAPIConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	x := newXAPI(t, XAPIConfig{Endpoint: "http://" + addr + "/xapi", Timeout: time.Second})
	out := x.Send(context.Background(), items("a", "b"))
	for _, o := range out {
		checkRetryable(t, o, 0)
		if !strings.HasPrefix(o.Error, "network error") {
			t.Errorf("error = %q", o.Error)
		}
	}
}

func TestXAPIInvalidStatementNotSent(t *testing.T) {
	ft := newTarget(t)
	x := newXAPI(t, XAPIConfig{Endpoint: ft.URL()})
	in := items("a", "b", "c")
	in[1].Statement = json.RawMessage(`{"id":"b",`)
	in[2].Statement = json.RawMessage(`["c"]`)
	out := x.Send(context.Background(), in)
	if !out[0].OK {
		t.Errorf("valid item: %+v", out[0])
	}
	checkPermanent(t, out[1], 0)
	checkPermanent(t, out[2], 0)
	if reqs := ft.Requests(); len(reqs) != 1 || !reflect.DeepEqual(bodyIDs(t, reqs[0].Body), []string{"a"}) {
		t.Errorf("requests = %v", reqs)
	}
}

func TestNewXAPIValidation(t *testing.T) {
	for _, c := range []XAPIConfig{
		{},
		{Endpoint: "lrs.example.org/xapi"},
		{Endpoint: "ftp://lrs.example.org/xapi"},
		{Endpoint: "https:///xapi"},
		{Endpoint: "https://u:p@lrs.example.org/xapi"},
		{Endpoint: "https://lrs.example.org/xapi?x=1"},
		{Endpoint: "https://lrs.example.org/xapi", Version: "1.0.0"},
		{Endpoint: "https://lrs.example.org/xapi", Version: "2.0"},
		{Endpoint: "https://lrs.example.org/xapi", Username: "u", Password: "p", Token: "t"},
		{Endpoint: "https://lrs.example.org/xapi", Password: "p"},
		{Endpoint: "https://lrs.example.org/xapi", Timeout: -time.Second},
		{Endpoint: "https://lrs.example.org/xapi", Headers: map[string]string{"Bad Name": "x"}},
		{Endpoint: "https://lrs.example.org/xapi", Headers: map[string]string{"X-A": "a\r\nX-B: b"}},
	} {
		if _, err := NewXAPI(c); err == nil {
			t.Errorf("NewXAPI(%+v) accepted", c)
		}
	}
	x, err := NewXAPI(XAPIConfig{Endpoint: "https://lrs.example.org/xapi"})
	if err != nil || x.Version() != "1.0.3" || x.timeout != DefaultTimeout || x.Name() != "lrs.example.org" {
		t.Errorf("defaults: %v %+v", err, x)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"7":                             7 * time.Second,
		" 120 ":                         2 * time.Minute,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"99999999999999":                MaxRetryAfter,
		"Thu, 02 Jan 2025 03:05:05 GMT": time.Minute,
		"Thu, 02 Jan 2025 03:00:00 GMT": 0,
	} {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	s := truncate(strings.Repeat("é", 400))
	if len(s) > MaxErrorLen || !strings.HasSuffix(s, "…") || !utf8Valid(s) {
		t.Errorf("truncate: %d bytes, valid %v", len(s), utf8Valid(s))
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
