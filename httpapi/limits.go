package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/xapibridge/bridge/lrs"
)

// The limits on what one client can make the bridge hold and for how long
// (security issue 15). The defaults are in README "Limits".
const (
	defaultMaxBodyBytes           = 16 << 20
	defaultMaxFormBytesBeforeAuth = 64 << 10
	defaultMaxInflightBodyBytes   = 128 << 20
	defaultBodyBudgetWait         = time.Second
	defaultBodyReadTimeout        = 60 * time.Second
	defaultMaxStatements          = 5000
	defaultMaxResponseBytes       = 16 << 20
	// retryAfter is the Retry-After of a 503 for a full body budget.
	retryAfter = "2"
)

// eTimeout is the error code of a request whose body did not arrive in
// time (408).
const eTimeout = "timeout"

// setLimitDefaults fills in the limits left zero (on Handler's copy).
func (s *Server) setLimitDefaults() {
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = defaultMaxBodyBytes
	}
	if s.MaxFormBytesBeforeAuth <= 0 {
		s.MaxFormBytesBeforeAuth = defaultMaxFormBytesBeforeAuth
	}
	s.MaxFormBytesBeforeAuth = min(s.MaxFormBytesBeforeAuth, s.MaxBodyBytes)
	if s.MaxInflightBodyBytes <= 0 {
		s.MaxInflightBodyBytes = defaultMaxInflightBodyBytes
	}
	if s.BodyBudgetWait <= 0 {
		s.BodyBudgetWait = defaultBodyBudgetWait
	}
	if s.BodyReadTimeout <= 0 {
		s.BodyReadTimeout = defaultBodyReadTimeout
	}
	if s.MaxStatements <= 0 {
		s.MaxStatements = defaultMaxStatements
	}
	if s.MaxResponseBytes <= 0 {
		s.MaxResponseBytes = defaultMaxResponseBytes
	}
	s.budget = newByteBudget(s.MaxInflightBodyBytes)
	s.formSlots = make(chan struct{}, maxFormsBeforeAuth)
}

// maxFormsBeforeAuth is how many alternate-syntax forms are read at once
// before their credentials are checked; maxFormFieldsBeforeAuth how many
// fields such a form may have by then (xAPI's alternate syntax uses about
// ten: Authorization, X-Experience-API-Version, Content-Type, content and
// the resource's parameters). Unauthenticated clients can hold at most
// maxFormsBeforeAuth × (MaxFormBytesBeforeAuth and its parsed fields),
// about 16 MiB, and never the budget other requests need.
const (
	maxFormsBeforeAuth      = 64
	maxFormFieldsBeforeAuth = 64
)

// edge is the outermost handler: it gives every request body a read
// deadline, BodyReadTimeout from the start of the request, lifted once the
// body has been read to its end (so a long response after it, an export or
// a big page, is not cut: http.Server.ReadTimeout would cancel the
// request's context once passed, body read or not), and counts the bytes
// read against the server-wide budget until the request ends.
func (s *Server) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		b := &edgeBody{body: r.Body, rc: http.NewResponseController(w), budget: s.budget,
			wait: s.BodyBudgetWait, timeout: s.BodyReadTimeout, ctx: r.Context()}
		// Not every ResponseWriter has a connection (httptest's): then
		// there is no deadline to set or lift.
		b.deadline = b.rc.SetReadDeadline(time.Now().Add(s.BodyReadTimeout)) == nil
		defer b.release()
		r2 := r.WithContext(r.Context())
		r2.Body = b
		next.ServeHTTP(w, r2)
	})
}

// edgeBody is a request body read under edge's deadline and budget.
type edgeBody struct {
	body     io.ReadCloser
	rc       *http.ResponseController
	deadline bool // a read deadline is set on the connection
	budget   *byteBudget
	wait     time.Duration
	timeout  time.Duration
	ctx      context.Context
	mu       sync.Mutex
	held     int64
}

// errBodyBudget: the request bodies in flight hold the whole budget.
var errBodyBudget = errors.New("request bodies in flight are at the server's limit")

// bodyTimeoutError: the body did not arrive within BodyReadTimeout.
type bodyTimeoutError struct{ timeout time.Duration }

func (e *bodyTimeoutError) Error() string {
	return fmt.Sprintf("request body not received within %s", e.timeout)
}

func (b *edgeBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if n > 0 {
		b.mu.Lock()
		got := b.budget.acquire(b.ctx, b.held, int64(n), b.wait)
		b.held += got
		short := got < int64(n) && b.held < b.budget.total
		b.mu.Unlock()
		if short {
			return 0, errBodyBudget
		}
	}
	if err == io.EOF && b.deadline {
		b.rc.SetReadDeadline(time.Time{})
		b.deadline = false
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = &bodyTimeoutError{b.timeout}
	}
	return n, err
}

func (b *edgeBody) Close() error { return b.body.Close() }

func (b *edgeBody) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.budget.release(b.held)
	b.held = 0
}

// byteBudget is a weighted semaphore of bytes: what request bodies in
// flight hold together.
type byteBudget struct {
	total int64
	mu    sync.Mutex
	used  int64
	freed chan struct{} // closed and replaced at each release
}

func newByteBudget(total int64) *byteBudget {
	return &byteBudget{total: total, freed: make(chan struct{})}
}

