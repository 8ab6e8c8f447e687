package xapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzValidateStatement decodes arbitrary bodies and runs every exported
// operation on them. Statements that validate must survive a JSON round trip,
// still validate and be Equivalent to themselves.
func FuzzValidateStatement(f *testing.F) {
	f.Add([]byte(baseStatement))
	f.Add([]byte(complexStatement))
	f.Add([]byte(subStatementObject))
	f.Add([]byte(v2Statement))
	f.Add([]byte(`[` + baseStatement + `,` + v2Statement + `]`))
	f.Add([]byte(`{"actor":{"objectType":"Group","member":[{"mbox":"mailto:a@b.c"}]},"verb":{"id":"http://adlnet.gov/expapi/verbs/voided"},"object":{"objectType":"StatementRef","id":"8f87ccde-bb56-4c2e-ab83-44982ef22df0"},"result":{"duration":"P4W"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		stmts, _, err := DecodeStatements(data)
		if err != nil {
			return
		}
		for _, s := range stmts {
			for _, v := range []Version{V103, V200} {
				verr := ValidateStatement(s, v)
				ExtractRefs(s)
				FormatIDs(s)
				FormatCanonical(s, []string{"en-US", "*"})
				Equivalent(s, s)
				if verr != nil {
					continue
				}
				if !Equivalent(s, s) {
					t.Fatalf("valid statement not equivalent to itself: %s", data)
				}
				b, err := json.Marshal(s)
				if err != nil {
					t.Fatalf("marshal: %v", err)
				}
				again, isArr, err := DecodeStatements(b)
				if err != nil || isArr || len(again) != 1 {
					t.Fatalf("round trip decode: %v", err)
				}
				if err := ValidateStatement(again[0], v); err != nil {
					t.Fatalf("round trip no longer valid: %v\n%s", err, b)
				}
				if !Equivalent(s, again[0]) || !Equivalent(again[0], again[0]) {
					t.Fatalf("round trip not equivalent: %s", b)
				}
			}
		}
	})
}

// FuzzDecodeJSON checks the fast decoding path against the token-by-token
// one: the same value, or an error from both.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,2,{"c":"d"}]}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`, `[{"x":"\u0061"},{"x":1}]`,
		`{"\u0061":1,"a":2}`, `{"a":"\"","b":"\\"}`, `{"a":1} x`, `[1,2`, `{"k":[{"k":1},{"k":2}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, errFast := DecodeJSON(data)
		slow, errSlow := decodeSlow(data)
		if (errFast == nil) != (errSlow == nil) {
			t.Fatalf("fast err %v, slow err %v for %q", errFast, errSlow, data)
		}
		if errFast == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast %v, slow %v for %q", fast, slow, data)
		}
	})
}
