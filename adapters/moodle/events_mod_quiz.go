package moodle

// mod_quiz events. Each mapper ports the logstore_xapi v5 transformer of
// the same name (src/transformer/events/mod_quiz/...).

import (
	"strconv"
	"strings"
)

var quizAnswered = map[string]any{"id": "http://adlnet.gov/expapi/verbs/answered", "display": map[string]any{"en": "Answered"}}

// quizAttemptEvent: a user started, viewed or exceeded the time of a quiz
// attempt (the event's objectid).
func quizAttemptEvent(userCol string, verb map[string]any) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.User(ev.Int(userCol))
		if err != nil {
			return nil, err
		}
		course, err := c.Course(ev.Int("courseid"))
		if err != nil {
			return nil, err
		}
		cmid := ev.Int("contextinstanceid")
		object, err := c.quizAttemptActivity(ev.Int("objectid"), cmid)
		if err != nil {
			return nil, err
		}
		ctx, err := c.assessContext(ev, CourseLang(course), cmid, true)
		if err != nil {
			return nil, err
		}
		return []Statement{{"actor": c.Actor(user), "verb": assessClone(verb), "object": object, "context": ctx}}, nil
	}
}

// quizAttemptReviewed: a learner received the review of an attempt (the
// event's user is the instructor).
func quizAttemptReviewed(c *Ctx, ev Row) ([]Statement, error) {
	learner, err := c.User(ev.Int("relateduserid"))
	if err != nil {
		return nil, err
	}
	instructor, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	cmid := ev.Int("contextinstanceid")
	attempt, err := c.quizAttemptActivity(ev.Int("objectid"), cmid)
	if err != nil {
		return nil, err
	}
	ctx, err := c.assessContext(ev, CourseLang(course), cmid, true, attempt)
	if err != nil {
		return nil, err
	}
	ctx["instructor"] = c.Actor(instructor)
	return []Statement{{"actor": c.Actor(learner), "verb": Verb("received"),
		"object": c.quizReviewActivity(ev.Str("objectid")), "context": ctx}}, nil
}

// quizQuestionManuallyGraded: a teacher graded a question of an attempt;
// the learner scored the question's fraction.
//
// The plugin takes the first question attempt of the usage whatever the
// slot graded; this takes the question attempt of that slot when the
// records say which (question_attempts.slot), and the first one otherwise.
func quizQuestionManuallyGraded(c *Ctx, ev Row) ([]Statement, error) {
	instructor, err := c.User(ev.Int("userid"))
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
	attemptID, quizID, slot := OtherInt(other, "attemptid"), OtherInt(other, "quizid"), OtherStr(other, "slot")
	attempt, err := ReadRecordByID(c.Repo, "quiz_attempts", attemptID)
	if err != nil {
		return nil, err
	}
	quiz, err := ReadRecordByID(c.Repo, "quiz", quizID)
	if err != nil {
		return nil, err
	}
	user, err := c.User(attempt.Int("userid"))
	if err != nil {
		return nil, err
	}
	qas, err := c.Repo.ReadRecords("question_attempts", map[string]any{"questionusageid": attempt.Int("uniqueid")}, "id")
	if err != nil {
		return nil, err
	}
	if len(qas) == 0 {
		return nil, skip("quiz attempt without question attempts")
	}
	qa := qas[0]
	for _, q := range qas {
		if q["slot"] != nil && q.Str("slot") == slot {
			qa = q
			break
		}
	}
	steps, err := c.Repo.ReadRecords("question_attempt_steps", map[string]any{"questionattemptid": qa.Int("id")}, "sequencenumber DESC")
	if err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		return nil, skip("question attempt without steps")
	}
	raw := assessFloatCol(steps[0], "fraction")
	min := assessFloatCol(qa, "minfraction")
	max := assessFloatCol(qa, "maxfraction")
	cmid := ev.Int("contextinstanceid")
	attemptAct, err := c.quizAttemptActivity(attemptID, cmid)
	if err != nil {
		return nil, err
	}
	ctx, err := c.assessContext(ev, lang, cmid, true, c.quizReviewActivity(strconv.FormatInt(attemptID, 10)), attemptAct)
	if err != nil {
		return nil, err
	}
	ctx["instructor"] = c.Actor(instructor)
	return []Statement{{
		"actor": c.Actor(user),
		"verb":  Verb("scored"),
		"object": map[string]any{
			"objectType": "Activity",
			"id":         c.Opt.WWWRoot + "/review.php?attempt=" + attempt.Str("id") + "&slot=" + slot,
			"definition": map[string]any{
				"type": "http://activitystrea.ms/schema/1.0/review#slot",
				"name": map[string]any{lang: quiz.Str("name") + " Review Slot " + slot},
			},
		},
		"result": map[string]any{"score": map[string]any{
			"min": min, "max": max, "raw": raw, "scaled": c.quizScaled(raw, min, max),
		}},
		"context": ctx,
	}}, nil
}

