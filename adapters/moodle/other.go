package moodle

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Other decodes an event's `other` column, which Moodle stores PHP-serialised
// on older sites and as JSON on newer ones (both coexist on upgraded sites).
// Absent, "N;" or "null" give an empty map. PHP arrays with consecutive
// integer keys from 0 become []any; other arrays become map[string]any with
// the keys as strings. Integers are int64, floats float64.
func Other(ev Row) (map[string]any, error) {
	s := strings.TrimSpace(ev.Str("other"))
	if s == "" || s == "N;" || s == "null" {
		return map[string]any{}, nil
	}
	var v any
	if s[0] == '{' || s[0] == '[' {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("other: invalid JSON: %w", err)
		}
		v = jsonNumbers(v)
	} else {
		p := &phpParser{s: s}
		var err error
		if v, err = p.value(); err != nil {
			return nil, fmt.Errorf("other: %w", err)
		}
	}
	switch t := v.(type) {
	case map[string]any:
		return t, nil
	case []any:
		m := make(map[string]any, len(t))
		for i, x := range t {
			m[strconv.Itoa(i)] = x
		}
		return m, nil
	case nil:
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("other: not an array or object")
}

// OtherInt returns other[key] as an integer (0 if absent).
func OtherInt(other map[string]any, key string) int64 { return Row(other).Int(key) }

// OtherStr returns other[key] as text.
func OtherStr(other map[string]any, key string) string { return Row(other).Str(key) }

func jsonNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = jsonNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = jsonNumbers(x)
		}
	}
	return v
}

// phpParser reads PHP's serialize() format: N; b:1; i:5; d:0.5; s:3:"abc";
// a:2:{k;v;k;v;} and O:8:"stdClass":1:{k;v;} (objects become maps).
type phpParser struct {
	s string
	p int
}

func (p *phpParser) errf(format string, args ...any) error {
	return fmt.Errorf("PHP serialised data at byte %d: %s", p.p, fmt.Sprintf(format, args...))
}

func (p *phpParser) until(c byte) (string, error) {
	i := strings.IndexByte(p.s[p.p:], c)
	if i < 0 {
		return "", p.errf("missing %q", c)
	}
	out := p.s[p.p : p.p+i]
	p.p += i + 1
	return out, nil
}

func (p *phpParser) expect(c byte) error {
	if p.p >= len(p.s) || p.s[p.p] != c {
		return p.errf("want %q", c)
	}
	p.p++
	return nil
}

func (p *phpParser) value() (any, error) {
	if p.p+1 >= len(p.s) {
		return nil, p.errf("truncated")
	}
	kind := p.s[p.p]
	if kind == 'N' {
		p.p++
		return nil, p.expect(';')
	}
	p.p++
	if err := p.expect(':'); err != nil {
		return nil, err
	}
	switch kind {
	case 'b':
		v, err := p.until(';')
		return v == "1", err
	case 'i':
		v, err := p.until(';')
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, p.errf("bad integer %q", v)
		}
		return n, nil
	case 'd':
		v, err := p.until(';')
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, p.errf("bad float %q", v)
		}
		return f, nil
	case 's':
		return p.str()
	case 'a':
		return p.array()
	case 'O':
		if _, err := p.str0(); err != nil { // class name
			return nil, err
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		return p.array()
	}
	return nil, p.errf("unsupported type %q", kind)
}

// str reads `N:"...";` (the length is in bytes).
func (p *phpParser) str() (string, error) {
	s, err := p.str0()
	if err != nil {
		return "", err
	}
	return s, p.expect(';')
}

func (p *phpParser) str0() (string, error) {
	ls, err := p.until(':')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(ls)
	if err != nil || n < 0 {
		return "", p.errf("bad string length %q", ls)
	}
	if err := p.expect('"'); err != nil {
		return "", err
	}
	if p.p+n > len(p.s) {
		return "", p.errf("string runs past the end")
	}
	out := p.s[p.p : p.p+n]
	p.p += n
	return out, p.expect('"')
}

func (p *phpParser) array() (any, error) {
	ns, err := p.until(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 0 {
		return nil, p.errf("bad array length %q", ns)
	}
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	m := make(map[string]any, n)
	list := true
	for i := 0; i < n; i++ {
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		key := fmt.Sprint(k)
		if ki, ok := k.(int64); !ok || ki != int64(i) {
			list = false
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	if err := p.expect('}'); err != nil {
		return nil, err
	}
	if list && n > 0 {
		out := make([]any, n)
		for i := 0; i < n; i++ {
			out[i] = m[strconv.Itoa(i)]
		}
		return out, nil
	}
	return m, nil
}
