package dispatch

import (
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// SinceFormats says what ParseSince accepts, for messages and help texts.
const SinceFormats = "a date such as 2025-01-01 (midnight UTC) or an RFC 3339 time such as 2025-01-01T09:30:00Z or 2025-01-01T09:30:00+01:00"

// ParseSince parses where a back-fill starts, as `bridge forward backfill
// --since` and the admin API's POST /api/v1/forwarding/backfill "since"
// take it: a date (2025-01-01, read as midnight UTC) or a timestamp as xAPI
// writes them (RFC 3339, 2025-01-01T09:30:00Z or with an offset; a
// fraction, the basic format and a missing zone, read as UTC, are accepted
// too). An empty string is the zero time: every statement. The error is
// EINVALID and names the value and the formats, for the caller to prefix
// with its flag or field ("--since: ...", "since: ...").
func ParseSince(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := xapi.ParseTimestamp(s); err == nil {
		return t, nil
	}
	return time.Time{}, lrs.Errorf(lrs.EINVALID, "%q is not a date or a time: use %s", s, SinceFormats)
}
