package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
//
// The credentials of such a request are in its form, so the form is read
// before the request is authenticated, but only up to
// MaxFormBytesBeforeAuth (readForm): a form larger than that is read on
// only for a credential that authenticates.
func (s *Server) alternate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !q.Has("method") {
			next.ServeHTTP(w, r)
			return
		}
		fail := func(v xapi.Version, format string, args ...any) {
			writeError(w, v, lrs.Errorf(lrs.EINVALID, "alternate request syntax: %s", fmt.Sprintf(format, args...)))
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
		form, pa, err := s.readForm(r)
		if err != nil {
			writeError(w, version, err)
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
		ctx := r.Context()
		if pa != nil {
			ctx = context.WithValue(ctx, preAuthKey{}, pa)
		}
		r2 := r.Clone(ctx)
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

// preAuth is the credential an alternate-syntax request was authenticated
// with while its form was read; authenticate (server.go) reuses it for the
// same Authorization.
type preAuth struct {
	authorization string
	principal     *lrs.Principal
}

type preAuthKey struct{}

// formBufferSize is how much of a form is buffered at a time (a longer
// field is read in pieces).
const formBufferSize = 4 << 10

// readForm reads the URL-encoded form of an alternate-syntax request
// field by field. Until the request is authenticated it reads at most
// MaxFormBytesBeforeAuth bytes (plus one, to see there is more). At that
// point it checks the credentials the request has given so far: the form's
// Authorization field if it came before, else the Authorization header.
// None is a 413 (clients put Authorization first; tincanjs does); a bad one
// is answered as authenticate answers it, without reading further; a good
// one lets the form go on to MaxBodyBytes, and is returned for
// authenticate to reuse. A form that fits before the limit is not
// authenticated here: the route's authenticate does it, as for any request.
func (s *Server) readForm(r *http.Request) (url.Values, *preAuth, error) {
	if r.ContentLength > s.MaxBodyBytes {
		return nil, nil, formTooLarge(s.MaxBodyBytes)
	}
	// A slot among the forms read before authentication; it is given
	// back once the form is authenticated (or read whole).
	select {
	case s.formSlots <- struct{}{}:
	case <-time.After(s.BodyBudgetWait):
		return nil, nil, lrs.Errorf(lrs.EUNAVAILABLE, "alternate request syntax: %d forms are being read before authentication; try again", maxFormsBeforeAuth)
	}
	held := true
	release := func() {
		if held {
			<-s.formSlots
			held = false
		}
	}
	defer release()
	limit := s.MaxFormBytesBeforeAuth
	lr := &io.LimitedReader{R: r.Body, N: limit + 1}
	br := bufio.NewReaderSize(lr, formBufferSize)
	form := url.Values{}
	var pa *preAuth
	var field []byte
	var n int64
	fields := 0
	for {
		chunk, err := br.ReadSlice('&')
		n += int64(len(chunk))
		if n > limit {
			if pa != nil || limit >= s.MaxBodyBytes {
				return nil, nil, formTooLarge(s.MaxBodyBytes)
			}
			var aerr error
			if pa, aerr = s.preAuthenticate(r, form); aerr != nil {
				return nil, nil, aerr
			}
			lr.N += s.MaxBodyBytes - limit
			limit = s.MaxBodyBytes
			release() // authenticated: no longer among the unauthenticated forms
			if err == io.EOF && lr.N > 0 {
				err = bufio.ErrBufferFull // the limit's end, not the form's: read on
			}
		}
		field = append(field, chunk...)
		switch {
		case err == nil || err == io.EOF:
			if fields++; pa == nil && fields > maxFormFieldsBeforeAuth {
				return nil, nil, lrs.Errorf(lrs.ETOOLARGE, "alternate request syntax: the form has more than %d fields before it is authenticated", maxFormFieldsBeforeAuth)
			}
			if f := bytes.TrimSuffix(field, []byte("&")); len(f) > 0 {
				vs, perr := url.ParseQuery(string(f))
				if perr != nil {
					return nil, nil, lrs.Errorf(lrs.EINVALID, "alternate request syntax: the body is not a URL-encoded form: %v", perr)
				}
				for k, v := range vs {
					form[k] = append(form[k], v...)
				}
			}
			field = field[:0]
			if err == io.EOF {
				return form, pa, nil
			}
		case errors.Is(err, bufio.ErrBufferFull):
			// A field longer than the buffer: read on.
		default:
			if e := s.bodyError(err, s.MaxBodyBytes); lrs.ErrorCode(e) != lrs.EINVALID {
				return nil, nil, e
			}
			return nil, nil, lrs.Errorf(lrs.EINVALID, "alternate request syntax: reading the form: %v", err)
		}
	}
}

func formTooLarge(limit int64) error {
	return lrs.Errorf(lrs.ETOOLARGE, "alternate request syntax: the form exceeds %d bytes", limit)
}

// preAuthenticate checks the credentials an alternate-syntax request has
// given before its form passed MaxFormBytesBeforeAuth.
func (s *Server) preAuthenticate(r *http.Request, form url.Values) (*preAuth, error) {
	authz := form.Get("Authorization")
	if authz == "" {
		authz = r.Header.Get("Authorization")
	}
	if authz == "" {
		return nil, lrs.Errorf(lrs.ETOOLARGE, "alternate request syntax: the form exceeds the %d bytes read before a request "+
			"is authenticated, with no Authorization field before that point; put the Authorization field first in the form, "+
			"or send an Authorization header", s.MaxFormBytesBeforeAuth)
	}
	key, secret, ok := (&http.Request{Header: http.Header{"Authorization": {authz}}}).BasicAuth()
	if !ok {
		return nil, lrs.Errorf(lrs.EUNAUTHORIZED, "authentication required: send HTTP Basic credentials (the Authorization field of the form)")
	}
	p, err := s.Auth.Authenticate(r.Context(), key, secret)
	if err != nil {
		return nil, err
	}
	return &preAuth{authorization: authz, principal: p}, nil
}

// writeError answers err as fail (server.go) does, outside gin.
func writeError(w http.ResponseWriter, v xapi.Version, err error) {
	code := lrs.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Experience-API-Version", string(v))
	if code == lrs.EUNAUTHORIZED {
		h.Set("WWW-Authenticate", `Basic realm="xAPI"`)
	}
	retryAfterFor(h, err)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "message": lrs.ErrorMessage(err)})
}
