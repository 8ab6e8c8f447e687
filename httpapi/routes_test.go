package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	testStmtID  = "c0a1f9c2-5a3e-4c8e-9f4b-1d2e3f4a5b6c"
	testActID   = "http://example.com/activities/1"
	testAgent   = `{"mbox":"mailto:ann@example.com"}`
	personalReg = `{"agent":{"mbox":"mailto:ann@example.com"},"endpoint":"https://lrs.example.com/xapi","username":"u","password":"p"}`
)

var (
	qAct      = "activityId=" + url.QueryEscape(testActID)
	qAgent    = "agent=" + url.QueryEscape(testAgent)
	stateQ    = qAct + "&" + qAgent + "&stateId=s1"
	actProfQ  = qAct + "&profileId=p1"
	agentProf = qAgent + "&profileId=p1"
)

type auth int

const (
	noAuth auth = iota
	xapiAuth
	adminAuth
)

// routeCase is one request through the route table: route is the pattern
// as routes.go registers it ("GET /api/v1/orgs/:org"), target the concrete
// request, call the fake method its handler must reach ("" for none).
type routeCase struct {
	route  string
	target string
	auth   auth
	body   string
	status int
	call   string
}

func routeCases() []routeCase {
	cases := []routeCase{
		{"GET /", "/", noAuth, "", 200, ""},
		{"HEAD /", "/", noAuth, "", 200, ""},
		{"GET /health", "/health", noAuth, "", 200, ""},
		{"GET /ready", "/ready", noAuth, "", 200, "Ready"},
		{"GET /metrics", "/metrics", noAuth, "", 200, ""},
		{"GET /xapi/about", "/xapi/about", noAuth, "", 200, ""},
		{"HEAD /xapi/about", "/xapi/about", noAuth, "", 200, ""},

		{"PUT /xapi/statements", "/xapi/statements?statementId=" + testStmtID, xapiAuth, `{"verb":{"id":"http://example.com/v"}}`, 204, "Statements.StoreStatements"},
		{"POST /xapi/statements", "/xapi/statements", xapiAuth, `{"verb":{"id":"http://example.com/v"}}`, 200, "Statements.StoreStatements"},
		{"GET /xapi/statements", "/xapi/statements", xapiAuth, "", 200, "Statements.QueryStatements"},
		{"HEAD /xapi/statements", "/xapi/statements", xapiAuth, "", 200, "Statements.QueryStatements"},
		{"GET /xapi/activities", "/xapi/activities?" + qAct, xapiAuth, "", 200, "Documents.Activity"},
		{"HEAD /xapi/activities", "/xapi/activities?" + qAct, xapiAuth, "", 200, "Documents.Activity"},
		{"GET /xapi/agents", "/xapi/agents?" + qAgent, xapiAuth, "", 200, "Documents.Person"},
		{"HEAD /xapi/agents", "/xapi/agents?" + qAgent, xapiAuth, "", 200, "Documents.Person"},
	}
	for _, d := range []struct{ path, q string }{
		{"/xapi/activities/state", stateQ},
		{"/xapi/activities/profile", actProfQ},
		{"/xapi/agents/profile", agentProf},
	} {
		target := d.path + "?" + d.q
		cases = append(cases,
			routeCase{"GET " + d.path, target, xapiAuth, "", 200, "Documents.Get"},
			routeCase{"HEAD " + d.path, target, xapiAuth, "", 200, "Documents.Get"},
			routeCase{"PUT " + d.path, target, xapiAuth, `{"a":1}`, 204, "Documents.Put"},
			routeCase{"POST " + d.path, target, xapiAuth, `{"a":1}`, 204, "Documents.Post"},
			routeCase{"DELETE " + d.path, target, xapiAuth, "", 204, "Documents.Delete"},
		)
	}
	a := "/api/v1"
	cases = append(cases, []routeCase{
		{"GET " + a + "/forwarding/targets", a + "/forwarding/targets", adminAuth, "", 200, "Forwarding.Status"},
		{"GET " + a + "/forwarding/dead", a + "/forwarding/dead", adminAuth, "", 200, "Forwarding.Dead"},
		{"POST " + a + "/forwarding/dead/replay", a + "/forwarding/dead/replay", adminAuth, `{"all":true}`, 200, "Forwarding.Replay"},
		{"POST " + a + "/forwarding/dead/discard", a + "/forwarding/dead/discard", adminAuth, `{"all":true}`, 200, "Forwarding.Discard"},
		{"POST " + a + "/forwarding/backfill", a + "/forwarding/backfill", adminAuth, `{"rule":"r1"}`, 200, "Forwarding.Backfill"},
		{"GET " + a + "/personal-lrs", a + "/personal-lrs", adminAuth, "", 200, "Forwarding.ListPersonal"},
		{"POST " + a + "/personal-lrs", a + "/personal-lrs", adminAuth, personalReg, 201, "Forwarding.RegisterPersonal"},
		{"DELETE " + a + "/personal-lrs", a + "/personal-lrs?" + qAgent, adminAuth, "", 204, "Forwarding.DeletePersonal"},

		{"GET " + a + "/orgs", a + "/orgs", adminAuth, "", 200, "Tenants.ListOrganisations"},
		{"POST " + a + "/orgs", a + "/orgs", adminAuth, `{"name":"x"}`, 201, "Tenants.CreateOrganisation"},
		{"GET " + a + "/orgs/:org", a + "/orgs/3", adminAuth, "", 200, "Tenants.GetOrganisation"},
		{"PATCH " + a + "/orgs/:org", a + "/orgs/3", adminAuth, `{"name":"y"}`, 200, "Tenants.RenameOrganisation"},
		{"DELETE " + a + "/orgs/:org", a + "/orgs/3", adminAuth, "", 204, "Tenants.DeleteOrganisation"},
		{"GET " + a + "/orgs/:org/stores", a + "/orgs/3/stores", adminAuth, "", 200, "Tenants.ListStores"},
		{"POST " + a + "/orgs/:org/stores", a + "/orgs/3/stores", adminAuth, `{"name":"s"}`, 201, "Tenants.CreateStore"},
		{"GET " + a + "/stores", a + "/stores", adminAuth, "", 200, "Tenants.ListStores"},
		{"GET " + a + "/stores/:store", a + "/stores/main", adminAuth, "", 200, "Tenants.ResolveStore"},
		{"PATCH " + a + "/stores/:store", a + "/stores/main", adminAuth, `{"name":"n"}`, 200, "Tenants.UpdateStore"},
		{"DELETE " + a + "/stores/:store", a + "/stores/main?confirm=main", adminAuth, "", 204, "Tenants.DeleteStore"},
		{"GET " + a + "/stores/:store/stats", a + "/stores/main/stats", adminAuth, "", 200, "Tenants.StoreStats"},
		{"GET " + a + "/stores/:store/credentials", a + "/stores/main/credentials", adminAuth, "", 200, "Tenants.ListCredentials"},
		{"POST " + a + "/stores/:store/credentials", a + "/stores/main/credentials", adminAuth, `{"scopes":["all"]}`, 201, "Tenants.CreateCredential"},
		{"GET " + a + "/credentials/:key", a + "/credentials/k1", adminAuth, "", 200, "Tenants.GetCredential"},
		{"PATCH " + a + "/credentials/:key", a + "/credentials/k1", adminAuth, `{"name":"n"}`, 200, "Tenants.UpdateCredential"},
		{"DELETE " + a + "/credentials/:key", a + "/credentials/k1", adminAuth, "", 204, "Tenants.DeleteCredential"},
		{"POST " + a + "/credentials/:key/rotate", a + "/credentials/k1/rotate", adminAuth, "", 200, "Tenants.RotateCredential"},
		{"GET " + a + "/stores/:store/persons", a + "/stores/main/persons", adminAuth, "", 200, "Tenants.ListPersons"},
		{"POST " + a + "/stores/:store/persons", a + "/stores/main/persons", adminAuth, `{"name":"p","agents":[` + testAgent + `]}`, 201, "Tenants.CreatePerson"},
		{"GET " + a + "/stores/:store/persons/:id", a + "/stores/main/persons/5", adminAuth, "", 200, "Tenants.GetPerson"},
		{"DELETE " + a + "/stores/:store/persons/:id", a + "/stores/main/persons/5", adminAuth, "", 204, "Tenants.DeletePerson"},
		{"POST " + a + "/stores/:store/persons/:id/agents", a + "/stores/main/persons/5/agents", adminAuth, `{"agents":[` + testAgent + `]}`, 200, "Tenants.AddPersonAgents"},
		{"POST " + a + "/stores/:store/persons/:id/merge", a + "/stores/main/persons/5/merge", adminAuth, `{"from":6}`, 200, "Tenants.MergePersons"},
		{"GET " + a + "/stores/:store/persons/:id/statements", a + "/stores/main/persons/5/statements", adminAuth, "", 200, "Tenants.PersonStatements"},

		{"GET " + a + "/stores/:store/export", a + "/stores/main/export", adminAuth, "", 200, "Tenants.Export"},
		{"POST " + a + "/stores/:store/persons/:id/erase", a + "/stores/main/persons/5/erase", adminAuth, "", 200, "Tenants.ErasePerson"},
		{"POST " + a + "/stores/:store/erase-agent", a + "/stores/main/erase-agent", adminAuth, `{"agent":` + testAgent + `}`, 200, "Tenants.EraseAgent"},
		{"GET " + a + "/stores/:store/erasures", a + "/stores/main/erasures", adminAuth, "", 200, "Tenants.ListErasures"},
		{"POST " + a + "/retention/run", a + "/retention/run", adminAuth, "", 200, "Tenants.ApplyRetention"},
		{"GET " + a + "/moodle/sources", a + "/moodle/sources", adminAuth, "", 200, "Moodle.Sources"},
		{"POST " + a + "/moodle/sources/:source/rewind", a + "/moodle/sources/m1/rewind", adminAuth, `{"to":5}`, 200, "Moodle.Rewind"},
	}...)
	return cases
}

