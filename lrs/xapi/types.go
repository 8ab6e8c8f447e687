package xapi

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// IsUUID reports whether s is a UUID in 8-4-4-4-12 hex form (any variant/version, any case).
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIRI reports whether s is an absolute IRI: a valid RFC 3986 scheme followed
// by ':' and a non-empty remainder without whitespace, control or excluded characters.
// IsIRI reports whether s looks like an absolute IRI: a scheme, ':' and a
// non-empty rest without spaces or forbidden characters.
func IsIRI(s string) bool { return isIRI(s) }

func isIRI(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon < 1 || colon == len(s)-1 {
		return false
	}
	if !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < colon; i++ {
		c := s[i]
		if !(isAlpha(c) || isDigit(c) || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	for _, r := range s[colon+1:] {
		if r <= 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x80 && r <= 0x9f) {
			return false
		}
		switch r {
		case '<', '>', '"', '{', '}', '|', '\\', '^', '`':
			return false
		}
	}
	return true
}

// isMbox reports whether s is a "mailto:" IRI with a plausible e-mail address.
func isMbox(s string) bool {
	if !strings.HasPrefix(s, "mailto:") || !isIRI(s) {
		return false
	}
	addr := s[len("mailto:"):]
	at := strings.LastIndexByte(addr, '@')
	return at > 0 && at < len(addr)-1
}

// isSHA1Hex reports whether s is 40 hex digits.
func isSHA1Hex(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

// toFloat converts a decoded JSON number (json.Number, float64 or int) to float64.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		return f, !math.IsNaN(f)
	case float64:
		return n, !math.IsNaN(n) && !math.IsInf(n, 0)
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// ParseLanguageTag reports whether s is a well-formed RFC 5646 language tag.
func ParseLanguageTag(s string) bool {
	if s == "" {
		return false
	}
	if _, ok := irregularTags[strings.ToLower(s)]; ok {
		return true
	}
	parts := strings.Split(s, "-")
	for _, p := range parts {
		if len(p) == 0 || len(p) > 8 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if !isAlpha(p[i]) && !isDigit(p[i]) {
				return false
			}
		}
	}
	i := 0
	// privateuse-only tag
	if strings.EqualFold(parts[0], "x") {
		return len(parts) > 1
	}
	// language
	l := parts[0]
	if !allAlpha(l) || len(l) < 2 {
		return false
	}
	i = 1
	if len(l) <= 3 {
		// up to three extlang subtags
		for n := 0; n < 3 && i < len(parts) && len(parts[i]) == 3 && allAlpha(parts[i]); n++ {
			i++
		}
	}
	// script
	if i < len(parts) && len(parts[i]) == 4 && allAlpha(parts[i]) {
		i++
	}
	// region
	if i < len(parts) && (len(parts[i]) == 2 && allAlpha(parts[i]) || len(parts[i]) == 3 && allDigit(parts[i])) {
		i++
	}
	// variants
	seenVar := map[string]bool{}
	for i < len(parts) {
		p := parts[i]
		if len(p) >= 5 || len(p) == 4 && isDigit(p[0]) {
			lp := strings.ToLower(p)
			if seenVar[lp] {
				return false
			}
			seenVar[lp] = true
			i++
			continue
		}
		break
	}
	// extensions
	seenExt := map[string]bool{}
	for i < len(parts) && len(parts[i]) == 1 && !strings.EqualFold(parts[i], "x") {
		single := strings.ToLower(parts[i])
		if seenExt[single] {
			return false
		}
		seenExt[single] = true
		i++
		n := 0
		for i < len(parts) && len(parts[i]) >= 2 {
			i++
			n++
		}
		if n == 0 {
			return false
		}
	}
	// private use
	if i < len(parts) && strings.EqualFold(parts[i], "x") {
		return len(parts) > i+1
	}
	return i == len(parts)
}

func allAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return true
}

func allDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// irregularTags are RFC 5646 grandfathered tags that do not match the langtag production.
var irregularTags = map[string]struct{}{
	"en-gb-oed": {}, "i-ami": {}, "i-bnn": {}, "i-default": {}, "i-enochian": {}, "i-hak": {},
	"i-klingon": {}, "i-lux": {}, "i-mingo": {}, "i-navajo": {}, "i-pwn": {}, "i-tao": {},
	"i-tay": {}, "i-tsu": {}, "sgn-be-fr": {}, "sgn-be-nl": {}, "sgn-ch-de": {},
}

