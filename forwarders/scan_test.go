package forwarders

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

var scanSeeds = []string{
	`{}`, ` {"id":"a"} `, `{"id":"a","id":"b"}`, `{"id":"a","id":5}`, `{"id":null}`, `{"id":"\u0061"}`,
	`{"i\u0064":"x"}`, `{"id":"a","object":{"id":"b"}}`, `{"version":"1.0.3"}`, `{"version":"1.0."}`, `{"version":"1.0"}`,
	`{"version":"2.0.0"}`, `{"version":null}`, `{"version":1}`, `{"version":"1\u002e0.1"}`, `{"version":"1.0.3","version":"2.0.0"}`, `{"version":"2.0.0","version":"1.0.3"}`, `{"version":"2.0.0", "a":1}`, `{"a":1,"version" : null }`,
	`{"version":{"a":"2.0.0"}}`, `{"version":[]}`, `{"version":true}`,
	`{"context":{"contextAgents":[]}}`, `{"context":{"contextGroups":[],"language":"en"}}`, `{"context":null}`, `{"context":[1]}`,
	`{"context":{"context\u0041gents":[]}}`, `{"context":{"extensions":{"x":"contextAgents"}}}`,
	`{"object":{"objectType":"SubStatement","context":{"contextGroups":[]}}}`,
	`{"object":{"objectType":"Activity","context":{"contextGroups":[]}}}`,
	`{"contextAgents":1}`, `{"a":[1,2,{"b":[true,false,null]}],"c":-0.5e+10,"d":"\"\\\/\b\f\n\r\t\u00e9"}`,
	`{"a":"<&>é\u2028"}`, "{\"a\":\"\xff\xfe\"}", "{\"a\":\"\x01\"}", `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`,
	`{"a":1,}`, `{"a":[1,]}`, `{"a" 1}`, `{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":1}}`, `{"a":1} x`, `[{"id":"a"}]`,
	`"x"`, ``, ` `, `{`, `{"a":{"b":{"c":{}}}}`, "\t{\r\n\"id\" :\t\"a\" }\n", `{"a":[]}`, `{"a":[ ]}`, `{"a":{ }}`,
	`{"id":"a","version":"1.0.0","context":{"registration":"x","contextActivities":{"parent":[{"id":"http://x"}]}}}`,
}

// checkScan compares prepare (which scans first) with prepareDecoded, and
// checkObject with its decoding version, for one input.
func checkScan(t *testing.T, raw []byte) {
	t.Helper()
	info, ok := scanStatement(raw)
	if ok {
		if !json.Valid(raw) || !strings.HasPrefix(strings.TrimLeft(string(raw), " \t\r\n"), "{") {
			t.Fatalf("scan accepted %q, which is not a JSON object", raw)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("scan accepted %q: %v", raw, err)
		}
		var id string
		if v, ok := m["id"]; ok {
			_ = json.Unmarshal(v, &id)
		}
		if id != info.id {
			t.Fatalf("scan of %q: id %q, want %q", raw, info.id, id)
		}
	}
	for _, v := range []string{Version103, Version200} {
		x := &XAPI{version: v}
		b1, id1, err1 := x.prepare(raw)
		b2, id2, err2 := x.prepareDecoded(raw)
		if !sameJSON(b1, b2) || id1 != id2 || (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
			t.Fatalf("%s prepare(%q) = %q, %q, %v; decoding: %q, %q, %v", v, raw, b1, id1, err1, b2, id2, err2)
		}
	}
}

// sameJSON reports whether a and b are the same bytes or decode to the same
// value (the decoding path re-encodes a statement it changes: keys sorted,
// no whitespace).
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func TestScanMatchesDecoding(t *testing.T) {
	for _, s := range scanSeeds {
		checkScan(t, []byte(s))
	}
	// Deep nesting goes to the decoder.
	deep := strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)
	if _, ok := scanStatement([]byte(deep)); ok {
		t.Error("deep nesting accepted by the scan")
	}
	checkScan(t, []byte(deep))
	// Random mutations of the seeds: drop, duplicate or replace a byte.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[]":,\ u0123456789.eE+-tfnrlasidvxcoAG` + "\x00\x1f\x7f\xff")
	for n := 0; n < 200000; n++ {
		b := []byte(scanSeeds[r.IntN(len(scanSeeds))])
		for k := r.IntN(3) + 1; k > 0 && len(b) > 0; k-- {
			i := r.IntN(len(b))
			switch r.IntN(3) {
			case 0:
				b = append(b[:i:i], b[i+1:]...)
			case 1:
				b = append(b[:i+1:i+1], b[i:]...)
			default:
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		checkScan(t, b)
	}
}

func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkScan(t, raw) })
}

func BenchmarkPrepare(b *testing.B) {
	stmt := []byte(`{"id":"2f0e5c3a-8b11-4a1e-9d3e-6fbd6c3e1f4b","actor":{"objectType":"Agent","name":"Learner 7","account":{"homePage":"https://moodle.example.org","name":"7"}},` +
		`"verb":{"id":"http://adlnet.gov/expapi/verbs/completed","display":{"en":"completed"}},"object":{"id":"https://moodle.example.org/mod/quiz/view.php?id=3","objectType":"Activity",` +
		`"definition":{"type":"http://adlnet.gov/expapi/activities/assessment","name":{"en":"Unit quiz: safeguarding in practice"},"description":{"en":"A twenty-question quiz on the safeguarding policy, its reporting lines and the escalation steps for volunteers and staff."}}},` +
		`"result":{"score":{"raw":17,"min":0,"max":20,"scaled":0.85},"success":true,"completion":true,"duration":"PT14M32S"},"context":{"registration":"6fbd6c3e-1f4b-4a1e-9d3e-2f0e5c3a8b11","platform":"Moodle","language":"en",` +
		`"contextActivities":{"grouping":[{"id":"https://moodle.example.org/course/view.php?id=12","objectType":"Activity","definition":{"type":"http://id.tincanapi.com/activitytype/lms/course","name":{"en":"Volunteer induction"}}}],` +
		`"category":[{"id":"http://moodle.org","objectType":"Activity","definition":{"type":"http://id.tincanapi.com/activitytype/source","name":{"en":"Moodle"}}}]},` +
		`"extensions":{"http://lrs.learninglocker.net/define/extensions/info":{"http://moodle.org":"4.5.6","event_name":"\\mod_quiz\\event\\attempt_submitted","event_function":"attempt_submitted"}}},` +
		`"timestamp":"2026-11-24T10:00:00Z","stored":"2026-11-24T10:00:00.123Z","version":"2.0.0","authority":{"objectType":"Agent","account":{"homePage":"http://bench","name":"bench"}}}`)
	for _, v := range []string{Version200, Version103} {
		x := &XAPI{version: v}
		b.Run("scan/"+v, func(b *testing.B) {
			b.SetBytes(int64(len(stmt)))
			for b.Loop() {
				x.prepare(stmt)
			}
		})
		b.Run("decode/"+v, func(b *testing.B) {
			b.SetBytes(int64(len(stmt)))
			for b.Loop() {
				x.prepareDecoded(stmt)
			}
		})
	}
}
