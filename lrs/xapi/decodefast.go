package xapi

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// errFastPath is decodeFast's only error. It carries no detail: DecodeJSON
// answers every failure by running decodeSlow, which names the problem.
var errFastPath = errors.New("xapi: input needs the token-by-token decoder")

// decodeFast decodes data in one pass into the values decodeSlow builds
// (map[string]any, []any, string, json.Number, bool, nil) and accepts
// exactly the documents decodeSlow accepts: RFC 8259 JSON as encoding/json
// reads it, one value with optional surrounding whitespace, no duplicate key
// (compared after unescaping) in any object, and no value nested deeper than
// maxDepth. Strings are unescaped as encoding/json does it, invalid UTF-8 and
// unpaired surrogate escapes becoming U+FFFD. Numbers keep their literal.
//
// It reports failure with errFastPath only; callers fall back to decodeSlow.
func decodeFast(data []byte) (any, error) {
	d := fastDecoder{data: data}
	if n := len(data) / 64; n >= 16 {
		d.strs = make([]any, min(1<<bits.Len(uint(n)), 1024))
	}
	d.skipSpace()
	v, ok := d.value(0)
	if !ok {
		return nil, errFastPath
	}
	d.skipSpace()
	if d.pos != len(d.data) {
		return nil, errFastPath
	}
	return v, nil
}

type fastDecoder struct {
	data []byte
	pos  int
	// Members and elements of the objects and arrays being read, innermost
	// last. Collecting them first lets each map and slice be made once at
	// its final size. Entries past the end are stale but die with the
	// decoder.
	members []fastMember
	elems   []any
	buf     []byte // scratch for unescaping strings
	// strs remembers recent strings without escapes, boxed, by a hash of
	// their bytes: the keys and many values of a batch of statements
	// repeat, and a hit saves allocating both the string and its box. It
	// lives for one call only. nil for small documents.
	strs []any
}

type fastMember struct {
	key string
	val any
}

// fastSpecial marks the bytes that end the plain run of a string: the
// closing quote, a backslash, control characters (invalid) and non-ASCII
// bytes (to be checked as UTF-8).
var fastSpecial = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf
	}
	return t
}()

func (d *fastDecoder) skipSpace() {
	data, i := d.data, d.pos
	for i < len(data) {
		switch data[i] {
		case ' ', '\n', '\r', '\t':
			i++
			continue
		}
		break
	}
	d.pos = i
}

// value reads the value at d.pos, which is not whitespace; depth is its
// nesting level (0 for the top-level value), as in decodeValue.
func (d *fastDecoder) value(depth int) (any, bool) {
	if depth > maxDepth || d.pos >= len(d.data) {
		return nil, false
	}
	switch c := d.data[d.pos]; c {
	case '{':
		return d.object(depth)
	case '[':
		return d.array(depth)
	case '"':
		return d.str()
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return d.number()
		}
		return nil, false
	}
}

func (d *fastDecoder) literal(lit string) bool {
	end := d.pos + len(lit)
	if end > len(d.data) || string(d.data[d.pos:end]) != lit {
		return false
	}
	d.pos = end
	return true
}

func (d *fastDecoder) object(depth int) (any, bool) {
	d.pos++ // '{'
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return map[string]any{}, true
	}
	base := len(d.members)
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, false
		}
		kv, ok := d.str()
		if !ok {
			return nil, false
		}
		k := kv.(string)
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, false
		}
		d.pos++
		d.skipSpace()
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		d.members = append(d.members, fastMember{k, v})
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, false
		}
		c := d.data[d.pos]
		d.pos++
		if c == '}' {
			break
		}
		if c != ',' {
			return nil, false
		}
		d.skipSpace()
	}
	members := d.members[base:]
	m := make(map[string]any, len(members))
	for i := range members {
		m[members[i].key] = members[i].val
	}
	// A duplicate key leaves the map short of a member: no separate check
	// is needed for that.
	if len(m) != len(members) {
		return nil, false
	}
	d.members = d.members[:base]
	return m, true
}

