package moodle

// Quiz utils: ports of logstore_xapi's quiz_attempt / quiz_review
// activities, get_attempt_result, get_attempt_duration, get_scaled_score,
// get_quiz_question_id, quiz_question\get_numerical_answer and the
// question definitions of definition\question.

import (
	"math"
	"strconv"
	"strings"
)

// quizAttemptActivity is the plugin's get_activity\quiz_attempt (its name
// is in the plugin's source language, "en", not the course's).
func (c *Ctx) quizAttemptActivity(attemptID, cmid int64) (map[string]any, error) {
	attempt, err := ReadRecordByID(c.Repo, "quiz_attempts", attemptID)
	if err != nil {
		return nil, err
	}
	quiz, err := ReadRecordByID(c.Repo, "quiz", attempt.Int("quiz"))
	if err != nil {
		return nil, err
	}
	id := strconv.FormatInt(attemptID, 10)
	return map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/quiz/attempt.php?attempt=" + id + "&cmid=" + strconv.FormatInt(cmid, 10),
		"definition": map[string]any{
			"type": "http://adlnet.gov/expapi/activities/attempt",
			"name": map[string]any{"en": quiz.Str("name") + " Attempt " + id},
		},
	}, nil
}

// quizReviewActivity is the plugin's get_activity\quiz_review (its id has
// no /mod/quiz, as the plugin's).
func (c *Ctx) quizReviewActivity(attemptID string) map[string]any {
	return map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/review.php?attempt=" + attemptID,
		"definition": map[string]any{
			"type": "http://activitystrea.ms/schema/1.0/review",
			"name": map[string]any{"en": "Review"},
		},
	}
}

// quizScaled is result.score.scaled of the quiz statements.
//
// By default it is exactly the plugin's get_scaled_score,
// (raw-min)/(max-min)*2 - 1: a score in -1..1 where half marks give 0, and
// a negative value for any score below half marks (or below min, for the
// unclamped fraction of a manually graded question). Users dispute it:
// xAPI reads scaled as the share of the maximum score, 0..1 for a score
// between min and max. With Options.ScaledZeroOne the bridge reports that
// instead: (raw-min)/(max-min), clamped to [0, 1] (0 when max equals min,
// as the plugin). Only the quiz's scaled score changes; raw, min and max
// are the plugin's.
func (c *Ctx) quizScaled(raw, min, max float64) float64 {
	if !c.Opt.ScaledZeroOne {
		return assessPluginScaled(raw, min, max)
	}
	if max == min {
		return 0
	}
	return math.Max(0, math.Min(1, (raw-min)/(max-min)))
}

// quizAttemptDuration is the plugin's get_attempt_duration ("" = none).
func quizAttemptDuration(attempt Row) string {
	if attempt["timefinish"] == nil || attempt["timestart"] == nil {
		return ""
	}
	if s := attempt.Int("timefinish") - attempt.Int("timestart"); s > 0 {
		return "PT" + strconv.FormatInt(s, 10) + "S"
	}
	return ""
}

// quizAttemptResult is the plugin's get_attempt_result.
func (c *Ctx) quizAttemptResult(attempt, gradeItem, grade Row) map[string]any {
	sum := assessFloatCol(grade, "rawgrade")
	min := assessFloatCol(gradeItem, "grademin")
	max := assessFloatCol(gradeItem, "grademax")
	pass := assessFloatCol(gradeItem, "gradepass")
	raw := assessCapRaw(sum, min, max)
	res := map[string]any{
		"score": map[string]any{
			"raw":    raw,
			"min":    min,
			"max":    max,
			"scaled": c.quizScaled(raw, min, max),
		},
		"completion": attempt["state"] != nil && attempt.Str("state") == "finished",
		"success":    sum >= pass,
	}
	if d := quizAttemptDuration(attempt); d != "" {
		res["duration"] = d
	}
	return res
}

// quizQuestionID is the plugin's get_quiz_question_id.
func (c *Ctx) quizQuestionID(cmid, questionID int64) string {
	return c.Opt.WWWRoot + "/question/question.php?cmid=" + strconv.FormatInt(cmid, 10) + "&id=" + strconv.FormatInt(questionID, 10)
}

// quizNumericalAnswer is the plugin's quiz_question\get_numerical_answer:
// the answer with the highest fraction, its tolerance giving min and max.
// A non-numeric answer (the "*" wildcard) has no min and max; target is
// then the answer's text.
type quizNumericalAnswer struct {
	min, max  *float64
	target    float64
	targetStr string
	numeric   bool
}

