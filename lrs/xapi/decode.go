package xapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// maxDepth bounds the nesting of decoded documents.
const maxDepth = 200

// DecodeJSON decodes a JSON document with json.Number numbers. It rejects
// trailing data after the value and duplicate keys in any object.
//
// The common case (well-formed, no duplicate keys, not too deep) takes a
// fast path: one byte scan for duplicate keys and depth, then the standard
// decoder. Anything else takes the token-by-token path, which names the
// problem and where it is.
func DecodeJSON(data []byte) (any, error) {
	if plainJSON(data) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			if _, err := dec.Token(); err == io.EOF {
				return v, nil
			}
		}
	}
	return decodeSlow(data)
}

// plainJSON reports whether a scan of data finds neither a duplicate key
// in an object nor nesting deeper than maxDepth, and no escaped key (whose
// duplicates a byte comparison could miss). It does not check syntax: the
// decoder that follows does.
func plainJSON(data []byte) bool {
	type frame struct {
		object bool
		keys   map[string]struct{}
		key    bool // the next string in this object is a key
	}
	stack := make([]frame, 0, 16)
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '{', '[':
			if len(stack) >= maxDepth {
				return false
			}
			stack = append(stack, frame{object: c == '{', key: c == '{'})
		case '}', ']':
			if len(stack) == 0 {
				return false
			}
			stack = stack[:len(stack)-1]
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].key = true
			}
		case '"':
			start := i + 1
			escaped := false
			for i++; i < len(data) && data[i] != '"'; i++ {
				if data[i] == '\\' {
					escaped = true
					i++
				}
			}
			if i >= len(data) {
				return false
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].key {
				if escaped {
					return false
				}
				f := &stack[n-1]
				if f.keys == nil {
					f.keys = make(map[string]struct{}, 8)
				}
				k := string(data[start:i])
				if _, dup := f.keys[k]; dup {
					return false
				}
				f.keys[k] = struct{}{}
				f.key = false
			}
		}
	}
	return len(stack) == 0
}

// decodeSlow decodes token by token, naming duplicate keys and malformed
// input with their path.
func decodeSlow(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, "", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &Error{Msg: "malformed JSON: unexpected data after the top-level value"}
	}
	return v, nil
}

func malformed(err error) *Error {
	if errors.Is(err, io.EOF) {
		return &Error{Msg: "malformed JSON: unexpected end of input"}
	}
	return &Error{Msg: "malformed JSON: " + err.Error()}
}

func decodeValue(dec *json.Decoder, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, &Error{Path: path, Msg: "malformed JSON: nesting too deep"}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, malformed(err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, &Error{Path: path, Msg: "malformed JSON: object key is not a string"}
				}
				kp := join(path, k)
				if _, dup := m[k]; dup {
					return nil, &Error{Path: kp, Msg: "duplicate key in JSON object"}
				}
				v, err := decodeValue(dec, kp, depth+1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, malformed(err)
			}
			return m, nil
		case '[':
			a := []any{}
			for i := 0; dec.More(); i++ {
				v, err := decodeValue(dec, index(path, i), depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, malformed(err)
			}
			return a, nil
		}
		return nil, &Error{Path: path, Msg: "malformed JSON: unexpected delimiter"}
	default:
		return t, nil
	}
}

// DecodeStatements decodes a POST/PUT body that is either one statement object
// or an array of statement objects. It returns the statements and whether the
// body was an array. An empty array yields an empty slice.
func DecodeStatements(data []byte) (stmts []map[string]any, isArray bool, err error) {
	v, err := DecodeJSON(data)
	if err != nil {
		return nil, false, err
	}
	switch t := v.(type) {
	case map[string]any:
		return []map[string]any{t}, false, nil
	case []any:
		stmts = make([]map[string]any, 0, len(t))
		for i, e := range t {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, true, &Error{Path: index("", i), Msg: "must be a statement object"}
			}
			stmts = append(stmts, m)
		}
		return stmts, true, nil
	}
	return nil, false, &Error{Msg: "request body must be a statement object or an array of statements"}
}
