package xapi

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// stdEncode is what Marshal must match: json.Marshal, or an Encoder with
// HTML escaping off.
func stdEncode(v any, escapeHTML bool) ([]byte, error) {
	if escapeHTML {
		return json.Marshal(v)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), err
}

func checkSameEncoding(t *testing.T, v any) {
	t.Helper()
	for _, html := range []bool{true, false} {
		want, werr := stdEncode(v, html)
		got, gerr := AppendJSON(nil, v, html)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("escapeHTML=%v %#v: error %v, encoding/json error %v", html, v, gerr, werr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("escapeHTML=%v %#v:\n got %s\nwant %s", html, v, got, want)
		}
	}
}

func TestMarshalMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, "", "plain", `quote " backslash \ slash /`, "<a href='x'>&amp;</a>",
		"\x00\x01\b\f\n\r\t\x1f\x7f", "caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff\xfe utf8 \xc3",
		json.Number("0"), json.Number("-12.5e+10"), json.Number("1E-7"), json.Number(""), json.Number("01"), json.Number("1."), json.Number("abc"),
		0.0, math.Copysign(0, -1), 1.0, -1.5, 1e-6, 9.99e-7, 1e21, 1e20, 123456789.123, 1e-9, -3e-10, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Inf(1), math.NaN(), 42, int64(-7),
		map[string]any{}, []any{}, map[string]any(nil), []any(nil),
		map[string]any{"b": 1.0, "a": []any{"x", map[string]any{"z": nil, "<": "&"}}, "\u00e9": true, "A": json.Number("3")},
		map[string]string{"typed": "map"}, []string{"typed", "slice"}, []map[string]any{{"k": "v"}}, float32(0.1), uint8(3),
		json.RawMessage(`{"raw" : 1}`),
	}
	for _, v := range values {
		checkSameEncoding(t, v)
	}
	deep := any("leaf")
	for i := 0; i < 200; i++ {
		deep = map[string]any{strings.Repeat("k", i%5): deep, "n": []any{i}}
		if i%50 == 0 {
			checkSameEncoding(t, deep)
		}
	}
}

// FuzzMarshal decodes arbitrary JSON as the LRS does and checks that
// Marshal encodes it byte for byte as encoding/json does.
func FuzzMarshal(f *testing.F) {
	for _, s := range []string{baseStatement, complexStatement, v2Statement, `{"a":"<&>\u2028","b":[1,2.50,-0e3,1E400]}`, `"\ud800"`, `[null,true,{"":""}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeJSON(data)
		if err != nil {
			return
		}
		checkSameEncoding(t, v)
		// And as float64 numbers, as the Moodle mappings build them.
		var f any
		if json.Unmarshal(data, &f) == nil {
			checkSameEncoding(t, f)
		}
	})
}