func (c *Ctx) quizNumericalAnswer(questionID int64) (quizNumericalAnswer, error) {
	var out quizNumericalAnswer
	answers, err := c.Repo.ReadRecords("question_answers", map[string]any{"question": questionID}, "id")
	if err != nil {
		return out, err
	}
	if len(answers) == 0 {
		return out, &MissingError{Table: "question_answers", Query: "question=" + strconv.FormatInt(questionID, 10)}
	}
	best := answers[0] // PHP 8's usort is stable: the first of the highest fractions
	for _, a := range answers[1:] {
		if assessFloatCol(a, "fraction") > assessFloatCol(best, "fraction") {
			best = a
		}
	}
	out.targetStr = best.Str("answer")
	if !assessPHPIsNumeric(out.targetStr) {
		return out, nil
	}
	nums, err := c.Repo.ReadRecords("question_numerical", map[string]any{"answer": best.Int("id")}, "id")
	if err != nil {
		return out, err
	}
	tol := 0.0
	if len(nums) > 0 {
		tol = assessFloatCol(nums[0], "tolerance")
	}
	out.numeric = true
	out.target = assessPHPFloatval(out.targetStr)
	lo, hi := out.target-tol, out.target+tol
	out.min, out.max = &lo, &hi
	return out, nil
}

// --- question definitions (the plugin's definition\question) ---

func quizQuestionText(q Row) *string { return assessPtr(assessStrip(q, "questiontext")) }

func (c *Ctx) quizQuestionChoices(q Row) ([]string, error) {
	answers, err := c.Repo.ReadRecords("question_answers", map[string]any{"question": q.Int("id")}, "id")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(answers))
	for _, a := range answers {
		out = append(out, assessStrip(a, "answer"))
	}
	return out, nil
}

// quizMultichoiceDefinition is get_multichoice_definition: a choice
// definition, or a sequencing one (gapselect). rightAnswer nil = unknown.
func (c *Ctx) quizMultichoiceDefinition(q Row, lang string, sequencing bool, rightAnswer any) (map[string]any, error) {
	choices, err := c.quizQuestionChoices(q)
	if err != nil {
		return nil, err
	}
	ra, known := rightAnswer.(string)
	if sequencing {
		var right []string
		if known {
			right = strings.Split(strings.Trim(ra, "{}"), "} {")
		}
		return c.assessCMISequencing(q.Str("name"), quizQuestionText(q), choices, lang, right), nil
	}
	var right []string
	if known {
		right = strings.Split(StripHTML(ra), "; ")
	}
	return c.CMIChoice(q.Str("name"), quizQuestionText(q), choices, lang, right), nil
}

// quizMatchDefinition is get_match_definition (match, randomsamatch).
func (c *Ctx) quizMatchDefinition(q Row, lang string) (map[string]any, error) {
	subs, err := c.Repo.ReadRecords("qtype_match_subquestions", map[string]any{"questionid": q.Int("id")}, "id")
	if err != nil {
		return nil, err
	}
	var source, target []string
	for _, s := range subs {
		source = append(source, assessStrip(s, "questiontext"))
		target = append(target, s.Str("answertext"))
	}
	return assessCMIMatching(q.Str("name"), quizQuestionText(q), source, target, lang), nil
}

// quizNumericalDefinition is get_numerical_definition: the exact target
// when the tolerance is nil, else min[:]max.
func (c *Ctx) quizNumericalDefinition(q Row, lang string) (map[string]any, error) {
	ans, err := c.quizNumericalAnswer(q.Int("id"))
	if err != nil {
		return nil, err
	}
	var min, max, exact *string
	if ans.numeric {
		min = assessPtr(assessPHPFloatString(*ans.min))
		max = assessPtr(assessPHPFloatString(*ans.max))
		if *ans.min == ans.target && *ans.max == ans.target {
			exact = assessPtr(assessPHPFloatString(ans.target))
		}
	}
	return assessCMINumeric(q.Str("name"), quizQuestionText(q), min, max, exact, lang), nil
}

// quizTrueFalseDefinition is get_true_false_definition: the correct answer
// is the first answer with fraction 1 ("false" when there is none, as the
// plugin reads a property of false).
func (c *Ctx) quizTrueFalseDefinition(q Row, lang string) (map[string]any, error) {
	answers, err := c.Repo.ReadRecords("question_answers", map[string]any{"question": q.Int("id")}, "id")
	if err != nil {
		return nil, err
	}
	correct := false
	for _, a := range answers {
		if assessFloatCol(a, "fraction") == 1 {
			correct = a.Str("answer") == "True"
			break
		}
	}
	return assessCMITrueFalse(q.Str("name"), quizQuestionText(q), lang, &correct), nil
}
