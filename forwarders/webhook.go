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
	HeaderSignature = "X-Bridge-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + delivery + "." + body)
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
//	X-Bridge-Signature: sha256=<lower-case hex of HMAC-SHA256(secret, timestamp + "." + delivery + "." + body)>
//
// where timestamp and delivery are the X-Bridge-Timestamp and X-Bridge-Delivery values as sent. A
// receiver verifies a request by recomputing the HMAC over those two header values and the exact raw
// body bytes it received, comparing in constant time; it rejects timestamps too far from its clock and
// drops a delivery id it has already accepted. Signing the delivery id is what makes the two checks
// hold together: within the timestamp window a replayed request carries the same delivery id (changing
// it breaks the signature), so it is dropped as a repeat; past the window its timestamp is refused. Go
// receivers can call VerifyRequest. Deliveries are at-least-once (a retry is the same delivery id with
// a new timestamp): a receiver should dedupe on X-Bridge-Delivery (or the statement id).
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
		h.Set(HeaderSignature, Sign(string(w.secret), ts, delivery, body))
	}
	r := do(ctx, w.client, w.timeout, w.method, w.url, h, body)
	return classify(ctx, r, w.timeout, time.Now())
}

// Sign returns the X-Bridge-Signature value for a body sent with X-Bridge-Timestamp timestamp (unix
// seconds) and X-Bridge-Delivery delivery: "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." +
// delivery + "." + body)).
func Sign(secret, timestamp, delivery string, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, body, timestamp, delivery))
}

// mac is HMAC-SHA256(secret, each of parts + ".", then body).
func mac(secret string, body []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{'.'})
	}
	m.Write(body)
	return m.Sum(nil)
}

// Errors returned by VerifyRequest (wrapped; test with errors.Is).
var (
	ErrSignatureFormat   = errors.New("malformed signature or timestamp")
	ErrSignatureMismatch = errors.New("signature mismatch")
	ErrSignatureExpired  = errors.New("timestamp outside the allowed skew")
)

// VerifyRequest checks a webhook request as a receiver should: h holds its headers (X-Bridge-Timestamp,
// X-Bridge-Delivery, X-Bridge-Signature) and body is the raw request body. See VerifyDelivery. It does
// not remember delivery ids: the receiver drops one it has already accepted.
func VerifyRequest(secret string, h http.Header, body []byte, maxSkew time.Duration, now time.Time) error {
	return VerifyDelivery(secret, h.Get(HeaderTimestamp), h.Get(HeaderDelivery), body, h.Get(HeaderSignature), maxSkew, now)
}

// VerifyDelivery checks a webhook request: timestamp, delivery and signature are the X-Bridge-Timestamp,
// X-Bridge-Delivery and X-Bridge-Signature header values, body the raw request body. The timestamp must
// be within maxSkew of now (either direction; maxSkew <= 0 disables the check, which gives up replay
// protection). The signature is compared in constant time.
func VerifyDelivery(secret, timestamp, delivery string, body []byte, signature string, maxSkew time.Duration, now time.Time) error {
	got, err := parseSignature(timestamp, signature, maxSkew, now)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, mac(secret, body, strings.TrimSpace(timestamp), strings.TrimSpace(delivery))) {
		return ErrSignatureMismatch
	}
	return nil
}

// VerifySignature checks the signature bridges sent before the delivery id was signed: HMAC-SHA256 over
// timestamp + "." + body only.
//
// Deprecated: requests are now signed over X-Bridge-Delivery too, so they fail this check with
// ErrSignatureMismatch; use VerifyRequest (or VerifyDelivery).
func VerifySignature(secret string, timestamp string, body []byte, signature string, maxSkew time.Duration, now time.Time) error {
	got, err := parseSignature(timestamp, signature, maxSkew, now)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, mac(secret, body, strings.TrimSpace(timestamp))) {
		return fmt.Errorf("%w (signatures cover %s too: verify with VerifyRequest)", ErrSignatureMismatch, HeaderDelivery)
	}
	return nil
}

// parseSignature checks the timestamp window and returns the signature's digest.
func parseSignature(timestamp, signature string, maxSkew time.Duration, now time.Time) ([]byte, error) {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: timestamp %q", ErrSignatureFormat, timestamp)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
	if !ok {
		return nil, fmt.Errorf("%w: signature must start with sha256=", ErrSignatureFormat)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return nil, fmt.Errorf("%w: signature is not a hex SHA-256 digest", ErrSignatureFormat)
	}
	if maxSkew > 0 {
		// Sub saturates, so compare both ways instead of negating (-minDuration overflows).
		if skew := now.Sub(time.Unix(ts, 0)); skew > maxSkew || skew < -maxSkew {
			return nil, fmt.Errorf("%w: %s off (max %s)", ErrSignatureExpired, skew.Truncate(time.Second), maxSkew)
		}
	}
	return got, nil
}
