package forwarders

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newWebhook(t *testing.T, c WebhookConfig) *Webhook {
	t.Helper()
	w, err := NewWebhook(c)
	if err != nil {
		t.Fatalf("NewWebhook: %v", err)
	}
	return w
}

func TestWebhookSingle(t *testing.T) {
	ft := newTarget(t)
	w := newWebhook(t, WebhookConfig{URL: ft.URL() + "/hook?token=abc", Headers: map[string]string{
		"X-Custom": "1", "Content-Type": "text/plain", "X-Bridge-Delivery": "spoof",
	}})
	in := items("a", "b")
	in[0].DeliveryID, in[1].DeliveryID = 41, 42
	checkOK(t, w.Send(context.Background(), in), 2)
	reqs := ft.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want one per statement", len(reqs))
	}
	for i, r := range reqs {
		if r.Method != "POST" || r.Path != "/hook" || r.Query != "token=abc" {
			t.Errorf("request %d: %s %s?%s", i, r.Method, r.Path, r.Query)
		}
		if string(r.Body) != string(in[i].Statement) {
			t.Errorf("body %d = %s, want the statement object", i, r.Body)
		}
		for k, want := range map[string]string{
			"Content-Type":       "application/json",
			"User-Agent":         "bridge",
			"X-Bridge-Delivery":  strconv.FormatInt(in[i].DeliveryID, 10),
			"X-Custom":           "1",
			"X-Bridge-Signature": "",
		} {
			if got := r.Header.Values(k); strings.Join(got, "|") != want {
				t.Errorf("request %d header %s = %q, want %q", i, k, got, want)
			}
		}
	}
}

func TestWebhookBatch(t *testing.T) {
	ft := newTarget(t)
	w := newWebhook(t, WebhookConfig{Name: "hook", Method: "put", URL: ft.URL(), Batch: true})
	if w.Name() != "hook" {
		t.Errorf("Name = %q", w.Name())
	}
	in := items("a", "b", "c")
	in[0].DeliveryID, in[1].DeliveryID, in[2].DeliveryID = 7, 8, 10
	checkOK(t, w.Send(context.Background(), in), 3)
	reqs := ft.Requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != "PUT" || !isArray(r.Body) || !reflect.DeepEqual(bodyIDs(t, r.Body), []string{"a", "b", "c"}) {
		t.Errorf("request: %s %s", r.Method, r.Body)
	}
	if got := r.Header.Get("X-Bridge-Delivery"); got != "7,8,10" {
		t.Errorf("X-Bridge-Delivery = %q", got)
	}
}

func TestWebhookHMAC(t *testing.T) {
	const secret = "s3cret"
	ft := newTarget(t)
	// The receiver verifies the way a Go receiver would.
	ft.Handle(func(rw http.ResponseWriter, r *http.Request, body []byte) {
		err := VerifyRequest(secret, r.Header, body, 5*time.Minute, time.Now())
		if err != nil {
			rw.WriteHeader(http.StatusUnauthorized)
			_, _ = rw.Write([]byte(err.Error()))
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	})
	w := newWebhook(t, WebhookConfig{URL: ft.URL(), HMACSecret: secret, Batch: true})
	checkOK(t, w.Send(context.Background(), items("a", "b")), 2)
	w1 := newWebhook(t, WebhookConfig{URL: ft.URL(), HMACSecret: secret})
	checkOK(t, w1.Send(context.Background(), items("c")), 1)
	wrong := newWebhook(t, WebhookConfig{URL: ft.URL(), HMACSecret: "other"})
	out := wrong.Send(context.Background(), items("d"))
	checkPermanent(t, out[0], 401)
	if !strings.Contains(out[0].Error, "signature mismatch") {
		t.Errorf("error = %q", out[0].Error)
	}

	r := ft.Requests()[0]
	ts, dl, sig, body := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderDelivery), r.Header.Get(HeaderSignature), r.Body
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(n, 0)).Abs() > time.Minute {
		t.Fatalf("timestamp %q", ts)
	}
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Fatalf("signature %q", sig)
	}
	if sig != Sign(secret, ts, dl, body) {
		t.Errorf("signature differs from Sign")
	}
	now := time.Unix(n, 0)
	if err := VerifyDelivery(secret, ts, dl, body, sig, time.Minute, now); err != nil {
		t.Errorf("valid signature: %v", err)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-2] = ' '
	if err := VerifyDelivery(secret, ts, dl, tampered, sig, time.Minute, now); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("tampered body: %v", err)
	}
	if err := VerifyDelivery(secret, strconv.FormatInt(n+1, 10), dl, body, sig, time.Minute, now); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("changed timestamp: %v", err)
	}
	if err := VerifyDelivery(secret, ts, dl, body, sig, time.Minute, now.Add(2*time.Minute)); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("old request: %v", err)
	}
	if err := VerifyDelivery(secret, ts, dl, body, sig, time.Minute, now.Add(-2*time.Minute)); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("request from the future: %v", err)
	}
	if err := VerifyDelivery(secret, "99999999999999999", dl, body, sig, time.Minute, now); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("far-future timestamp: %v", err)
	}
	for _, bad := range []string{"", strings.TrimPrefix(sig, "sha256="), "sha1=" + sig[7:], "sha256=zz", "sha256=abcd"} {
		if err := VerifyDelivery(secret, ts, dl, body, bad, time.Minute, now); !errors.Is(err, ErrSignatureFormat) {
			t.Errorf("signature %q: %v", bad, err)
		}
	}
	if err := VerifyDelivery(secret, "yesterday", dl, body, sig, time.Minute, now); !errors.Is(err, ErrSignatureFormat) {
		t.Errorf("bad timestamp: %v", err)
	}
}

