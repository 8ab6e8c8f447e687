package moodle

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// coreTestRepo is a small site: the site course, course 2 with a section
// and a quiz module (cm 5), three users, and a gradebook.
func coreTestRepo() memRepo {
	return memRepo{
		"course": {
			{"id": int64(1), "fullname": "Site", "lang": "en"},
			{"id": int64(2), "fullname": "Biology", "lang": "de"},
		},
		"course_sections": {{"id": int64(7), "course": int64(2), "section": int64(1)}},
		"modules":         {{"id": int64(12), "name": "quiz"}},
		"course_modules":  {{"id": int64(5), "course": int64(2), "module": int64(12), "instance": int64(3), "section": int64(7)}},
		"quiz":            {{"id": int64(3), "name": "Cells quiz"}},
		"user": {
			{"id": int64(2), "firstname": "Tea", "lastname": "Cher", "email": "t@example.org"},
			{"id": int64(3), "firstname": "Stu", "lastname": "Dent", "email": "s@example.org"},
		},
		"grade_items": {
			{"id": int64(40), "courseid": int64(2), "itemtype": "mod", "itemmodule": "quiz", "iteminstance": int64(3),
				"gradetype": int64(1), "grademin": 0.0, "grademax": 10.0, "gradepass": 5.0, "itemname": "Cells quiz"},
			{"id": int64(41), "courseid": int64(2), "itemtype": "course", "iteminstance": int64(9),
				"gradetype": int64(1), "grademin": 0.0, "grademax": 100.0, "gradepass": 0.0, "itemname": nil},
			{"id": int64(42), "courseid": int64(2), "itemtype": "manual", "gradetype": int64(1),
				"grademin": 0.0, "grademax": 20.0, "gradepass": 0.0, "itemname": "Lab report"},
			{"id": int64(43), "courseid": int64(2), "itemtype": "manual", "gradetype": int64(3), "itemname": "Comment"},
		},
		"grade_grades": {
			{"id": int64(100), "itemid": int64(40), "userid": int64(3), "finalgrade": 7.5, "rawgrademin": 0.0, "rawgrademax": 10.0},
			{"id": int64(101), "itemid": int64(41), "userid": int64(3), "finalgrade": 120.0, "rawgrademin": nil, "rawgrademax": nil},
			{"id": int64(102), "itemid": int64(42), "userid": int64(3), "finalgrade": "4.00000", "rawgrademin": "0.00000", "rawgrademax": "20.00000"},
			{"id": int64(103), "itemid": int64(40), "userid": int64(3), "finalgrade": nil, "rawgrademin": 0.0, "rawgrademax": 10.0},
			{"id": int64(104), "itemid": int64(43), "userid": int64(3), "finalgrade": nil},
		},
	}
}

func coreEvent(name string, cols Row) Row {
	ev := Row{"id": int64(1), "eventname": name, "timecreated": int64(1433946701), "anonymous": int64(0)}
	for k, v := range cols {
		ev[k] = v
	}
	return ev
}

// coreValid round-trips a statement through JSON and the LRS's validator.
func coreValid(t *testing.T, s Statement) map[string]any {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	stmts, _, err := xapi.DecodeStatements(b)
	if err != nil || len(stmts) != 1 {
		t.Fatalf("decode: %v (%d statements)", err, len(stmts))
	}
	for _, v := range []xapi.Version{xapi.V103, xapi.V200} {
		if err := xapi.ValidateStatement(stmts[0], v); err != nil {
			t.Fatalf("invalid statement (%v): %v\n%s", v, err, b)
		}
	}
	return stmts[0]
}

