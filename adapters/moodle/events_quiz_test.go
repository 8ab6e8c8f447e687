package moodle

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// quizTestRepo is a small site: course 2 with a quiz (cm 7, quiz 3) in
// section 5, a learner (10) and a teacher (11), and attempt 4 of the
// learner (question usage 40) with one question attempt per question given.
func quizTestRepo(questions ...Row) memRepo {
	m := memRepo{
		"course": {
			{"id": int64(1), "fullname": "Site", "lang": "en"},
			{"id": int64(2), "fullname": "Biology 101", "lang": "en"},
		},
		"course_sections": {{"id": int64(5), "course": int64(2), "section": int64(1)}},
		"course_modules":  {{"id": int64(7), "course": int64(2), "module": int64(1), "instance": int64(3), "section": int64(5)}},
		"modules":         {{"id": int64(1), "name": "quiz"}},
		"quiz":            {{"id": int64(3), "name": "Cells"}},
		"user": {
			{"id": int64(10), "firstname": "Ada", "lastname": "Lovelace"},
			{"id": int64(11), "firstname": "Alan", "lastname": "Turing"},
		},
		"quiz_attempts": {{"id": int64(4), "uniqueid": int64(40), "quiz": int64(3), "userid": int64(10),
			"state": "finished", "timestart": int64(1000), "timefinish": int64(1600)}},
		"grade_items":  {{"id": int64(8), "itemmodule": "quiz", "iteminstance": int64(3), "grademin": 0.0, "grademax": 100.0, "gradepass": 50.0}},
		"grade_grades": {{"id": int64(9), "itemid": int64(8), "userid": int64(10), "rawgrade": 50.0}},
	}
	for i, q := range questions {
		m["question"] = append(m["question"], q)
		m["question_attempts"] = append(m["question_attempts"], Row{"id": int64(100 + i), "questionusageid": int64(40),
			"questionid": q["id"], "slot": int64(i + 1), "responsesummary": q["_response"], "rightanswer": q["_right"]})
	}
	return m
}

