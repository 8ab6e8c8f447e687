package rules

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/lrs/xapi"
)

const courseIRI = "https://moodle.example.org/course/view.php?id=42"

// moodleStatement is a realistic statement as emitted by Moodle's
// logstore_xapi plugin (~2 KB of JSON), decoded with json.Number numbers.
const moodleStatement = `{
  "id": "6f1a1c3e-3b0a-4d2e-9a55-0e7d7b3c9f11",
  "actor": {
    "objectType": "Agent",
    "name": "Ada Lovelace",
    "account": {"homePage": "https://moodle.example.org", "name": "1234"}
  },
  "verb": {
    "id": "http://adlnet.gov/expapi/verbs/completed",
    "display": {"en": "completed", "fr-FR": "a terminé"}
  },
  "object": {
    "objectType": "Activity",
    "id": "https://moodle.example.org/mod/quiz/view.php?id=77",
    "definition": {
      "type": "http://adlnet.gov/expapi/activities/assessment",
      "name": {"en": "Week 3 quiz"},
      "description": {"en": "Quiz about analytical engines"},
      "extensions": {"https://moodle.example.org/xapi/extensions/cmid": 77}
    }
  },
  "result": {
    "success": true,
    "completion": true,
    "score": {"scaled": 0.85, "raw": 17, "min": 0, "max": 20},
    "duration": "PT12M30S",
    "response": "the analytical engine",
    "extensions": {"http://example.org/attempt": 3}
  },
  "context": {
    "registration": "0b4e8c57-6b41-4b9a-9a3e-3d1c6f0e2a77",
    "platform": "Moodle",
    "language": "en",
    "instructor": {"objectType": "Agent", "name": "Charles Babbage", "mbox": "mailto:charles@example.org"},
    "contextActivities": {
      "parent": [{"id": "https://moodle.example.org/course/section.php?id=9", "objectType": "Activity"}],
      "grouping": [
        {"id": "https://moodle.example.org", "objectType": "Activity",
         "definition": {"type": "http://id.tincanapi.com/activitytype/lms", "name": {"en": "Example Moodle"}}},
        {"id": "` + courseIRI + `", "objectType": "Activity",
         "definition": {"type": "http://id.tincanapi.com/activitytype/lms/course", "name": {"en": "Engines 101"}}}
      ],
      "category": [{"id": "http://moodle.org", "objectType": "Activity",
         "definition": {"type": "http://id.tincanapi.com/activitytype/source", "name": {"en": "Moodle"}}}]
    },
    "extensions": {
      "http://lrs.learninglocker.net/define/extensions/info": {
        "https://moodle.org": "4.3", "https://github.com/xAPI-vle/moodle-logstore_xapi": "v4.7.0",
        "event_name": "\\mod_quiz\\event\\attempt_submitted", "event_function": "attempt_submitted"
      },
      "https://moodle.example.org/xapi/extensions/attempts": 3
    }
  },
  "timestamp": "2025-03-14T09:26:53.589Z",
  "stored": "2025-03-14T09:26:54.001Z",
  "authority": {"objectType": "Agent", "name": "moodle", "mbox": "mailto:moodle@example.org"},
  "version": "1.0.3"
}`