func (rc routeCase) request() *http.Request {
	method, _, _ := strings.Cut(rc.route, " ")
	switch rc.auth {
	case xapiAuth:
		var r *http.Request
		if rc.body != "" {
			r = xapiRequest(method, rc.target, strings.NewReader(rc.body))
		} else {
			r = xapiRequest(method, rc.target, nil)
		}
		return r
	case adminAuth:
		return adminRequest(method, rc.target, rc.body)
	}
	r := httptest.NewRequest(method, rc.target, nil) // no credentials at all
	return r
}

// requestCount is bridge_http_requests_total{route, method, status} in reg:
// what the observe middleware recorded, so which route gin matched.
func requestCount(t *testing.T, reg *prometheus.Registry, route, method, status string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "bridge_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["route"] == route && l["method"] == method && l["status"] == status {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestRouteTable sends one request to every route routes.go registers and
// checks it reached its handler: the status, the fake method the handler
// calls, and the route pattern gin matched (from the request metrics).
func TestRouteTable(t *testing.T) {
	cases := routeCases()

	t.Run("covers every registered route", func(t *testing.T) {
		s := newFakes().server()
		s.Handler()
		var registered, tested []string
		for _, ri := range s.routes().Routes() {
			registered = append(registered, ri.Method+" "+ri.Path)
		}
		seen := map[string]bool{}
		for _, rc := range cases {
			if seen[rc.route] {
				t.Errorf("route %s is in the table twice", rc.route)
			}
			seen[rc.route] = true
			tested = append(tested, rc.route)
		}
		sort.Strings(registered)
		sort.Strings(tested)
		if strings.Join(registered, "\n") != strings.Join(tested, "\n") {
			t.Errorf("the table does not match routes.go\nregistered:\n%s\n\ntested:\n%s",
				strings.Join(registered, "\n"), strings.Join(tested, "\n"))
		}
	})

	for _, rc := range cases {
		t.Run(rc.route, func(t *testing.T) {
			f := newFakes()
			s := f.server()
			s.Registry = prometheus.NewRegistry()
			h := s.Handler()
			r := rc.request()
			w := serve(h, r)
			if w.Code != rc.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", r.Method, rc.target, w.Code, rc.status, w.Body.String())
			}
			if rc.call != "" {
				f.log.mustGet(t, rc.call)
			}
			method, pattern, _ := strings.Cut(rc.route, " ")
			if n := requestCount(t, s.Registry, pattern, method, strconv.Itoa(rc.status)); n != 1 {
				t.Errorf("metrics recorded %v requests for route %q %s %d, want 1 (the request matched another route?)", n, pattern, method, rc.status)
			}
		})
	}
}

