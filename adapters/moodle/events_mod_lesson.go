package moodle

// mod_lesson events. Each mapper ports the logstore_xapi v5 transformer of
// the same name (src/transformer/events/mod_lesson/...), with the lesson
// utils (get_activity\lesson*, get_lesson_*_result).

import (
	"strconv"
	"strings"
)

// Lesson page types (mod/lesson/locallib.php).
const (
	lessonPageShortAnswer = 1
	lessonPageTrueFalse   = 2
	lessonPageMultichoice = 3
	lessonPageMatching    = 5
	lessonPageNumerical   = 8
	lessonPageEssay       = 10
)

// lessonEvent: a user started, resumed, restarted or ended (completed,
// with the lesson's grade as result) a lesson (the event's objectid).
func lessonEvent(verb map[string]any, withResult bool) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.User(ev.Int("userid"))
		if err != nil {
			return nil, err
		}
		course, err := c.Course(ev.Int("courseid"))
		if err != nil {
			return nil, err
		}
		lesson, err := ReadRecordByID(c.Repo, "lesson", ev.Int("objectid"))
		if err != nil {
			return nil, err
		}
		lang := CourseLang(course)
		cmid := ev.Int("contextinstanceid")
		ctx, err := c.assessContext(ev, lang, cmid, true)
		if err != nil {
			return nil, err
		}
		s := Statement{"actor": c.Actor(user), "verb": assessClone(verb), "object": c.lessonActivity(lang, lesson, cmid), "context": ctx}
		if withResult {
			if s["result"], err = c.lessonResult(lesson, ev.Int("userid")); err != nil {
				return nil, err
			}
		}
		return []Statement{s}, nil
	}
}

// lessonPageEvent: a user viewed a content or question page, or answered a
// question page (the event's objectid is the page).
func lessonPageEvent(question, answered bool) Mapper {
	verb := Verb("viewed")
	if answered {
		verb = quizAnswered
	}
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.User(ev.Int("userid"))
		if err != nil {
			return nil, err
		}
		course, err := c.Course(ev.Int("courseid"))
		if err != nil {
			return nil, err
		}
		page, err := ReadRecordByID(c.Repo, "lesson_pages", ev.Int("objectid"))
		if err != nil {
			return nil, err
		}
		lang := CourseLang(course)
		cmid := ev.Int("contextinstanceid")
		var object map[string]any
		if question {
			if object, err = c.lessonQuestionPage(lang, page, cmid); err != nil {
				return nil, err
			}
		} else {
			object = c.lessonContentPage(lang, page, cmid)
		}
		ctx, err := c.assessContext(ev, lang, cmid, true)
		if err != nil {
			return nil, err
		}
		s := Statement{"actor": c.Actor(user), "verb": assessClone(verb), "object": object, "context": ctx}
		if answered {
			res, err := c.lessonQuestionResult(page, ev.Int("userid"))
			if err != nil {
				return nil, err
			}
			// The plugin sends "result": [] when the user has no attempt
			// at the page (invalid xAPI); the bridge leaves result out.
			if len(res) > 0 {
				s["result"] = res
			}
		}
		return []Statement{s}, nil
	}
}

// lessonEssayAssessed: a teacher (the actor) assessed a learner's essay.
func lessonEssayAssessed(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	attempt, err := ReadRecordByID(c.Repo, "lesson_attempts", OtherInt(other, "attemptid"))
	if err != nil {
		return nil, err
	}
	page, err := ReadRecordByID(c.Repo, "lesson_pages", attempt.Int("pageid"))
	if err != nil {
		return nil, err
	}
	learner, err := c.User(attempt.Int("userid"))
	if err != nil {
		return nil, err
	}
	answer, err := ReadRecord(c.Repo, "lesson_answers", map[string]any{"pageid": page.Int("id")})
	if err != nil {
		return nil, err
	}
	detail, err := Other(Row{"other": attempt.Str("useranswer")})
	if err != nil {
		return nil, err
	}
	max := assessFloatCol(answer, "score")
	raw := assessCapRaw(assessFloatCol(Row(detail), "score"), 0, max)
	result := map[string]any{
		"response": StripHTML(OtherStr(detail, "response")),
		"score":    map[string]any{"min": 0.0, "max": max, "raw": raw, "scaled": assessPluginScaled(raw, 0, max)},
	}
	cmid := ev.Int("contextinstanceid")
	object, err := c.lessonQuestionPage(lang, page, cmid)
	if err != nil {
		return nil, err
	}
	ctx, err := c.assessContext(ev, lang, cmid, true)
	if err != nil {
		return nil, err
	}
	ctx["extensions"].(map[string]any)["https://yetanalytics.com/profiles/prepositions/concepts/context-extensions/for"] = c.Actor(learner)
	return []Statement{{"actor": c.Actor(user), "verb": map[string]any{"id": "https://w3id.org/xapi/dod-isd/verbs/assessed", "display": map[string]any{"en": "Assessed"}},
		"result": result, "object": object, "context": ctx}}, nil
}

// lessonActivity is the plugin's get_activity\lesson.
func (c *Ctx) lessonActivity(lang string, lesson Row, cmid int64) map[string]any {
	def := map[string]any{"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/lesson-session"}
	if lesson["name"] != nil {
		def["name"] = map[string]any{lang: lesson.Str("name")}
	}
	if lesson["intro"] != nil {
		def["description"] = map[string]any{lang: assessStrip(lesson, "intro")}
	}
	return map[string]any{"objectType": "Activity", "id": c.Opt.WWWRoot + "/mod/lesson/view.php?id=" + strconv.FormatInt(cmid, 10) + "#lesson", "definition": def}
}

