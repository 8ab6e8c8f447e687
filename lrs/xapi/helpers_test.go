package xapi

import (
	"encoding/json"
	"testing"
)

const baseStatement = `{
  "actor": {"objectType": "Agent", "name": "Ada", "mbox": "mailto:ada@example.com"},
  "verb": {"id": "http://adlnet.gov/expapi/verbs/attended", "display": {"en-US": "attended", "en-GB": "attended"}},
  "object": {"objectType": "Activity", "id": "http://www.example.com/meetings/occurances/34534"}
}`

// mustDecode decodes JSON or fails the test.
func mustDecode(t testing.TB, s string) map[string]any {
	t.Helper()
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("not an object: %s", s)
	}
	return m
}

// stmt returns the base statement with top-level properties replaced by those
// in patch; a patch value of the string "__delete__" removes the property.
func stmt(t testing.TB, patch string) map[string]any {
	t.Helper()
	s := mustDecode(t, baseStatement)
	if patch == "" {
		return s
	}
	for k, v := range mustDecode(t, patch) {
		if v == "__delete__" {
			delete(s, k)
		} else {
			s[k] = v
		}
	}
	return s
}

// sub wraps a SubStatement patch as the object of the base statement.
func sub(t testing.TB, patch string) map[string]any {
	t.Helper()
	ss := stmt(t, patch)
	ss["objectType"] = "SubStatement"
	s := stmt(t, "")
	s["object"] = ss
	return s
}

func toJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
