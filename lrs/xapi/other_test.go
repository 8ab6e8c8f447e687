package xapi

import (
	"errors"
	"sort"
	"testing"
	"time"
)

func TestParseVersionHeader(t *testing.T) {
	for in, want := range map[string]Version{"1.0": V103, "1.0.0": V103, "1.0.1": V103, "1.0.2": V103, "1.0.3": V103, "2.0": V200, "2.0.0": V200} {
		if got, err := ParseVersionHeader(in); err != nil || got != want {
			t.Errorf("%q: got %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0.9", "1.1", "1.0.4", "2.0.1", "2", "abc"} {
		if _, err := ParseVersionHeader(in); err == nil {
			t.Errorf("%q: expected error", in)
		}
	}
}

func TestDecodeStatements(t *testing.T) {
	s, arr, err := DecodeStatements([]byte(baseStatement))
	if err != nil || arr || len(s) != 1 {
		t.Fatalf("single: %v %v %v", s, arr, err)
	}
	s, arr, err = DecodeStatements([]byte(`[` + baseStatement + `,` + baseStatement + `]`))
	if err != nil || !arr || len(s) != 2 {
		t.Fatalf("array: %v %v", arr, err)
	}
	s, arr, err = DecodeStatements([]byte(` [ ] `))
	if err != nil || !arr || s == nil || len(s) != 0 {
		t.Fatalf("empty: %v %v %v", s, arr, err)
	}
	cases := map[string]string{
		`[{"a":1}, 5]`:                    "[1]",
		`{"actor": {"a": 1, "a": 2}}`:     "actor.a",
		`[{}, {"x": [{"k": 1, "k": 1}]}]`: "[1].x[0].k",
		`{"a": 1} {"b": 2}`:               "",
		`{"a": 1`:                         "",
		`"str"`:                           "",
		``:                                "",
	}
	for in, path := range cases {
		_, _, err := DecodeStatements([]byte(in))
		var xe *Error
		if !errors.As(err, &xe) {
			t.Errorf("%q: want *Error, got %v", in, err)
			continue
		}
		if xe.Path != path {
			t.Errorf("%q: path %q want %q (%v)", in, xe.Path, path, err)
		}
	}
	v, _ := DecodeJSON([]byte(`{"n": 1.50}`))
	if got := toJSON(t, v); got != `{"n":1.50}` {
		t.Errorf("number not preserved: %s", got)
	}
}

func TestAgentKey(t *testing.T) {
	cases := map[string]string{
		`{"mbox": "mailto:Ada@Example.com"}`:                                            "mbox::mailto:Ada@Example.com",
		`{"mbox_sha1sum": "CD9B00A5611F94EAA7B1661EDAB976068E364975"}`:                  "mbox_sha1sum::cd9b00a5611f94eaa7b1661edab976068e364975",
		`{"openid": "http://openid.example.org/1"}`:                                     "openid::http://openid.example.org/1",
		`{"objectType": "Group", "account": {"homePage": "http://e.com", "name": "n"}}`: "account::http://e.com::n",
	}
	for in, want := range cases {
		if got, ok := AgentKey(mustDecode(t, in)); !ok || got != want {
			t.Errorf("%s: %q %v", in, got, ok)
		}
	}
	if _, ok := AgentKey(mustDecode(t, `{"objectType": "Group", "member": []}`)); ok {
		t.Error("anonymous group has a key")
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

func eqList(a, b []string) bool {
	a, b = sorted(a), sorted(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestExtractRefs(t *testing.T) {
	r := ExtractRefs(mustDecode(t, complexStatement))
	if !eqList(r.Agents, []string{"mbox::mailto:team@example.com"}) {
		t.Errorf("Agents %v", r.Agents)
	}
	wantRel := []string{"mbox::mailto:team@example.com", "mbox_sha1sum::cd9b00a5611f94eaa7b1661edab976068e364975",
		"openid::http://openid.example.org/12345", "account::http://www.example.com::teacher", "mbox::mailto:a@example.com",
		"account::http://example.com/xAPI/OAuth/Token::oauth_consumer_x75db", "mbox::mailto:bob@example.com"}
	if !eqList(r.RelatedAgents, wantRel) {
		t.Errorf("RelatedAgents %v", r.RelatedAgents)
	}
	if !eqList(r.Activities, []string{"http://example.com/q/1"}) {
		t.Errorf("Activities %v", r.Activities)
	}
	if !eqList(r.RelatedActivities, []string{"http://example.com/q/1", "http://example.com/quiz", "http://example.com/course", "http://example.com/profile"}) {
		t.Errorf("RelatedActivities %v", r.RelatedActivities)
	}
	if r.Verb != "http://adlnet.gov/expapi/verbs/answered" || r.Registration != "ec531277-b57b-4c15-8d91-d292c5b2b8f7" || r.StatementRef != "" || r.Voiding {
		t.Errorf("%+v", r)
	}
	// SubStatement
	s := sub(t, `{"actor": {"mbox": "mailto:inner@example.com"}, "object": {"id": "http://e.com/inner"}, "context": {"registration": "EC531277-B57B-4C15-8D91-D292C5B2B8F7", "contextActivities": {"parent": {"id": "http://e.com/p"}}}}`)
	r = ExtractRefs(s)
	if len(r.Activities) != 0 || !eqList(r.RelatedActivities, []string{"http://e.com/inner", "http://e.com/p"}) {
		t.Errorf("sub activities %v %v", r.Activities, r.RelatedActivities)
	}
	if !eqList(r.Agents, []string{"mbox::mailto:ada@example.com"}) || !eqList(r.RelatedAgents, []string{"mbox::mailto:ada@example.com", "mbox::mailto:inner@example.com"}) {
		t.Errorf("sub agents %v %v", r.Agents, r.RelatedAgents)
	}
	if r.Registration != "" {
		t.Errorf("registration from substatement: %q", r.Registration)
	}
	// voiding + 2.0 context agents
	r = ExtractRefs(stmt(t, `{"verb": {"id": "http://adlnet.gov/expapi/verbs/voided"}, "object": {"objectType": "StatementRef", "id": "8F87CCDE-BB56-4C2E-AB83-44982EF22DF0"}}`))
	if !r.Voiding || r.StatementRef != "8f87ccde-bb56-4c2e-ab83-44982ef22df0" || len(r.Activities) != 0 {
		t.Errorf("voiding %+v", r)
	}
	r = ExtractRefs(mustDecode(t, v2Statement))
	if !eqList(r.RelatedAgents, []string{"mbox::mailto:coach@example.com", "mbox::mailto:player-1@example.com", "mbox::mailto:player-2@example.com", "mbox::mailto:team-1@example.com", "mbox::mailto:p3@example.com"}) {
		t.Errorf("v2 related %v", r.RelatedAgents)
	}
}

func TestFormatIDs(t *testing.T) {
	in := mustDecode(t, complexStatement)
	before := toJSON(t, in)
	out := FormatIDs(in)
	if toJSON(t, in) != before {
		t.Fatal("input mutated")
	}
	want := map[string]string{
		"actor":     `{"mbox":"mailto:team@example.com","objectType":"Group"}`,
		"verb":      `{"id":"http://adlnet.gov/expapi/verbs/answered"}`,
		"object":    `{"id":"http://example.com/q/1"}`,
		"authority": `{"member":[{"account":{"homePage":"http://example.com/xAPI/OAuth/Token","name":"oauth_consumer_x75db"}},{"mbox":"mailto:bob@example.com"}],"objectType":"Group"}`,
	}
	for k, w := range want {
		if got := toJSON(t, out[k]); got != w {
			t.Errorf("%s = %s, want %s", k, got, w)
		}
	}
	ctx := out["context"].(map[string]any)
	if got := toJSON(t, ctx["contextActivities"]); got != `{"category":[{"id":"http://example.com/profile"}],"grouping":[{"id":"http://example.com/course"}],"other":[],"parent":[{"id":"http://example.com/quiz"}]}` {
		t.Errorf("contextActivities %s", got)
	}
	if got := toJSON(t, ctx["instructor"]); got != `{"account":{"homePage":"http://www.example.com","name":"teacher"}}` {
		t.Errorf("instructor %s", got)
	}
	if _, ok := out["result"]; !ok {
		t.Error("result dropped")
	}
	subOut := FormatIDs(sub(t, `{"actor": {"name": "Inner", "mbox": "mailto:i@e.com"}}`))
	if got := toJSON(t, subOut["object"].(map[string]any)["actor"]); got != `{"mbox":"mailto:i@e.com"}` {
		t.Errorf("sub actor %s", got)
	}
}

func TestFormatCanonical(t *testing.T) {
	in := mustDecode(t, complexStatement)
	out := FormatCanonical(in, []string{"de-DE", "fr"})
	def := out["object"].(map[string]any)["definition"].(map[string]any)
	if got := toJSON(t, def["description"]); got != `{"de-DE":"Wähle"}` {
		t.Errorf("description %s", got)
	}
	if got := toJSON(t, out["verb"].(map[string]any)["display"]); got != `{"en-US":"answered"}` {
		t.Errorf("verb display fallback %s", got)
	}
	out = FormatCanonical(in, []string{"zh"})
	if got := toJSON(t, out["verb"].(map[string]any)["display"]); got != `{"zh-Hant":"回答"}` {
		t.Errorf("prefix match %s", got)
	}
	out = FormatCanonical(stmt(t, `{"verb": {"id": "http://e.com/v", "display": {"fr": "a", "ja": "b"}}}`), nil)
	if got := toJSON(t, out["verb"].(map[string]any)["display"]); got != `{"fr":"a"}` {
		t.Errorf("any fallback %s", got)
	}
	if toJSON(t, in["verb"].(map[string]any)["display"]) == `{"en-US":"answered"}` {
		t.Error("input mutated")
	}
	// attachments and interaction components
	out = FormatCanonical(stmt(t, `{"object": {"id": "http://e.com/q", "definition": {"interactionType": "choice", "choices": [{"id": "a", "description": {"en-US": "A", "es": "Á"}}]}},
	  "attachments": [{"usageType": "http://e.com/u", "display": {"en-US": "x", "es": "y"}, "contentType": "t", "length": 1, "sha2": "ab"}]}`), []string{"es-ES"})
	if got := toJSON(t, out["attachments"]); got != `[{"contentType":"t","display":{"es":"y"},"length":1,"sha2":"ab","usageType":"http://e.com/u"}]` {
		t.Errorf("attachments %s", got)
	}
	ch := out["object"].(map[string]any)["definition"].(map[string]any)["choices"]
	if got := toJSON(t, ch); got != `[{"description":{"es":"Á"},"id":"a"}]` {
		t.Errorf("choices %s", got)
	}
}

func TestEquivalent(t *testing.T) {
	a := mustDecode(t, complexStatement)
	if !Equivalent(a, a) {
		t.Fatal("not equivalent to itself")
	}
	same := []string{
		`{"id": "__delete__", "stored": "__delete__", "authority": "__delete__", "version": "__delete__", "attachments": "__delete__"}`,
		`{"timestamp": "2013-05-18T04:32:34.804Z"}`,
		`{"timestamp": "__delete__"}`,
		`{"verb": {"id": "http://adlnet.gov/expapi/verbs/answered"}}`,
		`{"object": {"id": "http://example.com/q/1"}}`,
		`{"actor": {"objectType": "Group", "name": "Team", "mbox": "mailto:team@EXAMPLE.com", "member": [{"objectType": "Agent", "openid": "http://openid.example.org/12345"}, {"name": "Bob", "mbox_sha1sum": "CD9B00A5611F94EAA7B1661EDAB976068E364975"}]}}`,
		`{"result": {"score": {"scaled": 0.950, "raw": 95.0, "min": 0, "max": 100}, "success": true, "completion": true, "response": "golf", "duration": "PT1H0M0.1099S", "extensions": {"http://example.com/ext/r": 1}}}`,
	}
	for _, p := range same {
		b := mustDecode(t, complexStatement)
		for k, v := range mustDecode(t, p) {
			if v == "__delete__" {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		if !Equivalent(a, b) || !Equivalent(b, a) {
			t.Errorf("expected equivalent after %s", p)
		}
	}
	// contextActivities: single object vs array, order, registration case
	c1 := stmt(t, `{"context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7", "contextActivities": {"parent": {"id": "http://e.com/p"}, "other": [{"id": "http://e.com/a"}, {"id": "http://e.com/b"}]}}}`)
	c2 := stmt(t, `{"context": {"registration": "EC531277-B57B-4C15-8D91-D292C5B2B8F7", "contextActivities": {"parent": [{"id": "http://e.com/p", "definition": {"name": {"en": "P"}}}], "other": [{"id": "http://e.com/b"}, {"id": "http://e.com/a"}]}}}`)
	if !Equivalent(c1, c2) {
		t.Error("context variants should be equivalent")
	}
	diff := []string{
		`{"actor": {"mbox": "mailto:other@example.com"}}`,
		`{"verb": {"id": "http://adlnet.gov/expapi/verbs/passed"}}`,
		`{"object": {"id": "http://example.com/q/2"}}`,
		`{"timestamp": "2013-05-18T05:32:35.804+01:00"}`,
		`{"result": {"success": false}}`,
		`{"context": "__delete__"}`,
		`{"result": {"score": {"scaled": 0.95, "raw": 95, "min": 0, "max": 100}, "success": true, "completion": true, "response": "golf", "duration": "PT1H0M0.2S", "extensions": {"http://example.com/ext/r": 1}}}`,
	}
	for _, p := range diff {
		b := mustDecode(t, complexStatement)
		for k, v := range mustDecode(t, p) {
			if v == "__delete__" {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		if Equivalent(a, b) || Equivalent(b, a) {
			t.Errorf("expected different after %s", p)
		}
	}
	ctx := stmt(t, `{"context": {"contextActivities": {"other": [{"id": "http://e.com/a"}]}}}`)
	ctx2 := stmt(t, `{"context": {"contextActivities": {"other": [{"id": "http://e.com/a"}, {"id": "http://e.com/b"}]}}}`)
	if Equivalent(ctx, ctx2) {
		t.Error("different contextActivities equivalent")
	}
}

func TestParseTimestampAndFormat(t *testing.T) {
	ts, err := ParseTimestamp("2023-05-04T12:00:00-05:00")
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatTimestamp(ts); got != "2023-05-04T17:00:00.000Z" {
		t.Error(got)
	}
	ts, err = ParseTimestamp("2026-11-24T06:49:21.123456789Z")
	if err != nil || FormatTimestamp(ts) != "2026-11-24T06:49:21.123Z" || ts.Nanosecond() != 123456789 {
		t.Error(ts, err)
	}
	for _, bad := range []string{"2015-02-29T00:00:00Z", "2008-09-15", "2008-09-15T15:53Z", "2008-09-15T15:53:00.Z", "2008-09-15T15:53:00+25:00", "2008-09-15T15:53:00Zjunk", "20080915 155300Z"} {
		if _, err := ParseTimestamp(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseTimestamp("2016-02-29T00:00:00+0100"); err != nil {
		t.Error(err)
	}
	_ = time.UTC
}

func TestParseLanguageTag(t *testing.T) {
	good := []string{"en", "en-US", "de-DE", "zh-Hant", "sr-Latn-RS", "cmn", "ase", "es-419", "zh-Hans-CN", "de-CH-1901", "x-klingon", "i-klingon", "en-a-bbb-x-a-ccc", "zh-yue-HK", "tlh"}
	bad := []string{"", "a12345", "a12345678", "something", "en-", "-en", "zh-z-aaa-z-bbb-c-ccc", "en-US-x", "e", "en_US", "de-DE-1901-1901", "en-a"}
	for _, g := range good {
		if !ParseLanguageTag(g) {
			t.Errorf("%q rejected", g)
		}
	}
	for _, b := range bad {
		if ParseLanguageTag(b) {
			t.Errorf("%q accepted", b)
		}
	}
}

func TestIsUUIDAndNormalize(t *testing.T) {
	if !IsUUID("6690e6c9-3ef0-4ed3-8b37-7f3964730bee") || IsUUID("6690e6c93ef04ed38b377f3964730bee") || IsUUID("6690e6c9-3ef0-4ed3-8b37-7f3964730beg") {
		t.Error("IsUUID")
	}
	s := sub(t, `{"context": {"contextActivities": {"parent": {"id": "http://e.com/p"}}}}`)
	s["context"] = mustDecode(t, `{"contextActivities": {"grouping": {"id": "http://e.com/g"}, "other": [{"id": "http://e.com/o"}]}}`)
	Normalize(s)
	if got := toJSON(t, s["context"]); got != `{"contextActivities":{"grouping":[{"id":"http://e.com/g"}],"other":[{"id":"http://e.com/o"}]}}` {
		t.Error(got)
	}
	if got := toJSON(t, s["object"].(map[string]any)["context"]); got != `{"contextActivities":{"parent":[{"id":"http://e.com/p"}]}}` {
		t.Error(got)
	}
}
