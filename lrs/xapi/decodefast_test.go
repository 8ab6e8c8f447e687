package xapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// decodeFastSeeds are inputs on which decodeFast and decodeSlow must agree:
// the FuzzDecodeJSON seeds, statements, and the corners of strings, numbers,
// whitespace, nesting and duplicate keys.
func decodeFastSeeds() []string {
	nest := func(n int, inner string) string {
		return strings.Repeat("[", n) + inner + strings.Repeat("]", n)
	}
	nestObj := func(n int, inner string) string {
		return strings.Repeat(`{"a":`, n) + inner + strings.Repeat("}", n)
	}
	seeds := []string{
		// FuzzDecodeJSON's seeds.
		`{"a":1,"b":[1,2,{"c":"d"}]}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`, `[{"x":"\u0061"},{"x":1}]`,
		`{"\u0061":1,"a":2}`, `{"a":"\"","b":"\\"}`, `{"a":1} x`, `[1,2`, `{"k":[{"k":1},{"k":2}]}`,
		// Statements.
		baseStatement, complexStatement, subStatementObject, v2Statement,
		`[` + baseStatement + `,` + v2Statement + `]`, `[` + complexStatement + `]`,
		// Escapes and surrogates.
		`"\"\\\/\b\f\n\r\t"`, `"\u0000\u001f\u007f\u00e9\u20ac\uFFFD\uffff"`, `"a\'b"`, `"\x"`, `"\u12"`, `"\u12g4"`, `"\`, `"\u`,
		`"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\ud83d"`, `"\ude00"`, `"\ude00\ud83d"`, `"\ud83d\ud83d\ude00"`,
		`"\ud83dx"`, `"\ud83d\n"`, `"\ud83d\u0041"`, `"\ud83d\u"`, `"\ud83d\uzzzz"`, `"\ud83d\ude0"`, `"\udbff\udfff"`, `"\ud800\udc00"`,
		// Raw bytes in strings: UTF-8, invalid UTF-8, control characters.
		`"héllo wörld €😀"`, "\"\xff\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\"", "\"\xe2\x82\"",
		"\"\xef\xbf\xbd\"", "\"\x7f\"", "\"a\tb\"", "\"a\nb\"", "\"\x00\"", "\"\x1f\"", "\"\xff\\n\"", "\"\\n\xff\"",
		`{"ä":1,"a":2}`, "{\"\xff\":1,\"\xfe\":2}", "{\"\xff\":1,\"\\ufffd\":2}", `{"\ud800":1,"\udc00":2}`,
		// Duplicate keys, spelled the same or differently.
		`{"a":1,"\u0061":2}`, `{"\u0061":1,"\u0061":2}`, `{"a\/b":1,"a/b":2}`, `{"":1,"":2}`, `{"a":1,"b":2,"c":3,"a":4}`,
		`{"a":1,"A":2}`, `{"a":{"a":{"a":1}},"b":{"a":1}}`, `[{"a":1},{"a":1}]`, `{"a":[],"a":{}}`,
		`{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k1":18}`,
		// Numbers.
		`0`, `-0`, `-0.0`, `1e5`, `1E+5`, `1e-5`, `1E5`, `01`, `-01`, `1.`, `.5`, `-`, `+1`, `1e`, `1e+`, `1.5e`, `0x10`,
		`1e999999999999`, `-1e-999999999999`, `123456789012345678901234567890`, `1.0000000000000000000001`, `[1,-0,2.50,3e2]`,
		`-a`, `1.e5`, `Infinity`, `NaN`, `0.`, `00`, `-00`, `1.5.5`, `1e5e5`, `{"n":-0}`, `[01]`, `{"a":1.}`,
		// Literals.
		`true`, `false`, `null`, `tru`, `nul`, `True`, `truex`, `[true,false,null]`, `truefalse`, `nulll`,
		// Whitespace and structure.
		"", " ", "\t\n\r ", " {} ", "\t[\n1\r,\r\n2 ]\n", "\f{}", "\v1", "\u00a0{}", "\xef\xbb\xbf{}", "{ \"a\" : 1 , \"b\" : [ ] }",
		`{}`, `[]`, `[[]]`, `{"a":{}}`, `""`, `{"a":1,}`, `[1,]`, `[,1]`, `{,"a":1}`, `{"a" 1}`, `{"a"::1}`, `{"a":}`, `{1:2}`,
		`{"a":1]`, `[1}`, `]`, `}`, `[`, `{`, `{"a"`, `{"a":`, `{"a":1`, `[1 2]`, `{"a":1 "b":2}`, `[1,,2]`, `{"a":1,,"b":2}`,
		`1 2`, `{} {}`, `{}x`, `[],`, `"a""b"`, `[1"a"]`, `{'a':1}`, `[1]]`, `{"a":1}}`, `[[1],[2],[3]]`, `{"a":null}`,
		// Nesting at and past the limit: the top-level value is depth 0.
		nest(maxDepth, ""), nest(maxDepth+1, ""), nest(maxDepth+2, ""), nest(maxDepth, "1"), nest(maxDepth+1, "1"),
		nest(maxDepth, "{}"), nest(maxDepth, `{"a":1}`), nestObj(maxDepth, "1"), nestObj(maxDepth+1, "1"), nestObj(maxDepth, "{}"),
		nestObj(maxDepth+1, "{}"), nestObj(maxDepth+1, "[]"), nest(maxDepth+1, "") + " x", nest(10000, ""),
	}
	var big strings.Builder
	big.WriteString("[")
	for i := 0; i < 300; i++ {
		if i > 0 {
			big.WriteString(",")
		}
		big.WriteString(`"s`)
		big.WriteString(strings.Repeat("x", i%7))
		big.WriteString(`"`)
	}
	big.WriteString("]")
	seeds = append(seeds, big.String())
	b, _ := json.Marshal(map[string]any{"escaped": "<a href=\"x\">&amp;</a>\u2028\u2029\x01"})
	seeds = append(seeds, string(b))
	return seeds
}

