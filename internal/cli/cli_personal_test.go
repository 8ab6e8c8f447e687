package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// personalLRS is a learner's LRS: it answers xAPI's About to anyone and
// statements only with its Basic credentials.
type personalLRS struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD path user"
}

func newPersonalLRS(t *testing.T, user, pass string) *personalLRS {
	p := &personalLRS{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, pw, ok := r.BasicAuth()
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.URL.Path+" "+u)
		p.mu.Unlock()
		switch r.URL.Path {
		case "/xapi/about":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"version": []string{"1.0.3", "2.0.0"}})
		case "/xapi/statements":
			if !ok || u != user || pw != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="lrs"`)
				http.Error(w, "bad credentials", http.StatusUnauthorized)
				return
			}
			if r.Header.Get("X-Experience-API-Version") == "" {
				http.Error(w, "no version", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"statements":[],"more":""}`))
		default: // a web site, not an LRS
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *personalLRS) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// `bridge personal add` checks, before registering, that the endpoint is
// an xAPI LRS (it answers About) and takes the credentials (a statements
// request with them), and says what failed; --no-check skips it.
func TestPersonalAddChecksTheLRS(t *testing.T) {
	lrsSrv := newPersonalLRS(t, "ann", "ann-secret")
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close() // nothing listens there any more
	e := newEnv(t, "rules:\n  - name: learners-own\n    targets: [personal]\n")
	e.open() // create the database
	add := func(endpoint, password string, extra ...string) (string, error) {
		t.Setenv("PERSONAL_LRS_PASSWORD", password)
		return e.bridge(append([]string{"personal", "add", "--agent", `{"mbox":"mailto:ann@example.org"}`,
			"--endpoint", endpoint, "--username", "ann"}, extra...)...)
	}
	registered := func() string { return e.mustBridge("personal", "list") }

	for _, c := range []struct {
		name, endpoint, password string
		want                     []string
	}{
		{"wrong password", lrsSrv.URL + "/xapi", "wrong", []string{"401", "credentials", "--no-check"}},
		{"not an LRS", lrsSrv.URL + "/site", "ann-secret", []string{"not an xAPI endpoint", "/site/about", "404"}},
		{"nothing there", goneURL + "/xapi", "ann-secret", []string{"unreachable", goneURL}},
	} {
		out, err := add(c.endpoint, c.password)
		if err == nil {
			t.Errorf("%s: registered: %s", c.name, out)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
		if l := registered(); strings.Contains(l, "ann@") {
			t.Errorf("%s: registered anyway:\n%s", c.name, l)
		}
	}
	if strings.Contains(strings.Join(lrsSrv.requests(), "\n"), "ann-secret") {
		t.Errorf("the password shows in what the LRS saw")
	}

	out, err := add(lrsSrv.URL+"/xapi", "ann-secret")
	if err != nil || !strings.Contains(out, "registered mbox::mailto:ann@example.org -> "+lrsSrv.URL+"/xapi") {
		t.Fatalf("good credentials: %v\n%s", err, out)
	}
	reqs := strings.Join(lrsSrv.requests(), "\n")
	if !strings.Contains(reqs, "GET /xapi/about") || !strings.Contains(reqs, "GET /xapi/statements ann") {
		t.Errorf("the check asked:\n%s\nwant GET /xapi/about and GET /xapi/statements as ann", reqs)
	}
	if l := registered(); !strings.Contains(l, lrsSrv.URL+"/xapi") {
		t.Errorf("not listed after registering:\n%s", l)
	}

	// --no-check registers an LRS that cannot be reached now.
	out, err = add(goneURL+"/xapi", "ann-secret", "--no-check")
	if err != nil || !strings.Contains(out, "registered") {
		t.Fatalf("--no-check: %v\n%s", err, out)
	}
	if l := registered(); !strings.Contains(l, goneURL+"/xapi") {
		t.Errorf("--no-check: not listed:\n%s", l)
	}
}
