package xapi

import (
	"fmt"
	"strings"
)

// Version is a negotiated xAPI version.
type Version string

// Supported xAPI versions.
const (
	V103 Version = "1.0.3"
	V200 Version = "2.0.0"
)

// ParseVersionHeader parses the X-Experience-API-Version request header value.
// "1.0" and "1.0.0".."1.0.3" map to V103; "2.0" and "2.0.0" map to V200.
// Anything else, including the empty string, is an error.
func ParseVersionHeader(h string) (Version, error) {
	switch strings.TrimSpace(h) {
	case "1.0", "1.0.0", "1.0.1", "1.0.2", "1.0.3":
		return V103, nil
	case "2.0", "2.0.0":
		return V200, nil
	case "":
		return "", &Error{Path: "X-Experience-API-Version", Msg: "header is required; supported versions: 1.0.3, 2.0.0"}
	}
	return "", &Error{Path: "X-Experience-API-Version", Msg: fmt.Sprintf("unsupported version %q; supported versions: 1.0.3, 2.0.0", h)}
}

// validStatementVersion reports whether a statement's "version" property is
// acceptable for a request made with version v. The ADL suite accepts "1.0" and
// "1.0.x" for both versions; 2.0 requests may also send "2.0" / "2.0.x".
func validStatementVersion(s string, v Version) bool {
	var rest string
	switch {
	case strings.HasPrefix(s, "1.0"):
		rest = s[3:]
	case v == V200 && strings.HasPrefix(s, "2.0"):
		rest = s[3:]
	default:
		return false
	}
	if rest == "" {
		return true
	}
	if rest[0] != '.' || len(rest) == 1 {
		return false
	}
	for _, c := range rest[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
