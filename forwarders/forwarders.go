// Package forwarders delivers statements, webhook-style, to other LRSs (XAPI) and to arbitrary HTTP
// endpoints (Webhook), and provides the retry policy (RetryPolicy) and a per-target circuit breaker
// (Breaker) the dispatcher uses around them.
//
// A Forwarder never retries by itself: Send makes one attempt (for an LRS, possibly split into several
// requests to isolate a bad statement) and reports one Outcome per item. The caller decides, from
// Outcome.OK / Outcome.Permanent / Outcome.RetryAfter and the RetryPolicy, whether an item is done,
// dead, or due again later.
//
// Status classification (shared by XAPI and Webhook):
//
//	2xx                                   OK
//	408, 429, 5xx, network error, timeout retryable (Retry-After honoured in Outcome.RetryAfter)
//	3xx (redirects are not followed)      Permanent (the target is misconfigured)
//	other 4xx (400, 401, 403, 404, 413…)  Permanent, with a prefix of the response body in Error
package forwarders

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Item is one statement to deliver.
type Item struct {
	DeliveryID  int64           // outbox row id; webhooks send it as X-Bridge-Delivery so receivers can dedupe
	StatementID string          // used for the PUT fallback when the statement itself has no "id"
	Statement   json.RawMessage // the statement to send (already transformed by the rule)
}

// Outcome of sending one item.
type Outcome struct {
	OK         bool
	Permanent  bool          // do not retry: straight to dead letters (4xx other than 408/429)
	RetryAfter time.Duration // from a Retry-After header (seconds or HTTP date), 0 if none
	Status     int           // HTTP status, 0 for network errors / timeouts / not sent
	Error      string        // short description incl. a prefix of the response body (<= MaxErrorLen bytes in total)
}

// Retryable reports whether the outcome is a failure that should be retried later.
func (o Outcome) Retryable() bool { return !o.OK && !o.Permanent }

// Forwarder sends batches to one target. Send returns one Outcome per item, in order.
// Send must be safe for concurrent use.
type Forwarder interface {
	Name() string
	Send(ctx context.Context, items []Item) []Outcome
}

const (
	// MaxErrorLen bounds Outcome.Error (bytes).
	MaxErrorLen = 500
	// MaxRetryAfter caps a Retry-After header value, so a misbehaving receiver cannot park deliveries for years.
	MaxRetryAfter = 24 * time.Hour
	// DefaultTimeout is the per-request timeout when the config leaves Timeout at 0.
	DefaultTimeout = 30 * time.Second
	// UserAgent is sent on every request.
	UserAgent = "bridge"

	maxBodyRead  = 64 << 10 // bytes of a response read for the error text
	maxBodyDrain = 1 << 20  // further bytes discarded so the connection can be reused
)

// defaultClient is used when a config has no Client. It never follows redirects (see noRedirect);
// timeouts are applied per request through the context.
var defaultClient = &http.Client{
	Transport: func() http.RoundTripper {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 8
		return t
	}(),
	CheckRedirect: noRedirect,
}

// noRedirect makes the client return 3xx responses as they are. Following them would be wrong for a
// POST: on 301/302/303 Go re-sends it as a GET, whose 200 would look like a successful delivery.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// prepareClient returns the client to use: the default one, or a shallow copy of c that does not follow
// redirects unless c.CheckRedirect is set explicitly.
func prepareClient(c *http.Client) *http.Client {
	if c == nil {
		return defaultClient
	}
	cp := *c
	if cp.CheckRedirect == nil {
		cp.CheckRedirect = noRedirect
	}
	return &cp
}

// validateURL checks that raw is an absolute http(s) URL with a host and no credentials in it.
func validateURL(what, raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, fmt.Errorf("%s is required", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s %q: must be an absolute http:// or https:// URL", what, raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s %q: no host", what, raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: credentials in the URL are not allowed, use the auth settings", what)
	}
	if u.Fragment != "" {
		return nil, fmt.Errorf("%s %q: fragments are not allowed", what, raw)
	}
	return u, nil
}

// validateHeaders rejects header names/values Go's client would refuse at send time (which would otherwise
// look like a network error and be retried forever).
func validateHeaders(h map[string]string) error {
	for k, v := range h {
		if k == "" {
			return errors.New("headers: empty header name")
		}
		for i := 0; i < len(k); i++ {
			c := k[i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
				return fmt.Errorf("headers: invalid header name %q", k)
			}
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; c == '\r' || c == '\n' || c == 0 {
				return fmt.Errorf("headers: invalid value for %q", k)
			}
		}
	}
	return nil
}

