package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// The synthetic site: realistic cardinalities so that filters select
// realistic slices of a million statements.
const (
	learners          = 5000
	courses           = 100
	sectionsPerCourse = 5
	activitiesPerCrs  = 20 // 2,000 activities
	activities        = courses * activitiesPerCrs
	coursesPerLearner = 3 // registrations: one per learner-course, 15,000
	site              = "https://moodle.example.org"
)

var verbs = []string{
	"http://id.tincanapi.com/verb/viewed", "http://adlnet.gov/expapi/verbs/experienced", "http://adlnet.gov/expapi/verbs/attempted",
	"http://adlnet.gov/expapi/verbs/completed", "http://adlnet.gov/expapi/verbs/answered", "http://adlnet.gov/expapi/verbs/passed",
	"http://adlnet.gov/expapi/verbs/failed", "http://adlnet.gov/expapi/verbs/progressed", "http://adlnet.gov/expapi/verbs/launched",
	"http://adlnet.gov/expapi/verbs/initialized", "http://adlnet.gov/expapi/verbs/terminated", "http://adlnet.gov/expapi/verbs/suspended",
	"http://adlnet.gov/expapi/verbs/resumed", "http://adlnet.gov/expapi/verbs/scored", "http://adlnet.gov/expapi/verbs/commented",
	"http://adlnet.gov/expapi/verbs/responded", "http://adlnet.gov/expapi/verbs/asked", "http://adlnet.gov/expapi/verbs/shared",
	"http://adlnet.gov/expapi/verbs/registered", "http://adlnet.gov/expapi/verbs/interacted", "http://adlnet.gov/expapi/verbs/attended",
	"http://adlnet.gov/expapi/verbs/mastered", "http://adlnet.gov/expapi/verbs/preferred", "http://adlnet.gov/expapi/verbs/imported",
	"http://adlnet.gov/expapi/verbs/exited", "http://id.tincanapi.com/verb/submitted", "http://id.tincanapi.com/verb/earned",
	"http://id.tincanapi.com/verb/downloaded", "http://id.tincanapi.com/verb/reviewed", "http://id.tincanapi.com/verb/enrolled",
}

var modTypes = []struct{ mod, typ, name string }{
	{"quiz", "http://adlnet.gov/expapi/activities/assessment", "Unit quiz"},
	{"page", "http://id.tincanapi.com/activitytype/lms/content", "Reading"},
	{"forum", "http://id.tincanapi.com/activitytype/discussion", "Discussion forum"},
	{"assign", "http://id.tincanapi.com/activitytype/lms/assignment", "Assignment"},
	{"resource", "http://id.tincanapi.com/activitytype/document", "Handbook"},
	{"scorm", "http://adlnet.gov/expapi/activities/module", "E-learning module"},
	{"url", "http://adlnet.gov/expapi/activities/link", "External resource"},
	{"lesson", "http://adlnet.gov/expapi/activities/lesson", "Lesson"},
}

var regNS = uuid.MustParse("5d1b1f8e-3a76-4c8c-9a7e-6a1f0c2b9d11")

func courseIRI(c int) string  { return site + "/course/view.php?id=" + strconv.Itoa(c+2) }
func sectionIRI(s int) string { return site + "/course/section.php?id=" + strconv.Itoa(s+1) }
func activityIRI(a int) string {
	return site + "/mod/" + modTypes[a%len(modTypes)].mod + "/view.php?id=" + strconv.Itoa(a+100)
}
func learnerCourse(l, k int) int { return (l*7 + k*37 + l/100) % courses }
func registration(l, c int) string {
	return uuid.NewSHA1(regNS, []byte(strconv.Itoa(l)+":"+strconv.Itoa(c))).String()
}
func agentJSON(l int) string {
	return `{"objectType":"Agent","account":{"homePage":"` + site + `","name":"` + strconv.Itoa(l+2) + `"}}`
}

// gen makes statements; one per goroutine (not safe for concurrent use).
type gen struct {
	r    *rand.Rand
	zipf *rand.Zipf
}

func newGen(seed int64) *gen {
	r := rand.New(rand.NewSource(seed))
	return &gen{r: r, zipf: rand.NewZipf(r, 1.3, 2, uint64(len(verbs)-1))}
}

// picked are the keys of one statement, for the raw baseline's index rows.
type picked struct {
	id, verb, activity, section, course, reg string
	learner                                  int
}

const description = "A structured activity from the volunteer and staff learning programme. It covers the policy, " +
	"the reporting lines and the escalation steps, with worked examples from frontline practice, short knowledge checks " +
	"after each part, and a summary of the responsibilities of trustees, managers, staff and volunteers."