// quizAttemptSubmitted: a user completed (or abandoned) a quiz attempt: the
// attempt's result, then one "answered" statement per question attempt of
// a supported question type (others give none, as in the plugin).
func quizAttemptSubmitted(c *Ctx, ev Row) ([]Statement, error) {
	attempt, err := ReadRecordByID(c.Repo, "quiz_attempts", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	user, err := c.User(ev.Int("relateduserid"))
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	gradeItem, err := ReadRecord(c.Repo, "grade_items", map[string]any{"itemmodule": "quiz", "iteminstance": attempt.Int("quiz")})
	if err != nil {
		return nil, err
	}
	grade, err := ReadRecord(c.Repo, "grade_grades", map[string]any{"itemid": gradeItem.Int("id"), "userid": ev.Int("relateduserid")})
	if err != nil {
		return nil, err
	}
	cmid := ev.Int("contextinstanceid")
	attemptAct, err := c.quizAttemptActivity(attempt.Int("id"), cmid)
	if err != nil {
		return nil, err
	}
	ctx, err := c.assessContext(ev, lang, cmid, true)
	if err != nil {
		return nil, err
	}
	actor := c.Actor(user)
	out := []Statement{{
		"actor":   actor,
		"verb":    Verb("completed"),
		"object":  attemptAct,
		"result":  c.quizAttemptResult(attempt, gradeItem, grade),
		"context": ctx,
	}}

	qas, err := c.Repo.ReadRecords("question_attempts", map[string]any{"questionusageid": attempt.Int("uniqueid")}, "id")
	if err != nil {
		return nil, err
	}
	if len(qas) == 0 {
		return out, nil
	}
	// The answered statements share actor and context: the attempt comes
	// first among the parents.
	qctx, err := c.assessContext(ev, lang, cmid, true, assessClone(attemptAct))
	if err != nil {
		return nil, err
	}
	for _, qa := range qas {
		q, err := ReadRecordByID(c.Repo, "question", qa.Int("questionid"))
		if err != nil {
			return nil, err
		}
		object, result, err := c.quizQuestionAnswered(qa, q, lang)
		if err != nil {
			return nil, err
		}
		if object == nil {
			continue // a question type the plugin does not map
		}
		object["id"] = c.quizQuestionID(cmid, q.Int("id"))
		out = append(out, Statement{
			"actor":   assessClone(actor),
			"verb":    assessClone(quizAnswered),
			"object":  object,
			"result":  result,
			"context": assessClone(qctx),
		})
	}
	return out, nil
}

// quizQuestionAnswered is the plugin's question_answered\<qtype>: the
// question's object (without id) and result; nil for an unmapped qtype.
func (c *Ctx) quizQuestionAnswered(qa, q Row, lang string) (map[string]any, map[string]any, error) {
	summary := assessNullableStr(qa, "responsesummary")
	right := assessNullableStr(qa, "rightanswer")
	rs := qa.Str("responsesummary")
	filled := summary != nil && rs != ""
	var def, result map[string]any
	var err error
	switch q.Str("qtype") {
	case "essay":
		def = assessCMILongFillIn(q.Str("name"), quizQuestionText(q), lang)
		result = map[string]any{"response": rs, "completion": rs != ""}
	case "gapselect":
		def, err = c.quizMultichoiceDefinition(q, lang, true, right)
		result = map[string]any{"response": "", "completion": false, "success": false}
		if filled {
			sel := strings.Split(strings.TrimRight(strings.TrimLeft(rs, "{"), "}"), "} {")
			result = map[string]any{
				"response":   quizSlugJoin(sel),
				"completion": true,
				"success":    right != nil && right == summary,
				"extensions": map[string]any{"http://learninglocker.net/xapi/cmi/sequencing/response": quizStrings(sel)},
			}
		}
	case "truefalse":
		def, err = c.quizTrueFalseDefinition(q, lang)
		result = map[string]any{
			"response":   Slugify(StripHTML(rs)),
			"completion": summary != nil,
			"success":    right == summary,
			"extensions": map[string]any{"http://learninglocker.net/xapi/cmi/true-false/response": summary == "True"},
		}
	case "randomsamatch", "match":
		def, err = c.quizMatchDefinition(q, lang)
		result = map[string]any{"response": "", "completion": false, "success": false}
		if filled {
			sel := map[string]any{}
			var pairs []string
			for _, s := range strings.Split(rs, "; ") {
				k, v, ok := strings.Cut(s, "\n -> ")
				if !ok {
					sel[k] = nil // PHP reads a missing $split[1] as null
				} else {
					// PHP's explode keeps any further " -> " pieces apart.
					v, _, _ = strings.Cut(v, "\n -> ")
					sel[k] = v
				}
				pairs = append(pairs, Slugify(k)+"[.]"+Slugify(v))
			}
			result = map[string]any{
				"response":   strings.Join(pairs, "[,]"),
				"completion": true,
				"success":    right != nil && right == summary,
				"extensions": map[string]any{"http://learninglocker.net/xapi/cmi/matching/response": sel},
			}
		}
	case "shortanswer":
		def = assessCMIFillIn(q.Str("name"), quizQuestionText(q), lang, nil)
		result = map[string]any{"response": summary, "completion": summary != ""}
	case "multichoice", "multichoiceset":
		def, err = c.quizMultichoiceDefinition(q, lang, false, right)
		stripped := StripHTML(rs)
		result = map[string]any{
			"response":   quizSlugJoin(strings.Split(stripped, "; ")),
			"success":    assessPHPLooseEq(right, summary),
			"completion": summary != "",
			"extensions": map[string]any{"http://learninglocker.net/xapi/cmi/choice/response": stripped},
		}
	case "numerical":
		def, err = c.quizNumericalDefinition(q, lang)
		if err != nil {
			return nil, nil, err
		}
		ans, _ := c.quizNumericalAnswer(q.Int("id"))
		success := false
		if summary != nil && assessPHPIsNumeric(rs) {
			n := assessPHPFloatval(rs)
			success = ans.targetStr == "*" && !ans.numeric ||
				ans.numeric && *ans.min <= n && n <= *ans.max
		}
		result = map[string]any{
			"response":   summary,
			"completion": summary != "",
			"success":    success,
			"extensions": map[string]any{"http://learninglocker.net/xapi/cmi/numeric/response": assessPHPFloatval(rs)},
		}
	default:
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	// The plugin sends the NULL response summary of an unanswered
	// shortanswer or numerical question as "response": null, invalid
	// xAPI; the bridge leaves the response out.
	if result["response"] == nil {
		delete(result, "response")
	}
	return map[string]any{"objectType": "Activity", "definition": def}, result, nil
}

func quizSlugJoin(sel []string) string {
	out := make([]string, len(sel))
	for i, s := range sel {
		out[i] = Slugify(s)
	}
	return strings.Join(out, "[,]")
}

func quizStrings(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}