// response is what one HTTP exchange produced.
type response struct {
	status int
	header http.Header
	body   []byte // at most maxBodyRead bytes
	err    error  // transport error (then status is 0)
}

// do performs one request with its own timeout. parent cancellation is reported through err.
func do(parent context.Context, client *http.Client, timeout time.Duration, method, target string, header http.Header, body []byte) response {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return response{err: err}
	}
	req.Header = header
	req.ContentLength = int64(len(body))
	resp, err := client.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyRead))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyDrain))
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// classify turns a response into an Outcome using the shared status rules.
func classify(ctx context.Context, r response, timeout time.Duration, now time.Time) Outcome {
	if r.err != nil {
		return transportOutcome(ctx, r.err, timeout)
	}
	s := r.status
	switch {
	case s >= 200 && s < 300:
		return Outcome{OK: true, Status: s}
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500:
		return Outcome{Status: s, RetryAfter: ParseRetryAfter(r.header.Get("Retry-After"), now), Error: httpError(r)}
	default: // 1xx (not expected as final), 3xx, other 4xx
		return Outcome{Permanent: true, Status: s, Error: httpError(r)}
	}
}

func transportOutcome(ctx context.Context, err error, timeout time.Duration) Outcome {
	// The *url.Error wrapper repeats the URL, which may carry a token in its query: drop it.
	var ue *url.Error
	inner := err
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	var msg string
	var ne net.Error
	switch {
	case ctx.Err() != nil:
		msg = "canceled: " + ctx.Err().Error()
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		msg = "timeout after " + timeout.String()
	default:
		msg = "network error: " + inner.Error()
	}
	return Outcome{Error: truncate(msg)}
}

func httpError(r response) string {
	msg := "HTTP " + strconv.Itoa(r.status)
	if t := http.StatusText(r.status); t != "" {
		msg += " " + t
	}
	if r.status >= 300 && r.status < 400 {
		if loc := r.header.Get("Location"); loc != "" {
			msg += " (redirect to " + loc + " not followed)"
		}
	}
	if b := sanitize(r.body); b != "" {
		msg += ": " + b
	}
	return truncate(msg)
}

// sanitize makes a body prefix printable on one line.
func sanitize(b []byte) string {
	if len(b) > MaxErrorLen {
		b = b[:MaxErrorLen]
	}
	s := strings.ToValidUTF8(string(b), "")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to MaxErrorLen bytes on a rune boundary.
func truncate(s string) string {
	if len(s) <= MaxErrorLen {
		return s
	}
	cut := MaxErrorLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ParseRetryAfter parses a Retry-After header value: delay-seconds or an HTTP date. It returns 0 for an
// empty or malformed value or a date in the past, and caps the result at MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, MaxRetryAfter)
}

// notSent returns the outcome to give the items that were not attempted because an earlier request of
// the same Send failed retryably (the target is likely down; do not wait out a timeout per item).
func notSent(cause Outcome) Outcome {
	return Outcome{RetryAfter: cause.RetryAfter, Error: truncate("not sent: an earlier request of this batch failed: " + cause.Error)}
}

// invalidJSON is the outcome for an item whose statement is not a JSON object; it is never sent.
func invalidJSON(err error) Outcome {
	return Outcome{Permanent: true, Error: truncate("invalid statement JSON: " + err.Error())}
}

// checkObject verifies that raw is a single JSON object.
func checkObject(raw json.RawMessage) error {
	if _, ok := scanStatement(raw); ok {
		return nil
	}
	if !json.Valid(raw) {
		return errors.New("not valid JSON")
	}
	t := strings.TrimLeft(string(raw), " \t\r\n")
	if !strings.HasPrefix(t, "{") {
		return errors.New("not a JSON object")
	}
	return nil
}

// joinArray builds a JSON array from already-valid JSON values.
func joinArray(parts [][]byte) []byte {
	n := 2
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, p := range parts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, p...)
	}
	return append(b, ']')
}

func fill(out []Outcome, idx []int, o Outcome) {
	for _, i := range idx {
		out[i] = o
	}
}