func (c *Ctx) lessonPageURL(page Row, cmid int64) string {
	return c.Opt.WWWRoot + "/mod/lesson/view.php?id=" + strconv.FormatInt(cmid, 10) + "&pageid=" + page.Str("id")
}

// lessonContentPage is the plugin's get_activity\lesson_content_page.
func (c *Ctx) lessonContentPage(lang string, page Row, cmid int64) map[string]any {
	def := map[string]any{"type": "http://adlnet.gov/expapi/activities/lesson-content-page"}
	if page["title"] != nil {
		def["name"] = map[string]any{lang: page.Str("title")}
	}
	return map[string]any{"objectType": "Activity", "id": c.lessonPageURL(page, cmid), "definition": def}
}

// lessonQuestionPage is the plugin's get_activity\lesson_question_page: a
// cmi interaction per page type (no definition for other page types).
func (c *Ctx) lessonQuestionPage(lang string, page Row, cmid int64) (map[string]any, error) {
	act := map[string]any{"objectType": "Activity", "id": c.lessonPageURL(page, cmid)}
	answers, err := c.Repo.ReadRecords("lesson_answers", map[string]any{"pageid": page.Int("id")}, "id")
	if err != nil {
		return nil, err
	}
	var all, correct []string
	for _, a := range answers {
		all = append(all, assessStrip(a, "response"))
		if assessFloatCol(a, "score") > 0 {
			correct = append(correct, assessStrip(a, "response"))
		}
	}
	title, desc := page.Str("title"), assessPtr(assessStrip(page, "contents"))
	switch page.Int("qtype") {
	case lessonPageShortAnswer:
		if correct == nil {
			correct = []string{}
		}
		act["definition"] = assessCMIFillIn(title, desc, lang, correct)
	case lessonPageEssay:
		act["definition"] = assessCMILongFillIn(title, desc, lang)
	case lessonPageTrueFalse, lessonPageMultichoice:
		act["definition"] = c.CMIChoice(title, desc, all, lang, correct)
	case lessonPageMatching:
		var source, target []string
		for _, a := range answers {
			if s := a.Str("answer"); s != "" && s != "0" { // PHP's !empty()
				source = append(source, StripHTML(s))
				target = append(target, assessStrip(a, "response"))
			}
		}
		act["definition"] = assessCMIMatching(title, desc, source, target, lang)
	case lessonPageNumerical:
		// The first correct answer (xAPI numeric has one exact value or a
		// range; lessons have no ranges); "" when there is none.
		exact := ""
		if len(correct) > 0 {
			exact = correct[0]
		}
		act["definition"] = assessCMINumeric(title, desc, nil, nil, &exact, lang)
	}
	return act, nil
}

// lessonQuestionResult is the plugin's get_lesson_question_result: from the
// user's latest attempt at the page (empty when there is none).
func (c *Ctx) lessonQuestionResult(page Row, userID int64) (map[string]any, error) {
	attempts, err := c.Repo.ReadRecords("lesson_attempts", map[string]any{
		"lessonid": page.Int("lessonid"), "pageid": page.Int("id"), "userid": userID,
	}, "timeseen DESC")
	if err != nil || len(attempts) == 0 {
		return map[string]any{}, err
	}
	attempt := attempts[0]
	res := map[string]any{}
	switch page.Int("qtype") {
	case lessonPageEssay:
		// Graded later; the attempt holds a serialised object.
		essay, err := Other(Row{"other": attempt.Str("useranswer")})
		if err != nil {
			return nil, err
		}
		res["response"] = StripHTML(OtherStr(essay, "answer"))
	case lessonPageMatching:
		answers, err := c.Repo.ReadRecords("lesson_answers", map[string]any{"pageid": page.Int("id")}, "id")
		if err != nil {
			return nil, err
		}
		given := strings.Split(attempt.Str("useranswer"), ",")
		var responses []string
		for _, a := range answers {
			if a["response"] == nil {
				continue
			}
			next := ""
			if len(given) > 0 {
				next, given = given[0], given[1:]
			}
			responses = append(responses, Slugify(assessStrip(a, "answer"))+"[.]"+Slugify(next))
		}
		res["success"] = attempt.Int("correct") == 1
		res["response"] = strings.Join(responses, "[,]")
	default:
		res["success"] = attempt.Int("correct") == 1
		res["response"] = assessStrip(attempt, "useranswer")
	}
	return res, nil
}

// lessonResult is the plugin's get_lesson_result: completion, and the
// user's latest grade as score and success.
//
// The plugin means the grade to be optional but its read_record throws when
// the lesson has no grade item (a practice lesson), failing the event; the
// bridge then sends the completion without a score.
func (c *Ctx) lessonResult(lesson Row, userID int64) (map[string]any, error) {
	res := map[string]any{"completion": true}
	items, err := c.Repo.ReadRecords("grade_items", map[string]any{"itemmodule": "lesson", "iteminstance": lesson.Int("id")}, "id")
	if err != nil || len(items) == 0 {
		return res, err
	}
	item := items[0]
	grades, err := c.Repo.ReadRecords("grade_grades", map[string]any{"itemid": item.Int("id"), "userid": userID}, "timemodified DESC")
	if err != nil || len(grades) == 0 {
		return res, err
	}
	g := grades[0]
	min := assessFloatCol(g, "rawgrademin")
	max := assessFloatCol(g, "rawgrademax")
	raw := assessCapRaw(assessFloatCol(g, "rawgrade"), min, max)
	res["score"] = map[string]any{"min": min, "max": max, "raw": raw, "scaled": assessPluginScaled(raw, min, max)}
	res["success"] = raw >= assessFloatCol(item, "gradepass")
	return res, nil
}