// TestRouteTableMisses checks what answers requests that match no route.
func TestRouteTableMisses(t *testing.T) {
	cases := []struct {
		name, method, target string
		status               int
		code                 string
		allow                string
	}{
		{"unknown path", "GET", "/nope", 404, "not_found", ""},
		{"unknown xapi path", "GET", "/xapi/nope", 404, "not_found", ""},
		{"unknown admin path", "GET", "/api/v1/nope", 404, "not_found", ""},
		{"wrong method on /health", "POST", "/health", 405, "method_not_allowed", "GET"},
		{"wrong method on statements", "DELETE", "/xapi/statements", 405, "method_not_allowed", "PUT, POST, GET, HEAD"},
		{"wrong method on an admin route", "PUT", "/api/v1/orgs", 405, "method_not_allowed", "GET, POST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			w := serve(f.handler(), xapiRequest(tc.method, tc.target, nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body.String())
			}
			code, msg := errorBody(t, w)
			if code != tc.code || !strings.Contains(msg, tc.target) {
				t.Errorf("body %s, want error %q and a message naming %s", w.Body.String(), tc.code, tc.target)
			}
			if tc.allow != "" {
				got := strings.Split(w.Header().Get("Allow"), ", ")
				want := strings.Split(tc.allow, ", ")
				sort.Strings(got)
				sort.Strings(want)
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("Allow: %q, want %q", w.Header().Get("Allow"), tc.allow)
				}
			}
			if n := len(f.log.all()); n != 0 {
				t.Errorf("no service should be called; calls: %v", f.log.names())
			}
		})
	}
}

// GET / is a page a person in a browser can read: what this is and where
// the xAPI endpoint and the admin API are (issue 14), as HTML that names no
// secret and runs no script.
func TestHomePage(t *testing.T) {
	for _, tokens := range [][]string{nil, {adminToken}} {
		s := newFakes().server()
		s.AdminTokens = tokens
		w := serve(s.Handler(), httptest.NewRequest("GET", "/", nil))
		body := w.Body.String()
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("GET /: %d %q", w.Code, w.Header().Get("Content-Type"))
		}
		for _, want := range []string{"xAPI Learning Record Store", "<code>/xapi</code>", `href="/xapi/about"`, "<code>/api/v1</code>"} {
			if !strings.Contains(body, want) {
				t.Errorf("GET / lacks %q:\n%s", want, body)
			}
		}
		if off := strings.Contains(body, "</code> (a bearer token from <code>admin.tokens</code>): off"); off != (len(tokens) == 0) {
			t.Errorf("admin API shown off=%v with %d tokens", off, len(tokens))
		}
		if strings.Contains(body, "<script") || strings.Contains(body, adminToken) {
			t.Errorf("GET / has a script or the admin token")
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
	}
}
