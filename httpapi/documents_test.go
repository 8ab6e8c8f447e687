package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// TestDocuments: the document resources parse their parameters into the
// key the Documents service gets, and answer with what it returns.
func TestDocuments(t *testing.T) {
	agentKey, _ := xapi.AgentKey(map[string]any{"mbox": "mailto:ann@example.com"})
	reg := "D0A1F9C2-5A3E-4C8E-9F4B-1D2E3F4A5B6C"
	since := "2025-01-02T03:04:05Z"
	cases := []struct {
		name, method, path string
		header             map[string]string
		status             int
		call               string
		key                lrs.DocumentKey
	}{
		{"get a state", "GET", "/xapi/activities/state?" + stateQ + "&registration=" + reg, nil, 200, "Documents.Get",
			lrs.DocumentKey{Kind: lrs.KindState, ActivityID: testActID, AgentKey: agentKey, Registration: strings.ToLower(reg), DocID: "s1"}},
		{"list state ids", "GET", "/xapi/activities/state?" + qAct + "&" + qAgent + "&since=" + since, nil, 200, "Documents.List",
			lrs.DocumentKey{Kind: lrs.KindState, ActivityID: testActID, AgentKey: agentKey}},
		{"delete every state", "DELETE", "/xapi/activities/state?" + qAct + "&" + qAgent, nil, 204, "Documents.DeleteAll",
			lrs.DocumentKey{Kind: lrs.KindState, ActivityID: testActID, AgentKey: agentKey}},
		{"delete an activity profile", "DELETE", "/xapi/activities/profile?" + actProfQ, map[string]string{"If-Match": `"abc"`}, 204, "Documents.Delete",
			lrs.DocumentKey{Kind: lrs.KindActivityProfile, ActivityID: testActID, DocID: "p1"}},
		{"put an agent profile", "PUT", "/xapi/agents/profile?" + agentProf, map[string]string{"If-None-Match": "*"}, 204, "Documents.Put",
			lrs.DocumentKey{Kind: lrs.KindAgentProfile, AgentKey: agentKey, DocID: "p1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			var r *http.Request
			if tc.method == "PUT" {
				r = xapiRequest(tc.method, tc.path, strings.NewReader(`{"a":1}`))
			} else {
				r = xapiRequest(tc.method, tc.path, nil)
			}
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := serve(f.handler(), r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body.String())
			}
			c := f.log.mustGet(t, tc.call)
			if c.args[0] != f.auth.principal {
				t.Errorf("principal %v", c.args[0])
			}
			var key lrs.DocumentKey
			switch a := c.args[len(c.args)-1].(type) {
			case *lrs.DocumentWrite:
				key = a.Key
				if string(a.Body) != `{"a":1}` || a.ContentType != "application/json" || a.IfNoneMatch != "*" {
					t.Errorf("write %+v", a)
				}
				if w.Header().Get("ETag") != `"abc123"` {
					t.Errorf("ETag %q", w.Header().Get("ETag"))
				}
			case lrs.Preconditions:
				key = c.args[1].(lrs.DocumentKey)
				if a.IfMatch != `"abc"` {
					t.Errorf("preconditions %+v", a)
				}
			case *time.Time:
				key = c.args[1].(lrs.DocumentKey)
				if a == nil || !a.Equal(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)) {
					t.Errorf("since %v", a)
				}
				if w.Body.String() != `["a","b"]` {
					t.Errorf("ids %s", w.Body.String())
				}
			case lrs.DocumentKey:
				key = a
			}
			if key != tc.key {
				t.Errorf("key %+v, want %+v", key, tc.key)
			}
			if tc.call == "Documents.Get" {
				if w.Body.String() != `{"x":1}` || w.Header().Get("ETag") != `"abc123"` || w.Header().Get("Content-Type") != "application/json" ||
					w.Header().Get("Last-Modified") != "Thu, 02 Jan 2025 03:04:05 GMT" {
					t.Errorf("document %s headers %v", w.Body.String(), w.Header())
				}
			}
		})
	}

	bad := []struct{ name, method, path string }{
		{"state without an agent", "GET", "/xapi/activities/state?" + qAct + "&stateId=s1"},
		{"state with a bad agent", "GET", "/xapi/activities/state?" + qAct + "&stateId=s1&agent=" + url.QueryEscape(`{"name":"x"}`)},
		{"an activityId that is not an IRI", "GET", "/xapi/activities/profile?activityId=nope&profileId=p"},
		{"a registration that is not a UUID", "GET", "/xapi/activities/state?" + stateQ + "&registration=nope"},
		{"an unknown parameter", "GET", "/xapi/agents/profile?" + agentProf + "&colour=red"},
		{"a repeated parameter", "GET", "/xapi/agents/profile?" + agentProf + "&profileId=p2"},
		{"since on a write", "PUT", "/xapi/agents/profile?" + agentProf + "&since=2025-01-01T00:00:00Z"},
		{"a write without its id", "PUT", "/xapi/activities/profile?" + qAct},
		{"a bad since", "GET", "/xapi/activities/state?" + qAct + "&" + qAgent + "&since=yesterday"},
		{"activities without activityId", "GET", "/xapi/activities"},
		{"agents without agent", "GET", "/xapi/agents"},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			f := newFakes()
			w := serve(f.handler(), xapiRequest(tc.method, tc.path, strings.NewReader(`{}`)))
			if code, _ := errorBody(t, w); w.Code != 400 || code != lrs.EINVALID {
				t.Errorf("%d %s, want 400 invalid", w.Code, w.Body.String())
			}
			if n := f.log.callsTo("Documents."); n != 0 {
				t.Errorf("Documents was called: %v", f.log.names())
			}
		})
	}

	t.Run("a precondition failure", func(t *testing.T) {
		f := newFakes()
		f.docs.err = lrs.Errorf(lrs.EPRECONDITION, "ETag does not match")
		w := serve(f.handler(), xapiRequest("PUT", "/xapi/activities/state?"+stateQ, strings.NewReader(`{}`)))
		if code, _ := errorBody(t, w); w.Code != 412 || code != lrs.EPRECONDITION {
			t.Errorf("%d %s, want 412", w.Code, w.Body.String())
		}
	})
	t.Run("not configured", func(t *testing.T) {
		for _, p := range []string{"/xapi/activities/state?" + stateQ, "/xapi/activities?" + qAct, "/xapi/agents?" + qAgent} {
			s := newFakes().server()
			s.Documents = nil
			w := serve(s.Handler(), xapiRequest("GET", p, nil))
			if code, msg := errorBody(t, w); w.Code != 500 || code != lrs.EINTERNAL || msg != "internal error" {
				t.Errorf("%s: %d %s, want 500", p, w.Code, w.Body.String())
			}
		}
	})
}