// statement appends one ~2 KB statement (JSON) to b.
func (g *gen) statement(b []byte) ([]byte, picked) {
	l := g.r.Intn(learners)
	c := learnerCourse(l, g.r.Intn(coursesPerLearner))
	ai := c*activitiesPerCrs + g.r.Intn(activitiesPerCrs)
	sec := c*sectionsPerCourse + (ai%activitiesPerCrs)/(activitiesPerCrs/sectionsPerCourse)
	v := verbs[g.zipf.Uint64()]
	mt := modTypes[ai%len(modTypes)]
	p := picked{id: uuid.New().String(), verb: v, activity: activityIRI(ai), section: sectionIRI(sec), course: courseIRI(c),
		reg: registration(l, c), learner: l}
	raw := 5 + g.r.Intn(16)
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(g.r.Int63n(int64(300 * 24 * time.Hour)))).Format(time.RFC3339)

	b = append(b, `{"id":"`...)
	b = append(b, p.id...)
	b = append(b, `","actor":{"objectType":"Agent","name":"Learner `...)
	b = strconv.AppendInt(b, int64(l+2), 10)
	b = append(b, `","account":{"homePage":"`+site+`","name":"`...)
	b = strconv.AppendInt(b, int64(l+2), 10)
	b = append(b, `"}},"verb":{"id":"`...)
	b = append(b, v...)
	b = append(b, `","display":{"en":"`...)
	b = append(b, v[lastSlash(v)+1:]...)
	b = append(b, `"}},"object":{"objectType":"Activity","id":"`...)
	b = append(b, p.activity...)
	b = append(b, `","definition":{"type":"`...)
	b = append(b, mt.typ...)
	b = append(b, `","name":{"en":"`...)
	b = append(b, mt.name...)
	b = append(b, ` `...)
	b = strconv.AppendInt(b, int64(ai%activitiesPerCrs+1), 10)
	b = append(b, `: safeguarding in practice"},"description":{"en":"`+description+`"}}},"result":{"score":{"raw":`...)
	b = strconv.AppendInt(b, int64(raw), 10)
	b = append(b, `,"min":0,"max":20,"scaled":`...)
	b = strconv.AppendFloat(b, float64(raw)/20, 'f', -1, 64)
	b = append(b, `},"success":`...)
	b = strconv.AppendBool(b, raw >= 12)
	b = append(b, `,"completion":true,"duration":"PT`...)
	b = strconv.AppendInt(b, int64(3+g.r.Intn(40)), 10)
	b = append(b, `M`...)
	b = strconv.AppendInt(b, int64(g.r.Intn(60)), 10)
	b = append(b, `S","response":"The learner chose the escalation route through the designated safeguarding lead."},"context":{"registration":"`...)
	b = append(b, p.reg...)
	b = append(b, `","platform":"Moodle","language":"en","contextActivities":{"parent":[{"objectType":"Activity","id":"`...)
	b = append(b, p.section...)
	b = append(b, `","definition":{"type":"http://id.tincanapi.com/activitytype/section","name":{"en":"Part `...)
	b = strconv.AppendInt(b, int64(sec%sectionsPerCourse+1), 10)
	b = append(b, `"}}}],"grouping":[{"objectType":"Activity","id":"`...)
	b = append(b, p.course...)
	b = append(b, `","definition":{"type":"http://id.tincanapi.com/activitytype/lms/course","name":{"en":"Volunteer programme `...)
	b = strconv.AppendInt(b, int64(c+1), 10)
	b = append(b, `"}}}],"category":[{"objectType":"Activity","id":"http://moodle.org","definition":{"type":"http://id.tincanapi.com/activitytype/source","name":{"en":"Moodle"}}}]},`...)
	b = append(b, `"extensions":{"http://lrs.learninglocker.net/define/extensions/info":{"http://moodle.org":"4.5.6","https://github.com/xapibridge/bridge":"1.0.0","event_name":"\\mod_`...)
	b = append(b, mt.mod...)
	b = append(b, `\\event\\course_module_viewed","event_function":"course_module_viewed"}}},"timestamp":"`...)
	b = append(b, ts...)
	b = append(b, `"}`...)
	return b, p
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// batch returns a JSON array (or a single statement for n == 1).
func (g *gen) batch(n int, b []byte) ([]byte, []picked) {
	ps := make([]picked, 0, n)
	b = b[:0]
	if n > 1 {
		b = append(b, '[')
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		var p picked
		b, p = g.statement(b)
		ps = append(ps, p)
	}
	if n > 1 {
		b = append(b, ']')
	}
	return b, ps
}

// checkPayload makes sure the generator writes valid JSON of about 2 KB.
func checkPayload() (int, error) {
	g := newGen(1)
	b, _ := g.statement(nil)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, fmt.Errorf("generated statement is not JSON: %v: %s", err, b)
	}
	return len(b), nil
}

func keyHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:16]
}

func uuidBytes(s string) []byte {
	u, err := uuid.Parse(s)
	if err != nil {
		return nil
	}
	return u[:]
}