// ParseTimestamp parses an ISO 8601 date-time as xAPI allows: extended
// (2008-09-15T15:53:00.601Z) or basic (20080915T155300Z) format, with an
// optional fraction of any length and a zone of "Z", ±hh:mm, ±hhmm or ±hh.
// A missing zone is read as UTC (see hasZone for the 2.0 rule). The "unknown
// local offset" forms -00, -0000 and -00:00 are rejected, as the ADL suite requires.
func ParseTimestamp(s string) (time.Time, error) {
	t, _, err := parseTimestamp(s)
	return t, err
}

var errTimestamp = errors.New("invalid ISO 8601 timestamp")

// parseTimestamp parses s and also reports whether it carried a zone designator.
func parseTimestamp(s string) (time.Time, bool, error) {
	p := 0
	num := func(n int) (int, bool) {
		if p+n > len(s) {
			return 0, false
		}
		v := 0
		for i := 0; i < n; i++ {
			c := s[p+i]
			if !isDigit(c) {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		p += n
		return v, true
	}
	lit := func(c byte) bool {
		if p < len(s) && s[p] == c {
			p++
			return true
		}
		return false
	}
	year, ok := num(4)
	if !ok {
		return time.Time{}, false, errTimestamp
	}
	extended := lit('-')
	month, ok := num(2)
	if !ok || extended && !lit('-') {
		return time.Time{}, false, errTimestamp
	}
	day, ok := num(2)
	// RFC 3339 (xAPI 2.0) also allows a space between date and time.
	if !ok || !(lit('T') || lit('t') || extended && lit(' ')) {
		return time.Time{}, false, errTimestamp
	}
	hour, ok := num(2)
	if !ok || extended && !lit(':') {
		return time.Time{}, false, errTimestamp
	}
	minute, ok := num(2)
	if !ok || extended && !lit(':') {
		return time.Time{}, false, errTimestamp
	}
	sec, ok := num(2)
	if !ok {
		return time.Time{}, false, errTimestamp
	}
	nsec := 0
	if lit('.') || lit(',') {
		start := p
		scale := 100000000
		for p < len(s) && isDigit(s[p]) {
			nsec += int(s[p]-'0') * scale
			scale /= 10
			p++
		}
		if p == start {
			return time.Time{}, false, errTimestamp
		}
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false, errTimestamp
	}
	loc := time.UTC
	hasZone := false
	if p < len(s) {
		hasZone = true
		switch s[p] {
		case 'Z', 'z':
			p++
		case '+', '-':
			neg := s[p] == '-'
			p++
			oh, ok := num(2)
			if !ok {
				return time.Time{}, false, errTimestamp
			}
			om := 0
			if p < len(s) {
				lit(':') // hh:mm or hhmm are both accepted
				if om, ok = num(2); !ok {
					return time.Time{}, false, errTimestamp
				}
			}
			if oh > 23 || om > 59 || neg && oh == 0 && om == 0 {
				return time.Time{}, false, errTimestamp
			}
			off := (oh*60 + om) * 60
			if neg {
				off = -off
			}
			loc = time.FixedZone("", off)
		default:
			return time.Time{}, false, errTimestamp
		}
	}
	if p != len(s) {
		return time.Time{}, false, errTimestamp
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), hasZone, nil
}

func daysIn(month, year int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// FormatTimestamp formats t as RFC 3339 in UTC with millisecond precision,
// e.g. 2026-11-24T06:49:21.123Z.
func FormatTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// isDuration reports whether s is an ISO 8601 duration in the
// PnYnMnDTnHnMnS or PnW form (section 4.4.3.2). A decimal fraction is allowed
// on any number; at least one component is required and "T" must be followed
// by a time component.
func isDuration(s string) bool {
	if len(s) < 3 || s[0] != 'P' {
		return false
	}
	rest := s[1:]
	// PnW form
	if rest[len(rest)-1] == 'W' {
		return isDecimal(rest[:len(rest)-1])
	}
	date, tm, hasT := strings.Cut(rest, "T")
	if hasT && tm == "" {
		return false
	}
	if date == "" && !hasT {
		return false
	}
	return durationPart(date, "YMD") && durationPart(tm, "HMS")
}

// durationPart checks a sequence of <number><designator> with designators in order.
func durationPart(s, designators string) bool {
	next := 0
	for s != "" {
		i := 0
		for i < len(s) && (isDigit(s[i]) || s[i] == '.' || s[i] == ',') {
			i++
		}
		if i == len(s) || !isDecimal(s[:i]) {
			return false
		}
		d := strings.IndexByte(designators[next:], s[i])
		if d < 0 {
			return false
		}
		next += d + 1
		s = s[i+1:]
	}
	return true
}

func isDecimal(s string) bool {
	intPart, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	return intPart != "" && allDigit(intPart) && (!hasFrac || frac != "" && allDigit(frac))
}
