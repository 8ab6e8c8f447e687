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
// trailing data after the value, duplicate keys in any object (compared
// after unescaping) and nesting deeper than maxDepth.
//
// Documents are read in one pass by decodeFast. Anything it refuses takes
// the token-by-token path, which names the problem and where it is.
func DecodeJSON(data []byte) (any, error) {
	if v, err := decodeFast(data); err == nil {
		return v, nil
	}
	return decodeSlow(data)
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
