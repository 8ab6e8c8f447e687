package forwarders

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook request headers.
const (
	HeaderDelivery  = "X-Bridge-Delivery"  // outbox delivery id(s), comma-separated for a batch
	HeaderTimestamp = "X-Bridge-Timestamp" // unix seconds at signing time (only with HMACSecret)
	HeaderSignature = "X-Bridge-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// WebhookConfig configures a forwarder to any HTTP endpoint.
type WebhookConfig struct {
	Name       string // defaults to the URL's host
	Method     string // POST (default), PUT or PATCH
	URL        string
	Headers    map[string]string // extra headers; cannot override the ones listed on Webhook
	Batch      bool              // false: one request per statement (body: the statement object); true: one request per batch (body: JSON array)
	Timeout    time.Duration     // per HTTP request; default DefaultTimeout
	HMACSecret string            // when set, every request is signed (see Webhook)
	Client     *http.Client      // optional; redirects are not followed unless Client.CheckRedirect is set
}

// Webhook forwards statements to an arbitrary HTTP endpoint.
//
// Every request carries:
//
//	Content-Type: application/json
//	User-Agent: bridge
//	X-Bridge-Delivery: <delivery id>            (for a batch: the ids comma-separated, in body order)
//
// and, when HMACSecret is set:
//
//	X-Bridge-Timestamp: <unix seconds>
//	X-Bridge-Signature: sha256=<lower-case hex of HMAC-SHA256(secret, timestamp + "." + body)>
//
// A receiver verifies a request by recomputing the HMAC over the exact raw body bytes it received,
// prefixed by the X-Bridge-Timestamp value and a dot, comparing in constant time, and rejecting
// timestamps too far from its clock (replay protection). Go receivers can call VerifySignature.
// Deliveries are at-least-once: a receiver should dedupe on X-Bridge-Delivery (or the statement id).
//
// Status classification is the shared one (see the package doc); a non-2xx applies to the whole request
// (no splitting). In single mode, the statements are sent in order and the first retryable failure stops
// the Send: the remaining items get a retryable "not sent" outcome.
type Webhook struct {
	name    string
	method  string
	url     string
	headers map[string]string
	batch   bool
	timeout time.Duration
	secret  []byte
	client  *http.Client
	now     func() time.Time // for tests
}

// NewWebhook validates c and returns the forwarder.
func NewWebhook(c WebhookConfig) (*Webhook, error) {
	u, err := validateURL("webhook url", c.URL)
	if err != nil {
		return nil, err
	}
	switch c.Method = strings.ToUpper(strings.TrimSpace(c.Method)); c.Method {
	case "":
		c.Method = http.MethodPost
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil, fmt.Errorf("webhook method %q: must be POST, PUT or PATCH", c.Method)
	}
	if c.Timeout < 0 {
		return nil, errors.New("webhook timeout: must not be negative")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if err := validateHeaders(c.Headers); err != nil {
		return nil, errors.New("webhook " + err.Error())
	}
	w := &Webhook{
		name:    c.Name,
		method:  c.Method,
		url:     u.String(),
		headers: make(map[string]string, len(c.Headers)),
		batch:   c.Batch,
		timeout: c.Timeout,
		client:  prepareClient(c.Client),
		now:     time.Now,
	}
	if c.HMACSecret != "" {
		w.secret = []byte(c.HMACSecret)
	}
	if w.name == "" {
		w.name = u.Host
	}
	for k, v := range c.Headers {
		w.headers[k] = v
	}
	return w, nil
}

// Name returns the target's name.
func (w *Webhook) Name() string { return w.name }

// Send delivers items: one request for all (Batch) or one per item.
func (w *Webhook) Send(ctx context.Context, items []Item) []Outcome {
	out := make([]Outcome, len(items))
	var idx []int
	for i, it := range items {
		if err := checkObject(it.Statement); err != nil {
			out[i] = invalidJSON(err)
			continue
		}
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return out
	}
	if w.batch {
		parts := make([][]byte, len(idx))
		ids := make([]string, len(idx))
		for n, i := range idx {
			parts[n] = items[i].Statement
			ids[n] = strconv.FormatInt(items[i].DeliveryID, 10)
		}
		fill(out, idx, w.send(ctx, joinArray(parts), strings.Join(ids, ",")))
		return out
	}
	for n, i := range idx {
		o := w.send(ctx, items[i].Statement, strconv.FormatInt(items[i].DeliveryID, 10))
		out[i] = o
		if o.Retryable() {
			fill(out, idx[n+1:], notSent(o))
			break
		}
	}
	return out
}

func (w *Webhook) send(ctx context.Context, body []byte, delivery string) Outcome {
	h := make(http.Header, len(w.headers)+5)
	for k, v := range w.headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set(HeaderDelivery, delivery)
	h.Del(HeaderTimestamp)
	h.Del(HeaderSignature)
	if w.secret != nil {
		ts := strconv.FormatInt(w.now().Unix(), 10)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, Sign(string(w.secret), ts, body))
	}
	r := do(ctx, w.client, w.timeout, w.method, w.url, h, body)
	return classify(ctx, r, w.timeout, time.Now())
}

// Sign returns the X-Bridge-Signature value for a body signed at timestamp (unix seconds, as sent in
// X-Bridge-Timestamp): "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Errors returned by VerifySignature (wrapped; test with errors.Is).
var (
	ErrSignatureFormat   = errors.New("malformed signature or timestamp")
	ErrSignatureMismatch = errors.New("signature mismatch")
	ErrSignatureExpired  = errors.New("timestamp outside the allowed skew")
)

// VerifySignature checks a webhook request: timestamp and signature are the X-Bridge-Timestamp and
// X-Bridge-Signature header values, body the raw request body. The timestamp must be within maxSkew of
// now (either direction; maxSkew <= 0 disables the check, which gives up replay protection). The signature
// is compared in constant time.
func VerifySignature(secret string, timestamp string, body []byte, signature string, maxSkew time.Duration, now time.Time) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrSignatureFormat, timestamp)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
	if !ok {
		return fmt.Errorf("%w: signature must start with sha256=", ErrSignatureFormat)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: signature is not a hex SHA-256 digest", ErrSignatureFormat)
	}
	if maxSkew > 0 {
		// Sub saturates, so compare both ways instead of negating (-minDuration overflows).
		if skew := now.Sub(time.Unix(ts, 0)); skew > maxSkew || skew < -maxSkew {
			return fmt.Errorf("%w: %s off (max %s)", ErrSignatureExpired, skew.Truncate(time.Second), maxSkew)
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.TrimSpace(timestamp)))
	m.Write([]byte{'.'})
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrSignatureMismatch
	}
	return nil
}