func quizEvent(name string, cols Row) Row {
	ev := Row{"id": int64(500), "eventname": `\mod_quiz\event\` + name, "objectid": int64(4), "contextinstanceid": int64(7),
		"courseid": int64(2), "userid": int64(10), "relateduserid": int64(10), "anonymous": int64(0), "timecreated": int64(1700000000)}
	for k, v := range cols {
		ev[k] = v
	}
	return ev
}

func quizScore(t *testing.T, s Statement) map[string]any {
	t.Helper()
	res, _ := s["result"].(map[string]any)
	score, _ := res["score"].(map[string]any)
	if score == nil {
		t.Fatalf("no result.score in %v", s)
	}
	return score
}

func quizNum(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	case int:
		return float64(n)
	}
	return math.NaN()
}

// TestQuizScaledZeroOne: result.score.scaled is the plugin's value by
// default and (raw-min)/(max-min) clamped to 0..1 with ScaledZeroOne; raw,
// min and max never change.
func TestQuizScaledZeroOne(t *testing.T) {
	tests := []struct {
		name                    string
		min, max, rawgrade      float64
		wantRaw                 float64
		wantPlugin, wantZeroOne float64
	}{
		{name: "half marks", min: 0, max: 100, rawgrade: 50, wantRaw: 50, wantPlugin: 0, wantZeroOne: 0.5},
		{name: "full marks", min: 0, max: 100, rawgrade: 100, wantRaw: 100, wantPlugin: 1, wantZeroOne: 1},
		{name: "no marks", min: 0, max: 100, rawgrade: 0, wantRaw: 0, wantPlugin: -1, wantZeroOne: 0},
		{name: "quarter marks", min: 0, max: 10, rawgrade: 2.5, wantRaw: 2.5, wantPlugin: -0.5, wantZeroOne: 0.25},
		{name: "negative grade range", min: -10, max: 10, rawgrade: -5, wantRaw: -5, wantPlugin: -0.5, wantZeroOne: 0.25},
		{name: "grade above max is capped", min: 0, max: 100, rawgrade: 120, wantRaw: 100, wantPlugin: 1, wantZeroOne: 1},
		{name: "grade below min is capped", min: 0, max: 100, rawgrade: -20, wantRaw: 0, wantPlugin: -1, wantZeroOne: 0},
		{name: "max equals min", min: 0, max: 0, rawgrade: 0, wantRaw: 0, wantPlugin: 0, wantZeroOne: 0},
	}
	for _, tc := range tests {
		for _, zeroOne := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/plugin", true: "/zero-one"}[zeroOne]
			t.Run(name, func(t *testing.T) {
				repo := quizTestRepo()
				repo["grade_items"][0]["grademin"] = tc.min
				repo["grade_items"][0]["grademax"] = tc.max
				repo["grade_grades"][0]["rawgrade"] = tc.rawgrade
				c := NewCtx(Options{WWWRoot: "https://m.example.org", ScaledZeroOne: zeroOne}, repo)
				stmts, err := c.Map(quizEvent("attempt_submitted", nil))
				if err != nil || len(stmts) != 1 {
					t.Fatalf("got %d statements, %v", len(stmts), err)
				}
				score := quizScore(t, stmts[0])
				want := tc.wantPlugin
				if zeroOne {
					want = tc.wantZeroOne
				}
				if got := quizNum(score["scaled"]); math.Abs(got-want) > 1e-9 {
					t.Errorf("scaled = %v, want %v", got, want)
				}
				if quizNum(score["raw"]) != tc.wantRaw || quizNum(score["min"]) != tc.min || quizNum(score["max"]) != tc.max {
					t.Errorf("score = %v, want raw %v min %v max %v", score, tc.wantRaw, tc.min, tc.max)
				}
			})
		}
	}
}

// TestQuizManuallyGradedScaledZeroOne: the plugin does not cap a manually
// graded fraction, so its scaled can leave -1..1; ScaledZeroOne clamps it.
func TestQuizManuallyGradedScaledZeroOne(t *testing.T) {
	tests := []struct {
		name                    string
		fraction                float64
		wantPlugin, wantZeroOne float64
	}{
		{name: "half", fraction: 0.5, wantPlugin: 0, wantZeroOne: 0.5},
		{name: "negative fraction", fraction: -0.5, wantPlugin: -2, wantZeroOne: 0},
		{name: "above max fraction", fraction: 1.5, wantPlugin: 2, wantZeroOne: 1},
	}
	for _, tc := range tests {
		for _, zeroOne := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "/plugin", true: "/zero-one"}[zeroOne], func(t *testing.T) {
				repo := quizTestRepo(Row{"id": int64(20), "name": "Q1", "qtype": "essay", "questiontext": "Why?"},
					Row{"id": int64(21), "name": "Q2", "qtype": "essay", "questiontext": "How?"})
				for _, qa := range repo["question_attempts"] {
					qa["minfraction"], qa["maxfraction"] = 0.0, 1.0
				}
				repo["question_attempt_steps"] = []Row{
					{"id": int64(1), "questionattemptid": int64(100), "fraction": 1.0, "sequencenumber": int64(3)},
					{"id": int64(2), "questionattemptid": int64(101), "fraction": 0.0, "sequencenumber": int64(1)},
					{"id": int64(3), "questionattemptid": int64(101), "fraction": tc.fraction, "sequencenumber": int64(2)},
				}
				c := NewCtx(Options{WWWRoot: "https://m.example.org", ScaledZeroOne: zeroOne}, repo)
				ev := quizEvent("question_manually_graded", Row{"userid": int64(11), "relateduserid": nil,
					"other": `{"quizid":3,"attemptid":4,"slot":2}`})
				stmts, err := c.Map(ev)
				if err != nil || len(stmts) != 1 {
					t.Fatalf("got %d statements, %v", len(stmts), err)
				}
				score := quizScore(t, stmts[0])
				want := tc.wantPlugin
				if zeroOne {
					want = tc.wantZeroOne
				}
				if got := quizNum(score["scaled"]); math.Abs(got-want) > 1e-9 {
					t.Errorf("scaled = %v, want %v", got, want)
				}
				if quizNum(score["raw"]) != tc.fraction {
					t.Errorf("raw = %v, want the latest step's fraction of slot 2, %v", score["raw"], tc.fraction)
				}
				if id := stmts[0]["object"].(map[string]any)["id"]; id != "https://m.example.org/review.php?attempt=4&slot=2" {
					t.Errorf("object id %v", id)
				}
			})
		}
	}
}

// TestQuizAttemptWithDeletedQuestion: an attempt whose question records are
// gone maps to a *MissingError (as the plugin, whose read_record_by_id
// throws and drops the event), never a panic; the other records missing
// likewise.
func TestQuizAttemptWithDeletedQuestion(t *testing.T) {
	essay := Row{"id": int64(20), "name": "Q1", "qtype": "essay", "questiontext": "Why?", "_response": "Because"}
	numerical := Row{"id": int64(21), "name": "Q2", "qtype": "numerical", "questiontext": "2+2?", "_response": "4"}
	tests := []struct {
		name      string
		questions []Row
		edit      func(memRepo)
		wantTable string // missing table, "" for success
		wantN     int
	}{
		{name: "all questions present", questions: []Row{essay}, wantN: 2},
		{name: "the only question deleted", questions: []Row{essay}, edit: func(m memRepo) { delete(m, "question") }, wantTable: "question"},
		{name: "second question deleted", questions: []Row{essay, numerical},
			edit: func(m memRepo) { m["question"] = m["question"][:1] }, wantTable: "question"},
		{name: "numerical question without answers", questions: []Row{numerical}, wantTable: "question_answers"},
		{name: "question attempts deleted too", questions: []Row{essay},
			edit: func(m memRepo) { delete(m, "question"); delete(m, "question_attempts") }, wantN: 1},
		{name: "attempt deleted", questions: []Row{essay}, edit: func(m memRepo) { delete(m, "quiz_attempts") }, wantTable: "quiz_attempts"},
		{name: "quiz deleted", questions: []Row{essay}, edit: func(m memRepo) { delete(m, "quiz") }, wantTable: "quiz"},
		{name: "grade deleted", questions: []Row{essay}, edit: func(m memRepo) { delete(m, "grade_grades") }, wantTable: "grade_grades"},
		{name: "match question without subquestions", questions: []Row{{"id": int64(22), "name": "Q3", "qtype": "match",
			"questiontext": "Pair", "_response": "A\n -> B; C", "_right": "A\n -> B; C\n -> D"}}, wantN: 2},
		{name: "truefalse without answers", questions: []Row{{"id": int64(23), "name": "Q4", "qtype": "truefalse",
			"questiontext": "Sky is blue", "_response": nil}}, wantN: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := quizTestRepo(tc.questions...)
			if tc.edit != nil {
				tc.edit(repo)
			}
			var stmts []Statement
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				stmts, err = NewCtx(Options{WWWRoot: "https://m.example.org"}, repo).Map(quizEvent("attempt_submitted", nil))
			}()
			if tc.wantTable != "" {
				var missing *MissingError
				if !errors.As(err, &missing) || missing.Table != tc.wantTable {
					t.Fatalf("got %d statements, err %v; want a missing %s record", len(stmts), err, tc.wantTable)
				}
				return
			}
			if err != nil || len(stmts) != tc.wantN {
				t.Fatalf("got %d statements, %v; want %d", len(stmts), err, tc.wantN)
			}
			quizValid(t, stmts)
		})
	}
}

// TestQuizNumericalQuestion: numerical questions (no shared fixture): an
// exact answer, a tolerance range, and the wildcard.
func TestQuizNumericalQuestion(t *testing.T) {
	tests := []struct {
		name, answer, response string
		tolerance              float64
		wantPattern            string
		wantSuccess            bool
	}{
		{name: "exact", answer: "4", tolerance: 0, response: "4", wantPattern: "4", wantSuccess: true},
		{name: "exact, wrong", answer: "4", tolerance: 0, response: "5", wantPattern: "4", wantSuccess: false},
		{name: "range", answer: "3.14", tolerance: 0.01, response: "3.15", wantPattern: "3.13[:]3.15", wantSuccess: true},
		{name: "range, not a number", answer: "3.14", tolerance: 0.01, response: "pi", wantPattern: "3.13[:]3.15", wantSuccess: false},
		{name: "wildcard", answer: "*", response: "42", wantPattern: "[:]", wantSuccess: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := quizTestRepo(Row{"id": int64(21), "name": "Q", "qtype": "numerical", "questiontext": "<p>n?</p>", "_response": tc.response})
			repo["question_answers"] = []Row{
				{"id": int64(1), "question": int64(21), "answer": "0", "fraction": 0.0},
				{"id": int64(2), "question": int64(21), "answer": tc.answer, "fraction": 1.0},
			}
			repo["question_numerical"] = []Row{{"id": int64(1), "answer": int64(2), "tolerance": tc.tolerance}}
			stmts, err := NewCtx(Options{WWWRoot: "https://m.example.org"}, repo).Map(quizEvent("attempt_submitted", nil))
			if err != nil || len(stmts) != 2 {
				t.Fatalf("got %d statements, %v", len(stmts), err)
			}
			def := stmts[1]["object"].(map[string]any)["definition"].(map[string]any)
			if p := def["correctResponsesPattern"].([]any)[0]; p != tc.wantPattern {
				t.Errorf("pattern %q, want %q", p, tc.wantPattern)
			}
			if s := stmts[1]["result"].(map[string]any)["success"]; s != tc.wantSuccess {
				t.Errorf("success %v, want %v", s, tc.wantSuccess)
			}
			quizValid(t, stmts)
		})
	}
}

func quizValid(t *testing.T, stmts []Statement) {
	t.Helper()
	b, _ := json.Marshal(stmts)
	decoded, _, err := xapi.DecodeStatements(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range decoded {
		if err := xapi.ValidateStatement(s, xapi.V103); err != nil {
			t.Errorf("invalid xAPI: %v\n%s", err, b)
		}
	}
}

// TestAssessFixturesValidXAPI: what the quiz, lesson, scorm, feedback,
// questionnaire and survey mappers make of the shared reference events is
// valid xAPI (the fixture test checks the shape).
func TestAssessFixturesValidXAPI(t *testing.T) {
	mine := []string{"mod_quiz/", "mod_lesson/", "mod_scorm/", "mod_feedback/", "mod_questionnaire/", "mod_survey/"}
	n := 0
	for _, f := range loadFixtures(t) {
		ok := false
		for _, p := range mine {
			ok = ok || strings.HasPrefix(f.name, p)
		}
		if !ok || !Mapped(f.eventname) {
			continue
		}
		stmts, err := NewCtx(fixtureOptions(f.config), f.data).Map(f.event)
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		t.Run(f.name, func(t *testing.T) { quizValid(t, stmts) })
		n++
	}
	t.Logf("%d assessment fixtures valid", n)
}

func TestAssessPHPConversions(t *testing.T) {
	for f, want := range map[float64]string{5: "5", 4.5: "4.5", 0.1 + 0.2: "0.3", 3.13: "3.13", -2: "-2",
		1e15: "1.0E+15", 1e14: "1.0E+14", 1e13: "10000000000000", 0.0001: "0.0001", 0.00001: "1.0E-5", 1.5e-7: "1.5E-7"} {
		if got := assessPHPFloatString(f); got != want {
			t.Errorf("assessPHPFloatString(%v) = %q, want %q", f, got, want)
		}
	}
	for s, want := range map[string]bool{"4": true, " 4": true, "4 ": true, "-4.5e3": true, ".5": true, "5.": true, "": false, "abc": false, "4a": false, "0x1A": false} {
		if got := assessPHPIsNumeric(s); got != want {
			t.Errorf("assessPHPIsNumeric(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]float64{"12abc": 12, "abc": 0, " 3.5": 3.5, "-1e2x": -100, "": 0} {
		if got := assessPHPFloatval(s); got != want {
			t.Errorf("assessPHPFloatval(%q) = %v", s, got)
		}
	}
	for s, want := range map[string]int64{"3": 3, "2|3": 2, "": 0, "x": 0, "-1": -1} {
		if got := assessPHPIntval(s); got != want {
			t.Errorf("assessPHPIntval(%q) = %v", s, got)
		}
	}
}

// TestAssessNullResponses: NULL answers and out-of-range choices, which
// the plugin sends as "response": null, give valid statements.
func TestAssessNullResponses(t *testing.T) {
	t.Run("quiz", func(t *testing.T) {
		repo := quizTestRepo(
			Row{"id": int64(20), "name": "Q1", "qtype": "shortanswer", "questiontext": "Name?", "_response": nil},
			Row{"id": int64(21), "name": "Q2", "qtype": "numerical", "questiontext": "n?", "_response": nil},
			Row{"id": int64(22), "name": "Q3", "qtype": "multichoice", "questiontext": "Pick", "_response": nil, "_right": "a"},
			Row{"id": int64(23), "name": "Q4", "qtype": "gapselect", "questiontext": "Gap", "_response": nil},
		)
		repo["question_answers"] = []Row{{"id": int64(1), "question": int64(21), "answer": "4", "fraction": 1.0},
			{"id": int64(2), "question": int64(22), "answer": "a", "fraction": 1.0}}
		stmts, err := NewCtx(Options{WWWRoot: "https://m.example.org"}, repo).Map(quizEvent("attempt_submitted", nil))
		if err != nil || len(stmts) != 5 {
			t.Fatalf("got %d statements, %v", len(stmts), err)
		}
		for _, s := range stmts[1:3] {
			if _, ok := s["result"].(map[string]any)["response"]; ok {
				t.Errorf("response of an unanswered question: %v", s["result"])
			}
		}
		quizValid(t, stmts)
	})
	t.Run("feedback", func(t *testing.T) {
		repo := quizTestRepo()
		repo["modules"] = []Row{{"id": int64(1), "name": "feedback"}}
		repo["feedback"] = []Row{{"id": int64(3), "name": "Course feedback"}}
		repo["feedback_completed"] = []Row{{"id": int64(6), "feedback": int64(3), "anonymous_response": int64(2)}}
		repo["feedback_item"] = []Row{
			{"id": int64(1), "feedback": int64(3), "name": "Pick", "typ": "multichoice", "presentation": "r>>>>>a\n|b"},
			{"id": int64(2), "feedback": int64(3), "name": "Rate", "typ": "multichoicerated", "presentation": "r>>>>>0####bad|1####good"},
			{"id": int64(3), "feedback": int64(3), "name": "Count", "typ": "numeric", "presentation": "1|10"},
			{"id": int64(4), "feedback": int64(3), "name": "Say", "typ": "textarea"},
			{"id": int64(5), "feedback": int64(3), "name": "Info", "typ": "info"},
		}
		repo["feedback_value"] = []Row{
			{"id": int64(1), "completed": int64(6), "item": int64(1), "value": "5"},
			{"id": int64(2), "completed": int64(6), "item": int64(2), "value": ""},
			{"id": int64(3), "completed": int64(6), "item": int64(3), "value": "7"},
			{"id": int64(4), "completed": int64(6), "item": int64(4), "value": nil},
			{"id": int64(5), "completed": int64(6), "item": int64(5), "value": "x"},
		}
		ev := quizEvent("", Row{"eventname": `\mod_feedback\event\response_submitted`, "objectid": int64(6), "relateduserid": nil})
		stmts, err := NewCtx(Options{WWWRoot: "https://m.example.org"}, repo).Map(ev)
		if err != nil || len(stmts) != 5 { // submitted + 4 mapped items (info is not)
			t.Fatalf("got %d statements, %v", len(stmts), err)
		}
		if r := stmts[3]["result"].(map[string]any); r["response"] != "7" || quizNum(r["extensions"].(map[string]any)["http://learninglocker.net/xapi/cmi/numeric/response"]) != 7 {
			t.Errorf("numeric result %v", r)
		}
		quizValid(t, stmts)
	})
}
