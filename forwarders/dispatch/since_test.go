package dispatch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
)

// ParseSince takes a date (midnight UTC) or an RFC 3339 / xAPI timestamp;
// anything else is EINVALID with the value and the formats.
func TestParseSince(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2025-01-01", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{" 2025-02-28 ", time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC)},
		{"2025-01-01T09:30:00Z", time.Date(2025, 1, 1, 9, 30, 0, 0, time.UTC)},
		{"2025-01-01T09:30:00+01:00", time.Date(2025, 1, 1, 8, 30, 0, 0, time.UTC)},
		{"2025-01-01T09:30:00.250Z", time.Date(2025, 1, 1, 9, 30, 0, 250e6, time.UTC)},
	} {
		got, err := dispatch.ParseSince(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"yesterday", "2025-13-01", "2025-02-30", "01/02/2025", "2025-01-01 09:30", "1735689600"} {
		_, err := dispatch.ParseSince(bad)
		if err == nil {
			t.Errorf("ParseSince(%q): no error", bad)
			continue
		}
		if lrs.ErrorCode(err) != lrs.EINVALID || !strings.Contains(err.Error(), `"`+bad+`"`) || !strings.Contains(err.Error(), dispatch.SinceFormats) {
			t.Errorf("ParseSince(%q): %v (%s), want EINVALID naming the value and the formats", bad, err, lrs.ErrorCode(err))
		}
	}
}