// corePath walks a decoded statement by keys and array indexes.
func corePath(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestCoreExtraEvents(t *testing.T) {
	type check struct {
		path []any
		want any
	}
	p := func(want any, path ...any) check { return check{path, want} }
	const site = "http://moodle.test"
	cases := []struct {
		name   string
		opt    Options
		ev     Row
		checks []check
	}{
		{"dashboard viewed", Options{}, coreEvent(`\core\event\dashboard_viewed`, Row{"userid": int64(3), "courseid": int64(0)}), []check{
			p("3", "actor", "account", "name"),
			p("http://id.tincanapi.com/verb/viewed", "verb", "id"),
			p(site+"/my/", "object", "id"),
			p("https://w3id.org/xapi/acrossx/activities/webpage", "object", "definition", "type"),
			p("Dashboard", "object", "definition", "name", "en"),
			p("en", "context", "language"),
			p(site, "context", "contextActivities", "category", 0, "id"),
			p(nil, "context", "contextActivities", "parent"),
			p(`\core\event\dashboard_viewed`, "context", "extensions", "http://lrs.learninglocker.net/define/extensions/info", "event_name"),
			p("2015-06-10T14:31:41.000Z", "timestamp"),
		}},
		{"user logged out", Options{}, coreEvent(`\core\event\user_loggedout`, Row{"userid": int64(3)}), []check{
			p("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/logout", "verb", "id"),
			p(site, "object", "id"),
			p(nil, "context", "contextActivities"),
			p("Moodle", "context", "platform"),
		}},
		{"user graded, module item", Options{}, coreEvent(`\core\event\user_graded`, Row{"userid": int64(2), "relateduserid": int64(3),
			"courseid": int64(2), "objectid": int64(100), "objecttable": "grade_grades",
			"other": `a:3:{s:6:"itemid";i:40;s:10:"overridden";b:0;s:10:"finalgrade";d:7.5;}`}), []check{
			p("3", "actor", "account", "name"),
			p("https://w3id.org/xapi/tla/verbs/scored", "verb", "id"),
			p(site+"/mod/quiz/view.php?id=5", "object", "id"),
			p("Cells quiz", "object", "definition", "name", "de"),
			p(7.5, "result", "score", "raw"),
			p(0.0, "result", "score", "min"),
			p(10.0, "result", "score", "max"),
			p(0.5, "result", "score", "scaled"), // the plugin's -1..1 scaling
			p(true, "result", "success"),
			p("2", "context", "instructor", "account", "name"),
			p("de", "context", "language"),
			p(site+"/course/section.php?id=7", "context", "contextActivities", "parent", 0, "id"),
			p(site+"/course/view.php?id=2", "context", "contextActivities", "parent", 1, "id"),
			p(site, "context", "contextActivities", "category", 0, "id"),
		}},
		{"user graded, grade at event time wins, 0..1 scaling", Options{ScaledZeroOne: true}, coreEvent(`\core\event\user_graded`, Row{
			"userid": int64(3), "relateduserid": int64(3), "courseid": int64(2), "objectid": int64(100),
			"other": `{"itemid":40,"overridden":false,"finalgrade":2}`}), []check{
			p(2.0, "result", "score", "raw"),
			p(0.2, "result", "score", "scaled"),
			p(false, "result", "success"),
			p(nil, "context", "instructor"), // graded by themselves (a module pushing the grade)
		}},
		{"user graded, course total capped to max", Options{}, coreEvent(`\core\event\user_graded`, Row{"userid": int64(0), "relateduserid": int64(3),
			"courseid": int64(2), "objectid": int64(101)}), []check{
			p(site+"/course/view.php?id=2", "object", "id"),
			p("https://w3id.org/xapi/cmi5/activitytype/course", "object", "definition", "type"),
			p(100.0, "result", "score", "raw"),
			p(100.0, "result", "score", "max"),
			p(1.0, "result", "score", "scaled"),
			p(nil, "result", "success"), // no pass grade
			p(nil, "context", "instructor"),
			p(nil, "context", "contextActivities", "parent"),
		}},
		{"user graded, manual item", Options{}, coreEvent(`\core\event\user_graded`, Row{"userid": int64(2), "relateduserid": int64(3),
			"courseid": int64(2), "objectid": int64(102)}), []check{
			p(site+"/grade/edit/tree/item.php?courseid=2&id=42", "object", "id"),
			p("Lab report", "object", "definition", "name", "de"),
			p(4.0, "result", "score", "raw"),
			p(-0.6, "result", "score", "scaled"),
			p(site+"/course/view.php?id=2", "context", "contextActivities", "parent", 0, "id"),
		}},
		{"module completed with pass", Options{}, coreEvent(`\core\event\course_module_completion_updated`, Row{"relateduserid": int64(3),
			"courseid": int64(2), "contextinstanceid": int64(5), "other": `a:1:{s:15:"completionstate";i:2;}`}), []check{
			p("http://adlnet.gov/expapi/verbs/completed", "verb", "id"),
			p(true, "result", "completion"),
			p(true, "result", "success"),
			p(site+"/mod/quiz/view.php?id=5", "object", "id"),
		}},
		{"module completed with fail", Options{}, coreEvent(`\core\event\course_module_completion_updated`, Row{"relateduserid": int64(3),
			"courseid": int64(2), "contextinstanceid": int64(5), "other": `{"completionstate":3}`}), []check{
			p(false, "result", "success"),
		}},
		{"module completed", Options{}, coreEvent(`\core\event\course_module_completion_updated`, Row{"relateduserid": int64(3),
			"courseid": int64(2), "contextinstanceid": int64(5), "other": `{"completionstate":1}`}), []check{
			p(true, "result", "completion"),
			p(nil, "result", "success"),
		}},
		{"module uncompleted", Options{}, coreEvent(`\core\event\course_module_completion_updated`, Row{"relateduserid": int64(3),
			"courseid": int64(2), "contextinstanceid": int64(5), "other": `{"completionstate":0}`}), []check{
			p("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/uncompleted", "verb", "id"),
			p(nil, "result"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.WWWRoot = site
			c := NewCtx(tc.opt, coreTestRepo())
			got, err := c.Map(tc.ev)
			if err != nil {
				t.Fatalf("map: %v", err)
			}
			if len(got) != 1 {
				t.Fatalf("%d statements, want 1", len(got))
			}
			s := coreValid(t, got[0])
			for _, ck := range tc.checks {
				if g := corePath(s, ck.path...); !coreEqual(g, ck.want) {
					t.Errorf("%v = %#v, want %#v", ck.path, g, ck.want)
				}
			}
		})
	}
}

// coreEqual compares decoded JSON values (numbers as float64, within 1e-9).
func coreEqual(got, want any) bool {
	if w, ok := want.(float64); ok {
		var g float64
		switch n := got.(type) {
		case float64:
			g = n
		case json.Number:
			g, _ = n.Float64()
		case int64:
			g = float64(n)
		default:
			return false
		}
		return g-w < 1e-9 && w-g < 1e-9
	}
	return got == want
}

func TestCoreUserGradedSkipsAndMissing(t *testing.T) {
	c := NewCtx(Options{WWWRoot: "http://moodle.test"}, coreTestRepo())
	var skipErr *SkipError
	for name, ev := range map[string]Row{
		"no final grade":       coreEvent(`\core\event\user_graded`, Row{"userid": int64(2), "relateduserid": int64(3), "courseid": int64(2), "objectid": int64(103)}),
		"null grade in other":  coreEvent(`\core\event\user_graded`, Row{"userid": int64(2), "relateduserid": int64(3), "courseid": int64(2), "objectid": int64(100), "other": `{"itemid":40,"finalgrade":null}`}),
		"text-only grade item": coreEvent(`\core\event\user_graded`, Row{"userid": int64(2), "relateduserid": int64(3), "courseid": int64(2), "objectid": int64(104), "other": `{"itemid":43,"finalgrade":1}`}),
		"no graded user":       coreEvent(`\core\event\user_graded`, Row{"userid": int64(2), "relateduserid": int64(0), "courseid": int64(2), "objectid": int64(100)}),
		"dashboard of no user": coreEvent(`\core\event\dashboard_viewed`, Row{"userid": int64(0)}),
	} {
		if _, err := c.Map(ev); !errors.As(err, &skipErr) {
			t.Errorf("%s: err = %v, want a SkipError", name, err)
		}
	}
	for name, ev := range map[string]Row{
		"deleted grade":   coreEvent(`\core\event\user_graded`, Row{"userid": int64(2), "relateduserid": int64(3), "courseid": int64(2), "objectid": int64(999)}),
		"deleted user":    coreEvent(`\core\event\user_graded`, Row{"userid": int64(2), "relateduserid": int64(77), "courseid": int64(2), "objectid": int64(100)}),
		"deleted grader":  coreEvent(`\core\event\user_graded`, Row{"userid": int64(78), "relateduserid": int64(3), "courseid": int64(2), "objectid": int64(100)}),
		"dashboard, gone": coreEvent(`\core\event\dashboard_viewed`, Row{"userid": int64(79)}),
	} {
		if _, err := c.Map(ev); !IsMissing(err) {
			t.Errorf("%s: err = %v, want a MissingError", name, err)
		}
	}
}