func (d *fastDecoder) array(depth int) (any, bool) {
	d.pos++ // '['
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return []any{}, true
	}
	base := len(d.elems)
	for {
		v, ok := d.value(depth + 1)
		if !ok {
			return nil, false
		}
		d.elems = append(d.elems, v)
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, false
		}
		c := d.data[d.pos]
		d.pos++
		if c == ']' {
			break
		}
		if c != ',' {
			return nil, false
		}
		d.skipSpace()
	}
	elems := d.elems[base:]
	a := make([]any, len(elems))
	copy(a, elems)
	d.elems = d.elems[:base]
	return a, true
}

// number reads a number per RFC 8259 and keeps its literal.
func (d *fastDecoder) number() (any, bool) {
	data, i := d.data, d.pos
	start := i
	if data[i] == '-' {
		i++
		if i >= len(data) {
			return nil, false
		}
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return nil, false
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			return nil, false
		}
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	}
	d.pos = i
	return json.Number(data[start:i]), true
}

// str reads the string whose opening quote is at d.pos, as a string in an
// interface.
func (d *fastDecoder) str() (any, bool) {
	data := d.data
	start := d.pos + 1
	i := start
	for i < len(data) && !fastSpecial[data[i]] {
		i++
	}
	if i < len(data) && data[i] == '"' {
		d.pos = i + 1
		return d.intern(data[start:i]), true
	}
	s, ok := d.strSlow(start, i)
	if !ok {
		return nil, false
	}
	return s, true
}

// intern returns string(b) boxed, from d.strs when it holds it.
func (d *fastDecoder) intern(b []byte) any {
	if d.strs == nil {
		return string(b)
	}
	n := len(b)
	var x uint64
	if n >= 8 {
		x = binary.LittleEndian.Uint64(b) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 31)
	} else {
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
	}
	x = (x ^ uint64(n)) * 0x9E3779B97F4A7C15
	slot := &d.strs[x>>(64-bits.Len(uint(len(d.strs)-1)))]
	if s, ok := (*slot).(string); ok && s == string(b) {
		return *slot
	}
	var v any = string(b)
	*slot = v
	return v
}

// strSlow finishes a string that has non-ASCII bytes or escapes, from i on.
// It copies the bytes only once something needs rewriting.
func (d *fastDecoder) strSlow(start, i int) (string, bool) {
	data := d.data
	for {
		if i >= len(data) {
			return "", false
		}
		c := data[i]
		if c == '"' {
			d.pos = i + 1
			return string(data[start:i]), true
		}
		if c == '\\' || c < 0x20 {
			break
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	buf := append(d.buf[:0], data[start:i]...)
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.buf = buf
			return string(buf), true
		case c == '\\':
			if i+1 >= len(data) {
				return "", false
			}
			switch data[i+1] {
			case '"', '\\', '/':
				buf = append(buf, data[i+1])
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				rr := hex4(data, i+2)
				if rr < 0 {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					// As encoding/json: a valid pair is one rune; anything
					// else is U+FFFD, and the next escape is read on its own.
					rr1 := rune(-1)
					if i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
						rr1 = hex4(data, i+2)
					}
					if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
						i += 6
						buf = utf8.AppendRune(buf, dec)
						continue
					}
					rr = unicode.ReplacementChar
				}
				buf = utf8.AppendRune(buf, rr)
				continue
			default:
				return "", false
			}
			i += 2
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			// Invalid UTF-8 decodes as U+FFFD one byte at a time, as in
			// encoding/json. A sequence cannot run into the closing quote,
			// which is not a continuation byte.
			r, size := utf8.DecodeRune(data[i:])
			buf = utf8.AppendRune(buf, r)
			i += size
		}
	}
	return "", false
}

// hex4 parses the four hex digits at data[i:i+4], or returns -1.
func hex4(data []byte, i int) rune {
	if i+4 > len(data) {
		return -1
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
