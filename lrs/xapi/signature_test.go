package xapi

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign builds a compact JWS of payload with key.
func sign(t *testing.T, key *rsa.PrivateKey, alg string, hash crypto.Hash, header map[string]any, payload []byte) []byte {
	t.Helper()
	header["alg"] = alg
	hb, _ := json.Marshal(header)
	in := b64(hb) + "." + b64(payload)
	h := hash.New()
	h.Write([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, hash, h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(in + "." + b64(sig))
}

func TestVerifySignature(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	x5c := []any{base64.StdEncoding.EncodeToString(der)}

	raw := `{"id":"6690e6c9-3ef0-4ed3-8b37-7f3964730bee","actor":{"mbox":"mailto:a@example.org"},
		"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},"object":{"id":"http://example.org/a"}}`
	payload := []byte(raw)
	v, _ := DecodeJSON(payload)
	stmt := v.(map[string]any)
	// The statement as sent carries the signature attachment; the payload
	// is the statement before it was attached.
	stmt["attachments"] = []any{map[string]any{"usageType": SignatureUsageType, "contentType": "application/octet-stream"}}

	changed := []byte(strings.Replace(raw, "completed", "failed", 1))
	cases := []struct {
		name    string
		jws     []byte
		wantErr string
	}{
		{"RS256", sign(t, key, "RS256", crypto.SHA256, map[string]any{}, payload), ""},
		{"RS384", sign(t, key, "RS384", crypto.SHA384, map[string]any{}, payload), ""},
		{"RS512 with x5c", sign(t, key, "RS512", crypto.SHA512, map[string]any{"x5c": x5c}, payload), ""},
		{"x5c of another key", sign(t, other, "RS256", crypto.SHA256, map[string]any{"x5c": x5c}, payload), "does not verify"},
		{"HS256", []byte(b64([]byte(`{"alg":"HS256"}`)) + "." + b64(payload) + "." + b64([]byte("mac"))), "algorithm \"HS256\""},
		{"payload differs", sign(t, key, "RS256", crypto.SHA256, map[string]any{}, changed), "does not match"},
		{"payload not JSON", sign(t, key, "RS256", crypto.SHA256, map[string]any{}, []byte(`{'id':1}`)), "not a JSON"},
		{"not a JWS", []byte("hello"), "compact"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifySignature(stmt, tc.jws, "attachments[0]")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("valid signature rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "attachments[0]") {
				t.Fatalf("got %v, want an error on attachments[0] containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestTimestampSpaceSeparator(t *testing.T) {
	st := func(ts string) map[string]any {
		v, _ := DecodeJSON([]byte(`{"actor":{"mbox":"mailto:a@example.org"},"verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},
			"object":{"id":"http://example.org/a"},"timestamp":"` + ts + `"}`))
		return v.(map[string]any)
	}
	if err := ValidateStatement(st("2008-09-15 15:53:00.601+00:00"), V200); err != nil {
		t.Errorf("2.0 (RFC 3339) allows a space separator: %v", err)
	}
	if err := ValidateStatement(st("2008-09-15 15:53:00.601+00:00"), V103); err == nil || !strings.Contains(err.Error(), "timestamp") {
		t.Errorf("1.0.3 (ISO 8601) needs a T: %v", err)
	}
	if err := ValidateStatement(st("2008-09-15 15:53:00.601"), V200); err == nil {
		t.Errorf("2.0 needs a zone")
	}
}