func checkDecodeFast(t *testing.T, data []byte) {
	t.Helper()
	fast, errFast := decodeFast(data)
	slow, errSlow := decodeSlow(data)
	if (errFast == nil) != (errSlow == nil) {
		t.Fatalf("decodeFast err %v, decodeSlow err %v for %q", errFast, errSlow, data)
	}
	if errFast == nil && !reflect.DeepEqual(fast, slow) {
		t.Fatalf("decodeFast %#v, decodeSlow %#v for %q", fast, slow, data)
	}
	v, err := DecodeJSON(data)
	if (err == nil) != (errSlow == nil) || err != nil && err.Error() != errSlow.Error() {
		t.Fatalf("DecodeJSON err %v, decodeSlow err %v for %q", err, errSlow, data)
	}
	if err == nil && !reflect.DeepEqual(v, slow) {
		t.Fatalf("DecodeJSON %#v, decodeSlow %#v for %q", v, slow, data)
	}
}

func TestDecodeFastAgrees(t *testing.T) {
	for _, s := range decodeFastSeeds() {
		checkDecodeFast(t, []byte(s))
	}
	checkDecodeFast(t, batchBody())

	// Strings that share their length, first and last eight bytes land in
	// the same slot of the intern cache and must still come out apart.
	var b strings.Builder
	b.WriteString(`{"list":[`)
	for i := 0; i < 400; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"abcdefgh%03d12345678","k%d","",{"abcdefgh%03d12345678":%d}`, i%37, i%5, i%11, i)
	}
	b.WriteString(`]}`)
	checkDecodeFast(t, []byte(b.String()))
}

func TestDecodeFastValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{
		{`{"a":[1,-0,"x",true,false,null,{}],"b":[]}`, map[string]any{"a": []any{json.Number("1"), json.Number("-0"), "x", true, false, nil, map[string]any{}}, "b": []any{}}},
		{`"\ud83d\ude00\ud83d\u0041\ude00\ud83d"`, "😀\uFFFDA\uFFFD\uFFFD"},
		{"\"a\xffb\xed\xa0\x80\"", "a\uFFFDb\uFFFD\uFFFD\uFFFD"},
		{`1E+5`, json.Number("1E+5")},
		// maxDepth+1 brackets: the innermost array is at depth maxDepth.
		{strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1), func() any {
			var v any = []any{}
			for i := 0; i < maxDepth; i++ {
				v = []any{v}
			}
			return v
		}()},
	} {
		got, err := decodeFast([]byte(c.in))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("decodeFast(%s) = %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{`{"a":1,"\u0061":2}`, "{\"\xff\":1,\"\\ufffd\":2}", strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2),
		strings.Repeat("[", maxDepth+1) + "1" + strings.Repeat("]", maxDepth+1), `01`, ``} {
		if _, err := decodeFast([]byte(in)); err == nil {
			t.Errorf("decodeFast(%.40q) succeeded", in)
		}
	}
}

// FuzzDecodeFast checks decodeFast against decodeSlow: the same value, or an
// error from both (and DecodeJSON then gives decodeSlow's error).
func FuzzDecodeFast(f *testing.F) {
	for _, s := range decodeFastSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeFast(t, data)
	})
}

// BenchmarkDecodeFastSingle decodes one statement, the common size of a PUT
// or of a statement read back from the store.
func BenchmarkDecodeFastSingle(b *testing.B) {
	for _, c := range []struct{ name, body string }{{"base", baseStatement}, {"complex", complexStatement}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			body := []byte(c.body)
			for i := 0; i < b.N; i++ {
				if _, err := DecodeJSON(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