func statement(t testing.TB) map[string]any {
	t.Helper()
	v, err := xapi.DecodeJSON([]byte(moodleStatement))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

var targets = []string{"archive", "analytics", "webhook"}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules []Rule
		want  []string // substrings of the error
	}{
		{"unknown field", []Rule{{Name: "completions", When: `verb.idd == "x"`, Targets: []string{"archive"}}},
			[]string{`rule "completions"`, "line 1, column 6", "unknown field idd of verb (did you mean id?)"}},
		{"unknown name", []Rule{{Name: "completions", When: `verb.id == "x" && verbb.id == ""`, Targets: []string{"archive"}}},
			[]string{`rule "completions": when: line 1, column 19: unknown name verbb (did you mean verb?)`}},
		{"unknown nested field", []Rule{{Name: "s", When: `result.score.scaledd > 0.5`, Targets: []string{"archive"}}},
			[]string{`rule "s"`, "line 1, column 14", "did you mean scaled?"}},
		{"syntax error", []Rule{{Name: "broken", When: `verb.id == `, Targets: []string{"archive"}}},
			[]string{`rule "broken"`, "line 1, column 11"}},
		{"syntax error second line", []Rule{{Name: "multi", When: "verb.id == \"a\" &&\n  (result.success", Targets: []string{"archive"}}},
			[]string{`rule "multi"`, "line 2, column"}},
		{"non-bool result", []Rule{{Name: "nb", When: `verb.id`, Targets: []string{"archive"}}},
			[]string{`rule "nb"`, "line 1, column 1", "must be a condition", "string"}},
		{"non-bool number", []Rule{{Name: "nb2", When: `  result.score.raw + 1`, Targets: []string{"archive"}}},
			[]string{`rule "nb2"`, "line 1, column 3", "must be a condition"}},
		{"helper wrong type", []Rule{{Name: "h", When: `verbIs(1)`, Targets: []string{"archive"}}},
			[]string{`rule "h"`, "line 1, column 8", "verbIs"}},
		{"duplicate names", []Rule{
			{Name: "a", Targets: []string{"archive"}},
			{Name: "a", Targets: []string{"webhook"}}},
			[]string{`rule "a": duplicate rule name`}},
		{"empty name", []Rule{{Name: " ", Targets: []string{"archive"}}},
			[]string{"rule #1: name is empty"}},
		{"unknown target", []Rule{{Name: "t", Targets: []string{"archiv"}}},
			[]string{`rule "t": unknown target "archiv" (did you mean archive?)`}},
		{"no targets", []Rule{{Name: "nt"}},
			[]string{`rule "nt": no targets`}},
		{"unknown transform root", []Rule{{Name: "tr", Targets: []string{"archive"}, Transform: Transform{Drop: []string{"actr.name"}}}},
			[]string{`rule "tr": transform: "actr.name": unknown statement property "actr" (did you mean actor?)`}},
		{"drop IFI", []Rule{{Name: "ifi", Targets: []string{"archive"}, Transform: Transform{Drop: []string{"actor.mbox"}}}},
			[]string{`rule "ifi"`, `drop "actor.mbox"`, "identifier", "hash"}},
		{"drop account name", []Rule{{Name: "acc", Targets: []string{"archive"}, Transform: Transform{Drop: []string{"actor.account.name"}}}},
			[]string{`rule "acc"`, "account", "hash"}},
		{"drop required", []Rule{{Name: "req", Targets: []string{"archive"}, Transform: Transform{Drop: []string{"verb"}}}},
			[]string{`rule "req"`, `drop "verb"`, "required"}},
		{"hash fixed format", []Rule{{Name: "hf", Targets: []string{"archive"}, Transform: Transform{Hash: []string{"actor.account.homePage"}}}},
			[]string{`rule "hf"`, `hash "actor.account.homePage"`}},
		{"hash top level", []Rule{{Name: "ht", Targets: []string{"archive"}, Transform: Transform{Hash: []string{"id"}}}},
			[]string{`rule "ht"`, `hash "id"`}},
		{"list selector", []Rule{{Name: "ls", Targets: []string{"archive"}, Transform: Transform{Drop: []string{"actor.member[*].name"}}}},
			[]string{`rule "ls"`, "list selectors"}},
		{"salt required", []Rule{{Name: "salt", Targets: []string{"archive"}, Transform: Transform{Hash: []string{"actor.account.name"}}}},
			[]string{`rule "salt"`, "hash salt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			salt := "pepper"
			if tc.name == "salt required" {
				salt = ""
			}
			e, err := Compile(tc.rules, targets, salt)
			if err == nil {
				t.Fatalf("Compile succeeded (%v), want error", e.Rules())
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestCompileReportsAllErrors(t *testing.T) {
	_, err := Compile([]Rule{
		{Name: "a", When: "verbb", Targets: []string{"archive"}},
		{Name: "b", Targets: []string{"nope"}},
	}, targets, "")
	if err == nil || !strings.Contains(err.Error(), `rule "a"`) || !strings.Contains(err.Error(), `rule "b"`) {
		t.Fatalf("err = %v, want both rules reported", err)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name  string
		when  string
		store string // default "moodle"
		edit  func(map[string]any)
		want  bool
	}{
		{"empty when", "", "", nil, true},
		{"verb equality", `verb.id == "http://adlnet.gov/expapi/verbs/completed"`, "", nil, true},
		{"verb inequality", `verb.id == "http://adlnet.gov/expapi/verbs/attempted"`, "", nil, false},
		{"verbIs", `verbIs("completed")`, "", nil, true},
		{"verbIs full IRI", `verbIs("http://adlnet.gov/expapi/verbs/completed")`, "", nil, true},
		{"verbIs partial word", `verbIs("pleted")`, "", nil, false},
		{"verb display", `lang(verb.display, "fr") == "a terminé" && lang(verb.display, "en-GB") == "completed"`, "", nil, true},
		{"activity type", `object.definition.type == "http://adlnet.gov/expapi/activities/assessment"`, "", nil, true},
		{"activityType()", `activityType() endsWith "/assessment"`, "", nil, true},
		{"isActivityType", `isActivityType("assessment") && !isActivityType("course")`, "", nil, true},
		{"object name", `lang(object.definition.name, "en") contains "quiz"`, "", nil, true},
		{"result success and score", `result.success && result.completion && result.score.scaled >= 0.8 && result.score.raw == 17`, "", nil, true},
		{"score below", `result.score.scaled < 0.5`, "", nil, false},
		{"failed", `has("result.success") && !result.success`, "", func(s map[string]any) {
			s["result"].(map[string]any)["success"] = false
		}, true},
		{"no result", `!has("result") && !result.success && result.score.raw == 0`, "", func(s map[string]any) {
			delete(s, "result")
		}, true},
		{"course grouping", `inGrouping("` + courseIRI + `")`, "", nil, true},
		{"other course", `inGrouping("https://moodle.example.org/course/view.php?id=43")`, "", nil, false},
		{"parent", `inParent("https://moodle.example.org/course/section.php?id=9") && !inParent("` + courseIRI + `")`, "", nil, true},
		{"inContext", `inContext("http://moodle.org") && inCategory("http://moodle.org")`, "", nil, true},
		{"grouping via builtins", `"` + courseIRI + `" in map(context.contextActivities.grouping, .id)`, "", nil, true},
		{"grouping type", `any(context.contextActivities.grouping, .definition.type endsWith "/course")`, "", nil, true},
		{"single context activity object", `inGrouping("http://x.org/c")`, "", func(s map[string]any) {
			s["context"].(map[string]any)["contextActivities"].(map[string]any)["grouping"] = map[string]any{"id": "http://x.org/c"}
		}, true},
		{"extension present", `extension(context.extensions, "http://lrs.learninglocker.net/define/extensions/info") != nil`, "", nil, true},
		{"extension nested value", `extension(context.extensions, "http://lrs.learninglocker.net/define/extensions/info")["event_function"] == "attempt_submitted"`, "", nil, true},
		{"extension absent", `extension(context.extensions, "http://example.org/nope") == nil`, "", nil, true},
		{"extension number", `extension(result.extensions, "http://example.org/attempt") > 2 && object.definition.extensions["https://moodle.example.org/xapi/extensions/cmid"] == 77`, "", nil, true},
		{"has extension", `has("context.extensions.http://lrs.learninglocker.net/define/extensions/info")`, "", nil, true},
		{"has in list", `has("context.contextActivities.grouping.definition.type")`, "", nil, true},
		{"platform and store", `context.platform == "Moodle" && store == "moodle"`, "", nil, true},
		{"timestamp after", `timestamp > date("2025-01-01")`, "", nil, true},
		{"timestamp before", `timestamp < date("2025-01-01T00:00:00Z")`, "", nil, false},
		{"timestamp method", `timestamp.Year() == 2025 && stored >= timestamp`, "", nil, true},
		{"timestamp with offset", `timestamp == date("2025-03-14T10:26:53.589+01:00")`, "", nil, true},
		{"actor fields", `actor.account.name == "1234" && actor.key == "account::https://moodle.example.org::1234" && actor.objectType == "Agent"`, "", nil, true},
		{"instructor", `context.instructor.mbox == "mailto:charles@example.org" && authority.name == "moodle"`, "", nil, true},
		{"group member", `actor.objectType == "Group" && any(actor.member, .mbox == "mailto:b@x.org")`, "", func(s map[string]any) {
			s["actor"] = map[string]any{"objectType": "Group", "member": []any{map[string]any{"mbox": "mailto:b@x.org"}}}
		}, true},
		{"agent object", `object.objectType == "Agent" && object.key == "account::https://x.org::7"`, "", func(s map[string]any) {
			s["object"] = map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "https://x.org", "name": "7"}}
		}, true},
		{"statement escape hatch", `statement.result.score.max == 20 && statement.actor.account.homePage startsWith "https://moodle"`, "", nil, true},
		{"statement safe navigation", `(statement?.result?.score?.raw ?? 0) == 0`, "", func(s map[string]any) {
			delete(s, "result")
		}, true},
		{"duration text", `result.duration == "PT12M30S"`, "", nil, true},
		{"matches", `object.id matches "mod/quiz/view\\.php\\?id=\\d+$"`, "", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile([]Rule{{Name: "r", When: tc.when, Targets: []string{"archive"}}}, targets, "")
			if err != nil {
				t.Fatal(err)
			}
			s := statement(t)
			if tc.edit != nil {
				tc.edit(s)
			}
			store := tc.store
			if store == "" {
				store = "moodle"
			}
			got, err := e.Match(store, s)
			if err != nil {
				t.Fatal(err)
			}
			if (len(got) == 1) != tc.want {
				t.Errorf("Match = %v, want match=%v", got, tc.want)
			}
		})
	}
}

func TestMatchRules(t *testing.T) {
	rules := []Rule{
		{Name: "moodle-completions", Stores: []string{"moodle"}, When: `verbIs("completed")`, Targets: []string{"analytics", "personal"}},
		{Name: "other-store", Stores: []string{"h5p"}, Targets: []string{"webhook"}},
		{Name: "broken", When: `statement.nothing.here == 1`, Targets: []string{"webhook"}},
		{Name: "course-42", When: `inGrouping("` + courseIRI + `")`, Targets: []string{"archive", "analytics", "webhook"}},
		{Name: "never", When: `false`, Targets: []string{"archive"}},
	}
	e, err := Compile(rules, targets, "salt")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Rules(), []string{"moodle-completions", "other-store", "broken", "course-42", "never"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Rules() = %v, want %v", got, want)
	}
	tests := []struct {
		name    string
		store   string
		want    []Match
		wantErr string
	}{
		{"store filter, personal, dedupe by target, error isolation", "moodle", []Match{
			{"moodle-completions", "analytics"},
			{"moodle-completions", "personal"},
			{"course-42", "archive"},
			{"course-42", "webhook"},
		}, `rule "broken": when: line 1, column 19`},
		{"other store", "h5p", []Match{
			{"other-store", "webhook"},
			{"course-42", "archive"},
			{"course-42", "analytics"},
		}, `rule "broken"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.Match(tc.store, statement(t))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Match = %v\nwant %v", got, tc.want)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("err = %v, want containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestMatchRuntimeErrorOnlyThatRule(t *testing.T) {
	e, err := Compile([]Rule{
		{Name: "cmp-nil", When: `extension(context.extensions, "http://example.org/none") > 5`, Targets: []string{"webhook"}},
		{Name: "ok", When: `verbIs("completed")`, Targets: []string{"archive"}},
	}, targets, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Match("moodle", statement(t))
	if want := []Match{{"ok", "archive"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Match = %v, want %v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), `rule "cmp-nil"`) {
		t.Errorf("err = %v, want error naming cmp-nil", err)
	}
}

func TestApply(t *testing.T) {
	sha1hex := func(s string) string { h := sha1.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	sha256hex := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	mboxActor := func(s map[string]any) {
		s["actor"] = map[string]any{"name": "Ada Lovelace", "mbox": "mailto:ada@example.org"}
	}
	get := func(s map[string]any, path string) (any, bool) { return lookup(s, splitPath(path)) }
	tests := []struct {
		name  string
		tr    Transform
		check map[string]any // path -> expected value; nil = absent
		edit  func(map[string]any)
	}{
		{"drop name", Transform{Drop: []string{"actor.name"}},
			map[string]any{"actor.name": nil, "actor.account.name": "1234"}, nil},
		{"drop objects", Transform{Drop: []string{"context.instructor", "result.response", "authority"}},
			map[string]any{"context.instructor": nil, "result.response": nil, "authority": nil, "result.success": true}, nil},
		{"drop extension", Transform{Drop: []string{"context.extensions.http://lrs.learninglocker.net/define/extensions/info"}},
			map[string]any{"context.extensions.http://lrs.learninglocker.net/define/extensions/info": nil,
				"context.extensions.https://moodle.example.org/xapi/extensions/attempts": json.Number("3")}, nil},
		{"drop missing path is a no-op", Transform{Drop: []string{"result.score.nothing", "context.team.name"}},
			map[string]any{"result.score.raw": json.Number("17")}, nil},
		{"hash mbox", Transform{Hash: []string{"actor.mbox", "context.instructor.mbox"}},
			map[string]any{
				"actor.mbox":                      nil,
				"actor.mbox_sha1sum":              sha1hex("mailto:ada@example.org"),
				"context.instructor.mbox":         nil,
				"context.instructor.mbox_sha1sum": sha1hex("mailto:charles@example.org"),
				"authority.mbox":                  "mailto:moodle@example.org",
			}, mboxActor},
		{"hash account name with salt", Transform{Hash: []string{"actor.account.name"}},
			map[string]any{"actor.account.name": sha256hex("pepper" + "1234"), "actor.account.homePage": "https://moodle.example.org"}, nil},
		{"hash name", Transform{Hash: []string{"actor.name"}},
			map[string]any{"actor.name": sha256hex("pepperAda Lovelace")}, nil},
		{"hash group members", Transform{Hash: []string{"actor.member.mbox"}},
			map[string]any{"actor.member.mbox": nil, "actor.member.mbox_sha1sum": sha1hex("mailto:b@x.org")},
			func(s map[string]any) {
				s["actor"] = map[string]any{"objectType": "Group", "member": []any{map[string]any{"mbox": "mailto:b@x.org"}}}
			}},
		{"drop then hash", Transform{Drop: []string{"actor.name", "context.instructor"}, Hash: []string{"actor.mbox"}},
			map[string]any{"actor.name": nil, "context.instructor": nil, "actor.mbox_sha1sum": sha1hex("mailto:ada@example.org")}, mboxActor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile([]Rule{{Name: "t", Targets: []string{"archive"}, Transform: tc.tr}}, targets, "pepper")
			if err != nil {
				t.Fatal(err)
			}
			in := statement(t)
			if tc.edit != nil {
				tc.edit(in)
			}
			before := deepCopy(in)
			out := e.Apply("t", in)
			if !reflect.DeepEqual(in, before) {
				t.Error("Apply modified its input")
			}
			for path, want := range tc.check {
				got, ok := get(out, path)
				if want == nil {
					if ok {
						t.Errorf("%s = %v, want absent", path, got)
					}
					continue
				}
				if !ok || got != want {
					t.Errorf("%s = %v (present %v), want %v", path, got, ok, want)
				}
			}
			if err := xapi.ValidateStatement(out, xapi.Version("1.0.3")); err != nil {
				t.Errorf("transformed statement is invalid: %v", err)
			}
		})
	}
}

func TestApplyUnknownRuleCopies(t *testing.T) {
	e, err := Compile(nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	in := statement(t)
	out := e.Apply("nope", in)
	if !reflect.DeepEqual(in, out) {
		t.Fatal("copy differs")
	}
	out["actor"].(map[string]any)["name"] = "changed"
	if in["actor"].(map[string]any)["name"] != "Ada Lovelace" {
		t.Fatal("copy is shallow")
	}
}

func TestConcurrentMatch(t *testing.T) {
	e, err := Compile([]Rule{{Name: "a", When: `verbIs("completed") && inGrouping("` + courseIRI + `")`, Targets: []string{"archive"}}}, targets, "")
	if err != nil {
		t.Fatal(err)
	}
	s := statement(t)
	done := make(chan bool)
	for i := 0; i < 8; i++ {
		go func() {
			ok := true
			for j := 0; j < 200; j++ {
				m, err := e.Match("moodle", s)
				ok = ok && err == nil && len(m) == 1
			}
			done <- ok
		}()
	}
	for i := 0; i < 8; i++ {
		if !<-done {
			t.Error("concurrent Match failed")
		}
	}
}

func TestBestLang(t *testing.T) {
	m := map[string]string{"en-US": "color", "en-GB": "colour", "fr": "couleur", "und": "?"}
	for tag, want := range map[string]string{"en-GB": "colour", "en": "en-GB", "fr-CA": "couleur", "de": "?", "EN-us": "color"} {
		if want == "en-GB" {
			want = "colour" // first same-language entry in sorted order
		}
		if got := bestLang(m, tag); got != want {
			t.Errorf("bestLang(%q) = %q, want %q", tag, got, want)
		}
	}
	if got := bestLang(nil, "en"); got != "" {
		t.Errorf("bestLang(nil) = %q", got)
	}
}

func BenchmarkMatch(b *testing.B) {
	rules := []Rule{
		{Name: "completions", When: `verbIs("completed") && result.completion`, Targets: []string{"analytics"}},
		{Name: "passed", When: `result.success && result.score.scaled >= 0.8`, Targets: []string{"archive"}},
		{Name: "course-42", When: `inGrouping("` + courseIRI + `")`, Targets: []string{"webhook"}},
		{Name: "quizzes", Stores: []string{"moodle"}, When: `isActivityType("assessment")`, Targets: []string{"personal"}},
		{Name: "recent", When: `timestamp > date("2025-01-01")`, Targets: []string{"archive"}},
		{Name: "event", When: `extension(context.extensions, "http://lrs.learninglocker.net/define/extensions/info")["event_function"] == "attempt_submitted"`, Targets: []string{"webhook"}},
		{Name: "platform", When: `context.platform == "Moodle" && actor.account.homePage startsWith "https://moodle."`, Targets: []string{"analytics"}},
		{Name: "attempts", When: `(extension(result.extensions, "http://example.org/attempt") ?? 0) > 2`, Targets: []string{"archive"}},
		{Name: "instructor", When: `context.instructor.mbox endsWith "@example.org" && lang(verb.display, "en") == "completed"`, Targets: []string{"webhook"}},
		{Name: "other-store", Stores: []string{"h5p"}, When: `verbIs("answered")`, Targets: []string{"analytics"}},
	}
	e, err := Compile(rules, targets, "salt")
	if err != nil {
		b.Fatal(err)
	}
	s := statement(b)
	if m, err := e.Match("moodle", s); err != nil || len(m) != 4 {
		b.Fatalf("Match = %v, %v", m, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Match("moodle", s); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHasTransform(t *testing.T) {
	e, err := Compile([]Rule{
		{Name: "plain", Targets: []string{"t"}},
		{Name: "pseudonymous", Targets: []string{"t"}, Transform: Transform{Hash: []string{"actor.mbox"}}},
	}, []string{"t"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if e.HasTransform("plain") || !e.HasTransform("pseudonymous") || e.HasTransform("unknown") {
		t.Errorf("HasTransform: plain %v, pseudonymous %v, unknown %v", e.HasTransform("plain"), e.HasTransform("pseudonymous"), e.HasTransform("unknown"))
	}
}
