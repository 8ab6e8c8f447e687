package forwarders

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// recorded is one request a fakeTarget received.
type recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// fakeTarget is a real HTTP server whose behaviour tests change on command: answer with a status,
// stall until the client gives up (or Release is called), or run a custom handler.
type fakeTarget struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	handler func(w http.ResponseWriter, r *http.Request, body []byte)
	reqs    []recorded
	release chan struct{}
	once    sync.Once
}

func newTarget(t *testing.T) *fakeTarget {
	t.Helper()
	ft := &fakeTarget{t: t, release: make(chan struct{})}
	ft.Respond(http.StatusOK, "")
	ft.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ft.mu.Lock()
		ft.reqs = append(ft.reqs, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		h := ft.handler
		ft.mu.Unlock()
		h(w, r, body)
	}))
	t.Cleanup(func() {
		ft.Release()
		ft.srv.Close()
	})
	return ft
}

// URL is the server's base URL.
func (ft *fakeTarget) URL() string { return ft.srv.URL }

// Handle installs a custom handler.
func (ft *fakeTarget) Handle(h func(w http.ResponseWriter, r *http.Request, body []byte)) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.handler = h
}

// Respond answers every request with status, body and optional header pairs.
func (ft *fakeTarget) Respond(status int, body string, headerPairs ...string) {
	ft.Handle(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		for i := 0; i+1 < len(headerPairs); i += 2 {
			w.Header().Set(headerPairs[i], headerPairs[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// Stall makes the server hang until the client goes away or Release is called.
func (ft *fakeTarget) Stall() {
	ft.Handle(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-ft.release:
			w.WriteHeader(http.StatusOK)
		}
	})
}

// Release lets stalled requests finish.
func (ft *fakeTarget) Release() { ft.once.Do(func() { close(ft.release) }) }

// Requests returns a copy of what was received so far.
func (ft *fakeTarget) Requests() []recorded {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return append([]recorded(nil), ft.reqs...)
}

// Count returns the number of requests received so far.
func (ft *fakeTarget) Count() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return len(ft.reqs)
}

// stmt builds a minimal statement with the given id and extra top-level properties.
func stmt(id string, extra ...string) json.RawMessage {
	s := fmt.Sprintf(`{"id":%q,"actor":{"mbox":"mailto:ann@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"http://example.org/c/1"}`, id)
	for _, e := range extra {
		s += "," + e
	}
	return json.RawMessage(s + "}")
}

func items(ids ...string) []Item {
	out := make([]Item, len(ids))
	for i, id := range ids {
		out[i] = Item{DeliveryID: int64(i + 1), StatementID: id, Statement: stmt(id)}
	}
	return out
}

// ids decodes a statement or array of statements and returns their ids.
func bodyIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var arr []map[string]any
	if err := json.Unmarshal(body, &arr); err != nil {
		var one map[string]any
		if err2 := json.Unmarshal(body, &one); err2 != nil {
			t.Fatalf("body is neither array nor object: %v: %s", err, body)
		}
		arr = []map[string]any{one}
	}
	out := make([]string, len(arr))
	for i, m := range arr {
		out[i], _ = m["id"].(string)
	}
	return out
}

func isArray(body []byte) bool {
	for _, c := range body {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return true
		default:
			return false
		}
	}
	return false
}

func checkOK(t *testing.T, out []Outcome, n int) {
	t.Helper()
	if len(out) != n {
		t.Fatalf("got %d outcomes, want %d", len(out), n)
	}
	for i, o := range out {
		if !o.OK || o.Permanent || o.Error != "" {
			t.Errorf("outcome %d = %+v, want OK", i, o)
		}
	}
}

func checkRetryable(t *testing.T, o Outcome, status int) {
	t.Helper()
	if o.OK || o.Permanent || o.Status != status || o.Error == "" {
		t.Errorf("outcome = %+v, want retryable with status %d and an error", o, status)
	}
}

func checkPermanent(t *testing.T, o Outcome, status int) {
	t.Helper()
	if o.OK || !o.Permanent || o.Status != status || o.Error == "" {
		t.Errorf("outcome = %+v, want permanent with status %d and an error", o, status)
	}
}
