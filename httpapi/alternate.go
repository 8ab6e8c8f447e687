package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Form fields of the alternate request syntax that stand for headers
// (xAPI 1.0.3 Communication §1.3).
var alternateHeaders = []string{"Authorization", "X-Experience-API-Version", "Content-Type",
	"Content-Length", "If-Match", "If-None-Match"}

// alternate rewrites xAPI 1.0.3's alternate request syntax, a form POST with
// ?method=X for clients that cannot send other methods or headers, into the
// request it stands for, before routing. xAPI 2.0 removed the syntax, so a
// 2.0 request that uses it is refused.
func (s *Server) alternate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !q.Has("method") {
			next.ServeHTTP(w, r)
			return
		}
		fail := func(v xapi.Version, format string, args ...any) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Header().Set("X-Experience-API-Version", string(v))
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": lrs.EINVALID, "message": "alternate request syntax: " + fmt.Sprintf(format, args...)})
		}
		version := s.defaultVersion()
		if v, err := xapi.ParseVersionHeader(r.Header.Get("X-Experience-API-Version")); err == nil {
			version = v
		}
		if r.Method != http.MethodPost {
			fail(version, "method=%s must be sent as a POST", q.Get("method"))
			return
		}
		if len(q) != 1 {
			fail(version, "only the method parameter may be in the query string; put the others in the form")
			return
		}
		if mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/x-www-form-urlencoded" {
			fail(version, "the body must be application/x-www-form-urlencoded")
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
		if err != nil {
			fail(version, "reading the form: %v", err)
			return
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			fail(version, "the body is not a URL-encoded form: %v", err)
			return
		}
		if fv := form.Get("X-Experience-API-Version"); fv != "" {
			if v, err := xapi.ParseVersionHeader(fv); err == nil {
				version = v
			}
		}
		if version != xapi.V103 {
			fail(version, "xAPI %s does not allow it (only 1.0.x does); send a real %s request", version, strings.ToUpper(q.Get("method")))
			return
		}
		method := strings.ToUpper(q.Get("method"))
		switch method {
		case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodHead:
		default:
			fail(version, "method=%q is not an HTTP method the LRS serves", q.Get("method"))
			return
		}
		r2 := r.Clone(r.Context())
		r2.Method = method
		r2.Header = r.Header.Clone()
		r2.Header.Del("Content-Type")
		for _, h := range alternateHeaders {
			if v := form.Get(h); v != "" {
				r2.Header.Set(h, v)
			}
			form.Del(h)
		}
		content := form.Get("content")
		form.Del("content")
		if content != "" && r2.Header.Get("Content-Type") == "" {
			r2.Header.Set("Content-Type", "application/json")
		}
		r2.Body = io.NopCloser(strings.NewReader(content))
		r2.ContentLength = int64(len(content))
		r2.Header.Set("Content-Length", strconv.Itoa(len(content)))
		r2.URL.RawQuery = form.Encode()
		r2.RequestURI = r2.URL.RequestURI()
		next.ServeHTTP(w, r2)
	})
}
