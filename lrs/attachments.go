package lrs

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// Attachment is the raw content of a statement attachment, sent as a part
// of a multipart/mixed request and stored once per hash.
type Attachment struct {
	SHA2        string // lowercase hex SHA-256 of Content
	ContentType string
	Content     []byte
}

// NewAttachment returns an Attachment for content, with its hash computed.
func NewAttachment(contentType string, content []byte) Attachment {
	h := sha256.Sum256(content)
	return Attachment{SHA2: hex.EncodeToString(h[:]), ContentType: contentType, Content: content}
}

// checkAttachments matches the attachment parts of a request against the
// attachments the statements declare: every declared attachment without a
// fileUrl needs a part with its hash, every part must be declared, and each
// signature attachment must hold a valid JWS of its statement. It returns
// the parts to store.
func checkAttachments(stmts []map[string]any, parts []Attachment, batch bool) ([]Attachment, error) {
	byHash := make(map[string]Attachment, len(parts))
	for _, p := range parts {
		byHash[p.SHA2] = p
	}
	used := map[string]bool{}
	for i, st := range stmts {
		atts, _ := st["attachments"].([]any)
		for j, a := range atts {
			am, _ := a.(map[string]any)
			path := "attachments[" + strconv.Itoa(j) + "]"
			if batch {
				path = "[" + strconv.Itoa(i) + "]." + path
			}
			sha, _ := am["sha2"].(string)
			sha = strings.ToLower(sha)
			part, ok := byHash[sha]
			if !ok {
				if am["usageType"] == xapi.SignatureUsageType {
					return nil, Errorf(EINVALID, "%s: signature attachment has no part with X-Experience-API-Hash %s", path, sha)
				}
				if _, hasURL := am["fileUrl"]; !hasURL {
					return nil, Errorf(EINVALID, "%s: no fileUrl and no multipart part with X-Experience-API-Hash %s", path, sha)
				}
				continue
			}
			used[sha] = true
			if am["usageType"] == xapi.SignatureUsageType {
				if ct, _ := am["contentType"].(string); ct != "application/octet-stream" {
					return nil, Errorf(EINVALID, "%s.contentType: a signature must be application/octet-stream, not %q", path, ct)
				}
				if err := xapi.VerifySignature(st, part.Content, path); err != nil {
					return nil, Errorf(EINVALID, "%s", err.Error())
				}
			}
		}
	}
	for _, p := range parts {
		if !used[p.SHA2] {
			return nil, Errorf(EINVALID, "multipart part with X-Experience-API-Hash %s matches no attachment of the statements", p.SHA2)
		}
	}
	return parts, nil
}
