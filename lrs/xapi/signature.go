package xapi

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	_ "crypto/sha256" // SHA-256 for RS256
	_ "crypto/sha512" // SHA-384 and SHA-512 for RS384, RS512
)

// SignatureUsageType marks the attachment that carries a statement's JWS.
const SignatureUsageType = "http://adlnet.gov/expapi/attachments/signature"

var jwsHashes = map[string]crypto.Hash{"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512}

// VerifySignature checks the JWS (compact serialisation) of a signed
// statement, as xAPI requires (1.0.3 §2.6 / 2.0 §4.2.8): the algorithm is
// RS256, RS384 or RS512; the payload is a JSON serialisation of the
// statement as it was before the signature was attached (compared with
// Equivalent, which ignores attachments and LRS-set properties); and, when
// the JWS header carries an x5c certificate chain, the signature verifies
// with the first certificate's RSA key. Without x5c the LRS has no key to
// check against and accepts a well-formed signature, as the spec allows.
// path names the attachment in errors, e.g. "attachments[0]".
func VerifySignature(stmt map[string]any, jws []byte, path string) error {
	fail := func(format string, args ...any) error {
		return &Error{Path: path, Msg: "signature: " + fmt.Sprintf(format, args...)}
	}
	parts := strings.Split(strings.TrimSpace(string(jws)), ".")
	if len(parts) != 3 {
		return fail("not a JWS compact serialisation (want header.payload.signature)")
	}
	hb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	if err != nil {
		return fail("JWS header is not base64url")
	}
	var hdr struct {
		Alg string   `json:"alg"`
		X5c []string `json:"x5c"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return fail("JWS header is not JSON")
	}
	hash, ok := jwsHashes[hdr.Alg]
	if !ok {
		return fail("algorithm %q is not allowed; use RS256, RS384 or RS512", hdr.Alg)
	}
	pb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return fail("JWS payload is not base64url")
	}
	payload, err := DecodeJSON(pb)
	if err != nil {
		return fail("JWS payload is not a JSON serialisation of the statement")
	}
	pm, ok := payload.(map[string]any)
	if !ok || !Equivalent(pm, stmt) {
		return fail("JWS payload does not match the statement")
	}
	sig, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[2], "="))
	if err != nil || len(sig) == 0 {
		return fail("JWS signature is not base64url")
	}
	if len(hdr.X5c) > 0 {
		der, err := base64.StdEncoding.DecodeString(hdr.X5c[0])
		if err != nil {
			return fail("x5c[0] is not base64")
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return fail("x5c[0] is not an X.509 certificate: %v", err)
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return fail("x5c[0] does not hold an RSA key")
		}
		h := hash.New()
		h.Write([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, hash, h.Sum(nil), sig); err != nil {
			return fail("does not verify with the x5c certificate")
		}
	}
	return nil
}
