package forwarders

import "unicode/utf8"

// A single-pass scan of a statement that lets the common case skip decoding
// it: it validates the JSON, finds the top-level "id" and notes whether
// anything a 1.0.3 target needs changed is present. It only ever vouches
// for input it fully understands; anything else (invalid JSON, escaped
// object keys, an escaped "id", deep nesting) makes it answer !ok, and the
// caller falls back to encoding/json, whose verdict and error message are
// then the ones used. So for every input the result is the one the decoding
// path would give.

// scanInfo is what scanStatement learned about a JSON object.
type scanInfo struct {
	id string // the last top-level "id" if it is a string, else ""
	// strip: some object key, at any depth, is "contextAgents" or
	// "contextGroups" (a 1.0.3 target may need them removed).
	strip bool
	// Top-level "version" keys: how many, where the last one's value is
	// (raw[verStart:verEnd]), whether one of them must become "1.0.0" for a
	// 1.0.3 target (null, or a string not starting with "1.0."; other
	// values are left alone), and whether one is a string with escapes,
	// which the scan does not judge.
	versions         int
	verStart, verEnd int
	verFix, verOdd   bool
}

// scanMaxDepth bounds nesting; deeper input goes to the decoding path
// (whose own limit is far higher).
const scanMaxDepth = 128

// strPlain marks the bytes that may appear unescaped in a JSON string and
// need no attention: everything from 0x20 up except '"' and '\\'. Like
// encoding/json, the scan does not check UTF-8.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

var hexDigit = func() (t [256]bool) {
	for _, c := range "0123456789abcdefABCDEF" {
		t[c] = true
	}
	return t
}()

type scanner struct {
	b    []byte
	i    int
	info scanInfo
}

// scanStatement reports whether raw is certainly a valid JSON document
// whose top-level value is an object (what json.Valid plus the object check
// of checkObject accept) and, if so, what it found. !ok means "ask
// encoding/json", not necessarily "invalid".
func scanStatement(raw []byte) (scanInfo, bool) {
	s := scanner{b: raw}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return scanInfo{}, false
	}
	if !s.object(1) {
		return scanInfo{}, false
	}
	s.ws()
	if s.i != len(s.b) {
		return scanInfo{}, false
	}
	return s.info, true
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(depth int) bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; c {
	case '{':
		return s.object(depth + 1)
	case '[':
		return s.array(depth + 1)
	case '"':
		_, _, ok := s.str()
		return ok
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.number()
		}
		return false
	}
}

func (s *scanner) lit(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

// str scans the string starting at s.b[s.i] ('"'). It returns the offset of
// its content and whether the content has escapes (content is then
// s.b[start:s.i-1]).
func (s *scanner) str() (start int, esc bool, ok bool) {
	b := s.b
	i := s.i + 1
	start = i
	for {
		for i < len(b) && strPlain[b[i]] {
			i++
		}
		if i >= len(b) {
			return 0, false, false
		}
		switch b[i] {
		case '"':
			s.i = i + 1
			return start, esc, true
		case '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !hexDigit[b[i+2]] || !hexDigit[b[i+3]] || !hexDigit[b[i+4]] || !hexDigit[b[i+5]] {
					return 0, false, false
				}
				i += 6
			default:
				return 0, false, false
			}
		default: // a control character
			return 0, false, false
		}
	}
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return false
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) array(depth int) bool {
	if depth > scanMaxDepth {
		return false
	}
	s.i++ // '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return true
	}
	for {
		if !s.value(depth) {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return true
		default:
			return false
		}
	}
}

func (s *scanner) object(depth int) bool {
	if depth > scanMaxDepth {
		return false
	}
	s.i++ // '{'
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		start, esc, ok := s.str()
		if !ok || esc {
			// An escaped key could spell any name: let the decoder see it.
			return false
		}
		key := s.b[start : s.i-1]
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		switch {
		case depth == 1 && string(key) == "id":
			s.info.id = ""
			if s.i < len(s.b) && s.b[s.i] == '"' {
				vs, vesc, ok := s.str()
				if !ok || vesc {
					return false
				}
				v := s.b[vs : s.i-1]
				if !utf8.Valid(v) { // the decoder would replace the invalid bytes
					return false
				}
				s.info.id = string(v)
			} else if !s.value(depth) {
				return false
			}
		case depth == 1 && string(key) == "version":
			s.info.versions++
			s.info.verStart = s.i
			if s.i < len(s.b) && s.b[s.i] == '"' {
				vs, vesc, ok := s.str()
				if !ok {
					return false
				}
				if vesc {
					s.info.verOdd = true
				} else if v := s.b[vs : s.i-1]; len(v) < 4 || string(v[:4]) != "1.0." {
					s.info.verFix = true
				}
			} else {
				if s.i < len(s.b) && s.b[s.i] == 'n' {
					s.info.verFix = true // null decodes as "", which is replaced
				}
				if !s.value(depth) {
					return false
				}
			}
			s.info.verEnd = s.i
		default:
			if len(key) == len("contextAgents") && (string(key) == "contextAgents" || string(key) == "contextGroups") {
				s.info.strip = true
			}
			if !s.value(depth) {
				return false
			}
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return true
		default:
			return false
		}
	}
}
