package forwarders

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// receiverCheck is what the README tells a receiver to do, written with
// the standard library only: HMAC-SHA256(secret, timestamp "." delivery "."
// body), compared in constant time.
func receiverCheck(secret, timestamp, delivery string, body []byte, signature string) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "." + delivery + "."))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(signature))
}

// The signature covers X-Bridge-Delivery: a request replayed with another
// delivery id (to get past a receiver's dedupe) no longer verifies.
func TestWebhookSignatureCoversDelivery(t *testing.T) {
	const secret = "s3cret"
	for _, batch := range []bool{false, true} {
		ft := newTarget(t)
		w := newWebhook(t, WebhookConfig{URL: ft.URL(), HMACSecret: secret, Batch: batch})
		in := items("a", "b")
		in[0].DeliveryID, in[1].DeliveryID = 41, 42
		checkOK(t, w.Send(context.Background(), in), 2)
		for _, r := range ft.Requests() {
			ts, dl, sig := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderDelivery), r.Header.Get(HeaderSignature)
			if dl == "" || ts == "" {
				t.Fatalf("batch %v: headers %v", batch, r.Header)
			}
			if !receiverCheck(secret, ts, dl, r.Body, sig) {
				t.Errorf("batch %v: signature %s does not cover timestamp %s, delivery %s and the body", batch, sig, ts, dl)
			}
			for _, other := range []string{dl + "0", "1", "", dl + ",43"} {
				if receiverCheck(secret, ts, other, r.Body, sig) {
					t.Errorf("batch %v: signature verifies with X-Bridge-Delivery %q instead of %q", batch, other, dl)
				}
			}
		}
	}
}

// VerifyRequest (and VerifyDelivery) refuse a request whose
// X-Bridge-Delivery was changed; the deprecated VerifySignature, which
// knows nothing of it, refuses every request signed now, saying why.
func TestVerifyRequestDelivery(t *testing.T) {
	const secret = "s3cret"
	ft := newTarget(t)
	w := newWebhook(t, WebhookConfig{URL: ft.URL(), HMACSecret: secret, Batch: true})
	in := items("a", "b")
	in[0].DeliveryID, in[1].DeliveryID = 7, 8
	checkOK(t, w.Send(context.Background(), in), 2)
	r := ft.Requests()[0]
	if err := VerifyRequest(secret, r.Header, r.Body, time.Minute, time.Now()); err != nil {
		t.Fatalf("as sent: %v", err)
	}
	for _, other := range []string{"7", "8,7", "7,8,9", "9"} {
		h := r.Header.Clone()
		h.Set(HeaderDelivery, other)
		if err := VerifyRequest(secret, h, r.Body, time.Minute, time.Now()); !errors.Is(err, ErrSignatureMismatch) {
			t.Errorf("X-Bridge-Delivery %q instead of %q: %v, want ErrSignatureMismatch", other, r.Header.Get(HeaderDelivery), err)
		}
	}
	h := r.Header.Clone()
	h.Del(HeaderDelivery)
	if err := VerifyRequest(secret, h, r.Body, time.Minute, time.Now()); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("without X-Bridge-Delivery: %v", err)
	}
	err := VerifySignature(secret, r.Header.Get(HeaderTimestamp), r.Body, r.Header.Get(HeaderSignature), time.Minute, time.Now())
	if !errors.Is(err, ErrSignatureMismatch) || !strings.Contains(err.Error(), "VerifyRequest") {
		t.Errorf("deprecated VerifySignature: %v", err)
	}
}