func TestWebhookFixedClockSignature(t *testing.T) {
	ft := newTarget(t)
	w := newWebhook(t, WebhookConfig{URL: ft.URL(), HMACSecret: "key"})
	w.now = func() time.Time { return time.Unix(1700000000, 0) }
	in := []Item{{DeliveryID: 1, Statement: []byte(`{"id":"x"}`)}}
	checkOK(t, w.Send(context.Background(), in), 1)
	r := ft.Requests()[0]
	// Computed independently: printf '1700000000.1.{"id":"x"}' | openssl dgst -sha256 -hmac key
	// (timestamp, X-Bridge-Delivery, body)
	const want = "sha256=" + "19d462a2eb97cbccc5bacfa3a1c5c73ed8eaeaf9a6fd4ad20f326baa12942f40"
	if r.Header.Get(HeaderTimestamp) != "1700000000" {
		t.Errorf("timestamp = %q", r.Header.Get(HeaderTimestamp))
	}
	if got := r.Header.Get(HeaderSignature); got != want {
		t.Errorf("signature = %q", got)
	}
}

func TestWebhookStatusClassification(t *testing.T) {
	ft := newTarget(t)
	batch := newWebhook(t, WebhookConfig{URL: ft.URL(), Batch: true})
	single := newWebhook(t, WebhookConfig{URL: ft.URL()})

	ft.Respond(http.StatusInternalServerError, "boom", "Retry-After", "2")
	for _, o := range batch.Send(context.Background(), items("a", "b")) {
		checkRetryable(t, o, 500)
		if o.RetryAfter != 2*time.Second {
			t.Errorf("RetryAfter = %v", o.RetryAfter)
		}
	}
	ft.Respond(http.StatusConflict, "dup")
	for _, o := range batch.Send(context.Background(), items("a", "b")) {
		checkPermanent(t, o, 409)
	}
	ft.Respond(http.StatusBadRequest, "bad")
	before := ft.Count()
	for _, o := range batch.Send(context.Background(), items("a", "b")) {
		checkPermanent(t, o, 400)
	}
	if ft.Count()-before != 1 {
		t.Errorf("webhook batch 400 was split: %d requests", ft.Count()-before)
	}

	// Single mode: the first retryable failure stops the Send.
	ft.Respond(http.StatusServiceUnavailable, "down")
	before = ft.Count()
	out := single.Send(context.Background(), items("a", "b", "c"))
	checkRetryable(t, out[0], 503)
	for _, o := range out[1:] {
		checkRetryable(t, o, 0)
		if !strings.HasPrefix(o.Error, "not sent") {
			t.Errorf("error = %q", o.Error)
		}
	}
	if ft.Count()-before != 1 {
		t.Errorf("requests after a 503 = %d, want 1", ft.Count()-before)
	}
	// ... but a permanent one does not.
	ft.Respond(http.StatusUnprocessableEntity, "no")
	before = ft.Count()
	for _, o := range single.Send(context.Background(), items("a", "b")) {
		checkPermanent(t, o, 422)
	}
	if ft.Count()-before != 2 {
		t.Errorf("requests = %d, want 2", ft.Count()-before)
	}
}

func TestWebhookTimeout(t *testing.T) {
	ft := newTarget(t)
	ft.Stall()
	w := newWebhook(t, WebhookConfig{URL: ft.URL(), Timeout: 50 * time.Millisecond})
	out := w.Send(context.Background(), items("a", "b"))
	checkRetryable(t, out[0], 0)
	if !strings.Contains(out[0].Error, "timeout") {
		t.Errorf("error = %q", out[0].Error)
	}
	if ft.Count() != 1 {
		t.Errorf("requests = %d, want 1 (stop after a timeout)", ft.Count())
	}
}

func TestNewWebhookValidation(t *testing.T) {
	for _, c := range []WebhookConfig{
		{},
		{URL: "/relative"},
		{URL: "mailto:x@example.org"},
		{URL: "https://example.org/h", Method: "GET"},
		{URL: "https://example.org/h", Method: "DELETE"},
		{URL: "https://example.org/h", Timeout: -1},
		{URL: "https://example.org/h", Headers: map[string]string{"X": "a\nb"}},
	} {
		if _, err := NewWebhook(c); err == nil {
			t.Errorf("NewWebhook(%+v) accepted", c)
		}
	}
	w, err := NewWebhook(WebhookConfig{URL: "https://example.org/h"})
	if err != nil || w.method != "POST" || w.timeout != DefaultTimeout || w.Name() != "example.org" {
		t.Errorf("defaults: %v %+v", err, w)
	}
}