// acquire takes n more bytes for a request that holds held already,
// waiting up to wait for room, and returns how many it took: n, or less
// when the budget stayed full. A request may always hold the whole budget
// (its share is capped at total), so a body larger than the budget is read
// when it is alone.
func (b *byteBudget) acquire(ctx context.Context, held, n int64, wait time.Duration) int64 {
	if held+n > b.total {
		n = max(b.total-held, 0)
	}
	var timer *time.Timer
	for {
		b.mu.Lock()
		if b.used+n <= b.total {
			b.used += n
			b.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return n
		}
		freed := b.freed
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-freed:
		case <-timer.C:
			return 0
		case <-ctx.Done():
			return 0
		}
	}
}

func (b *byteBudget) release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}

func (b *byteBudget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// bodyError turns an error reading a request body into the lrs error it
// answers: 413 over limit bytes, 408 for a body too slow, 503 for a full
// budget, 400 otherwise.
func (s *Server) bodyError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var te *bodyTimeoutError
	var se *statementsError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(limit)
	case errors.As(err, &se):
		return se.lrsError()
	case errors.As(err, &te):
		return lrs.Errorf(eTimeout, "%s", te.Error())
	case errors.Is(err, errBodyBudget):
		return &lrs.Error{Code: lrs.EUNAVAILABLE, Cause: errBodyBudget,
			Message: fmt.Sprintf("the request bodies being received hold the server's limit of %d bytes; retry shortly", s.MaxInflightBodyBytes)}
	}
	return lrs.Errorf(lrs.EINVALID, "reading request body: %v", err)
}

// limitError is the answer for an admin API body that hit a limit while
// it was read (1 MiB, the in-flight budget, the read deadline), or nil
// when err is the body's own fault (the caller says what it wanted).
func (s *Server) limitError(err error) error {
	if e := s.bodyError(err, 1<<20); lrs.ErrorCode(e) != lrs.EINVALID {
		return e
	}
	return nil
}

func tooLarge(limit int64) error {
	return lrs.Errorf(lrs.ETOOLARGE, "request body exceeds %d bytes", limit)
}

// statementCounter counts the statements of a statements body as it is
// read: the elements of a top-level JSON array (a top-level object is one
// statement). It only tracks nesting and strings, so counting costs a scan
// of the bytes and nothing is decoded; malformed JSON is left to the
// decoder.
type statementCounter struct {
	max      int
	n        int
	started  bool // the first byte of the value has been seen
	array    bool // the value is an array
	depth    int
	inString bool
	escaped  bool
	expect   bool // the next value at depth 1 is an element
}

// statementsError: more statements than MaxStatements.
type statementsError struct{ max int }

func (e *statementsError) Error() string {
	return fmt.Sprintf("[%d]: a request may carry at most %d statements; send the rest in another request", e.max, e.max)
}

func (e *statementsError) lrsError() error { return lrs.Errorf(lrs.ETOOLARGE, "%s", e.Error()) }

// feed scans p and reports false once the count passes max.
func (k *statementCounter) feed(p []byte) bool {
	if k.started && !k.array {
		return true
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if k.inString {
			if k.escaped {
				k.escaped = false
				continue
			}
			j := bytes.IndexAny(p[i:], "\"\\")
			if j < 0 {
				return true
			}
			i += j
			if p[i] == '\\' {
				k.escaped = true
			} else {
				k.inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if !k.started {
			k.started = true
			if c != '[' {
				return true // one statement (or not JSON: the decoder says so)
			}
			k.array, k.depth, k.expect = true, 1, true
			continue
		}
		if k.depth == 1 && k.expect && c != ']' {
			k.expect = false
			if k.n++; k.n > k.max {
				return false
			}
		}
		switch c {
		case '"':
			k.inString = true
		case '{', '[':
			k.depth++
		case '}', ']':
			k.depth--
		case ',':
			if k.depth == 1 {
				k.expect = true
			}
		}
	}
	return true
}

// countingReader fails with *statementsError as soon as what it has read
// holds more than max statements.
type countingReader struct {
	r io.Reader
	k statementCounter
}

func countStatements(r io.Reader, max int) io.Reader {
	return &countingReader{r: r, k: statementCounter{max: max}}
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if !c.k.feed(p[:n]) {
		return 0, &statementsError{c.k.max}
	}
	return n, err
}

// knownMethods are the methods metrics name; any other is "other", so
// invented methods add no series.
var knownMethods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true,
	http.MethodPut: true, http.MethodDelete: true, http.MethodPatch: true, http.MethodOptions: true}

func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "other"
}

// metricsRoute is where the metrics are served (routes.go).
const metricsRoute = "/metrics"

// metricsAllowed reports whether c may read /metrics: always without a
// MetricsToken, else only with it as a bearer token.
func (s *Server) metricsAllowed(c *gin.Context) bool {
	if s.MetricsToken == "" {
		return true
	}
	tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	a, b := sha256.Sum256([]byte(strings.TrimSpace(tok))), sha256.Sum256([]byte(s.MetricsToken))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// guardMetrics answers 401 to a /metrics request without the token.
func (s *Server) guardMetrics(c *gin.Context) bool {
	if c.FullPath() != metricsRoute || s.metricsAllowed(c) {
		return true
	}
	c.Header("WWW-Authenticate", `Bearer realm="metrics"`)
	s.fail(c, lrs.Errorf(lrs.EUNAUTHORIZED, "/metrics needs the metrics token: send Authorization: Bearer <token>"))
	return false
}

// retryAfterFor sets Retry-After on the answer to a full body budget.
func retryAfterFor(h http.Header, err error) {
	if errors.Is(err, errBodyBudget) {
		h.Set("Retry-After", retryAfter)
	}
}
