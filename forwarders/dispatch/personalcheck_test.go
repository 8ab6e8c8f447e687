package dispatch_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
)

// fakeLRS answers About with versions and statements to its Basic
// credentials or its token; statementsStatus, when set, is what an
// authenticated statements request gets.
type fakeLRS struct {
	*httptest.Server
	versions         []string
	user, pass       string
	token            string
	statementsStatus int
	aboutStatus      int
	aboutBody        string

	mu   sync.Mutex
	reqs []*http.Request
}

func newFakeLRS(t *testing.T) *fakeLRS {
	f := &fakeLRS{versions: []string{"1.0.3", "2.0.0"}, user: "ann", pass: "pw"}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		switch r.URL.Path {
		case "/xapi/about":
			if f.aboutStatus != 0 {
				w.Header().Set("Location", "https://elsewhere.example/xapi/about")
				w.WriteHeader(f.aboutStatus)
				return
			}
			if f.aboutBody != "" {
				w.Write([]byte(f.aboutBody))
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"version": f.versions})
		case "/xapi/statements":
			u, p, basic := r.BasicAuth()
			ok := (basic && u == f.user && p == f.pass) || (f.token != "" && r.Header.Get("Authorization") == "Bearer "+f.token)
			if !ok {
				http.Error(w, "who are you", http.StatusUnauthorized)
				return
			}
			if f.statementsStatus != 0 {
				http.Error(w, "no", f.statementsStatus)
				return
			}
			w.Write([]byte(`{"statements":[],"more":""}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func TestCheckPersonalLRS(t *testing.T) {
	ctx := context.Background()
	basic := dispatch.PersonalCredentials{Username: "ann", Password: "pw"}
	for _, c := range []struct {
		name    string
		setup   func(*fakeLRS)
		path    string
		version string
		cred    dispatch.PersonalCredentials
		want    []string // in the error; none: it passes
	}{
		{name: "basic credentials", cred: basic},
		{name: "a trailing slash", path: "/xapi/", cred: basic},
		{name: "a token", setup: func(f *fakeLRS) { f.token = "tok" }, cred: dispatch.PersonalCredentials{Token: "tok"}},
		{name: "2.0.0", version: "2.0.0", cred: basic},
		{name: "write-only credentials (403 on reading)", setup: func(f *fakeLRS) { f.statementsStatus = 403 }, cred: basic},
		{name: "wrong password", cred: dispatch.PersonalCredentials{Username: "ann", Password: "nope"}, want: []string{"refused the credentials", "401", "/xapi/statements?limit=1", "username and password"}},
		{name: "wrong token", setup: func(f *fakeLRS) { f.token = "tok" }, cred: dispatch.PersonalCredentials{Token: "nope"}, want: []string{"401", "check the token"}},
		{name: "no credentials", want: []string{"401", "no credentials were given"}},
		{name: "a web page, not an LRS", path: "/", cred: basic, want: []string{"not an xAPI endpoint", "GET " + "%s/about answered 404"}},
		{name: "About not JSON", setup: func(f *fakeLRS) { f.aboutBody = "<html>hello</html>" }, cred: basic, want: []string{"not an xAPI endpoint", `"version"`, "<html>hello</html>"}},
		{name: "About redirected", setup: func(f *fakeLRS) { f.aboutStatus = 301 }, cred: basic, want: []string{"not an xAPI endpoint", "301", "https://elsewhere.example/xapi/about", "not followed"}},
		{name: "the version it does not speak", setup: func(f *fakeLRS) { f.versions = []string{"1.0.3"} }, version: "2.0.0", cred: basic, want: []string{"does not speak xAPI 2.0.0", "1.0.3"}},
		{name: "statements fail", setup: func(f *fakeLRS) { f.statementsStatus = 500 }, cred: basic, want: []string{"500"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeLRS(t)
			if c.setup != nil {
				c.setup(f)
			}
			path, version := c.path, c.version
			if path == "" {
				path = "/xapi"
			}
			if version == "" {
				version = "1.0.3"
			}
			endpoint := strings.TrimSuffix(f.URL+path, "/")
			if path == "/xapi/" {
				endpoint = f.URL + path
			}
			err := dispatch.CheckPersonalLRS(ctx, nil, endpoint, version, c.cred)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("CheckPersonalLRS: %v", err)
				}
				f.mu.Lock()
				defer f.mu.Unlock()
				if len(f.reqs) != 2 || f.reqs[0].URL.Path != "/xapi/about" || f.reqs[1].URL.String() != "/xapi/statements?limit=1" ||
					f.reqs[1].Header.Get("X-Experience-API-Version") != version {
					t.Errorf("requests: %v", f.reqs)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if lrs.ErrorCode(err) != lrs.EINVALID {
				t.Errorf("code %s", lrs.ErrorCode(err))
			}
			for _, w := range c.want {
				if strings.Contains(w, "%s") {
					w = strings.ReplaceAll(w, "%s", strings.TrimSuffix(f.URL+path, "/"))
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			for _, secret := range []string{"pw", "tok", "nope"} {
				if strings.Contains(err.Error(), ":"+secret) || strings.Contains(err.Error(), secret+"@") {
					t.Errorf("the error shows a credential: %v", err)
				}
			}
		})
	}
	// Nothing listening.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	err := dispatch.CheckPersonalLRS(ctx, nil, url+"/xapi", "1.0.3", basic)
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), url+"/xapi/about") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("nothing listening: %v", err)
	}
}

// Admin.CheckPersonal validates the registration as RegisterPersonal does
// before asking anything, and stores nothing.
func TestAdminCheckPersonalValidatesFirst(t *testing.T) {
	f := newFakeLRS(t)
	a := &dispatch.Admin{} // no store: CheckPersonal must not touch it
	ann := map[string]any{"mbox": "mailto:ann@example.org"}
	for _, r := range []dispatch.PersonalRegistration{
		{Endpoint: f.URL + "/xapi"},
		{Agent: ann, Endpoint: "ftp://lrs.example/xapi"},
		{Agent: ann, Endpoint: f.URL + "/xapi", Version: "0.95"},
	} {
		if err := a.CheckPersonal(context.Background(), r); lrs.ErrorCode(err) != lrs.EINVALID {
			t.Errorf("CheckPersonal(%+v): %v, want EINVALID", r, err)
		}
	}
	f.mu.Lock()
	n := len(f.reqs)
	f.mu.Unlock()
	if n != 0 {
		t.Errorf("invalid registrations made %d requests", n)
	}
	r := dispatch.PersonalRegistration{Agent: ann, Endpoint: f.URL + "/xapi"}
	r.Username, r.Password = "ann", "pw"
	if err := a.CheckPersonal(context.Background(), r); err != nil {
		t.Errorf("a good registration: %v", err)
	}
}
