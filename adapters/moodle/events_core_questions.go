package moodle

// Question bank events of the core component (logstore_xapi v5
// src/transformer/events/core/question_created.php, questions_imported.php)
// and the question definitions they use
// (src/transformer/utils/get_activity/definition/question.php).

import (
	"sort"
	"strconv"
	"strings"
)

// coreQuestionCreated: the user created a question in a course's bank; the
// object is the question as a cmi.interaction (by question type) with the
// Moodle question type as an extension.
func coreQuestionCreated(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	question, err := ReadRecordByID(c.Repo, "question", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	def, err := c.coreQuestionDefinition(question, lang)
	if err != nil {
		return nil, err
	}
	ext(def)["https://xapi.edlm/profiles/edlm-lms/concepts/activity-extensions/moodle-question-type"] = question.Str("qtype")
	obj := coreActivity(c.Opt.WWWRoot+"/question?id="+question.Str("id"), def)
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbCreated(), obj, lang, course)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreQuestionsImported: the user imported questions (in a format) into a
// course's bank.
func coreQuestionsImported(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	obj := coreActivity(c.Opt.WWWRoot+"/question/bank/importquestions/import.php", map[string]any{
		"type": "http://adlnet.gov/expapi/activities/file",
		"name": coreLangMap(lang, "Questions in "+OtherStr(other, "format")+" format"),
	})
	s, err := c.coreStatement(ev, c.Actor(user), inlineVerb("http://adlnet.gov/expapi/verbs/imported", "Imported"), obj, lang, course)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreQuestionDefinition is the plugin's question\get_definition: an
// interaction definition by question type ({} for other types).
func (c *Ctx) coreQuestionDefinition(q Row, lang string) (map[string]any, error) {
	name := q.Str("name")
	desc := StripHTML(q.Str("questiontext"))
	switch q.Str("qtype") {
	case "essay":
		def := cmiCommon(name, &desc, lang)
		def["interactionType"] = "long-fill-in"
		return def, nil
	case "shortanswer":
		def := cmiCommon(name, &desc, lang)
		def["interactionType"] = "fill-in"
		return def, nil
	case "gapselect", "multichoice", "multichoiceset":
		answers, err := c.Repo.ReadRecords("question_answers", map[string]any{"question": q.Int("id")}, "")
		if err != nil {
			return nil, err
		}
		choices := make([]string, 0, len(answers))
		for _, a := range answers {
			choices = append(choices, StripHTML(a.Str("answer")))
		}
		def := c.CMIChoice(name, &desc, choices, lang, nil)
		if q.Str("qtype") == "gapselect" {
			def["interactionType"] = "sequencing"
		}
		return def, nil
	case "truefalse":
		answers, err := c.Repo.ReadRecords("question_answers", map[string]any{"question": q.Int("id")}, "")
		if err != nil {
			return nil, err
		}
		correct := false
		for _, a := range answers {
			if f, ok := a.Float("fraction"); ok && f == 1 {
				correct = a.Str("answer") == "True"
				break
			}
		}
		def := cmiCommon(name, &desc, lang)
		def["interactionType"] = "true-false"
		def["correctResponsesPattern"] = []any{strconv.FormatBool(correct)}
		return def, nil
	case "match", "randomsamatch":
		subqs, err := c.Repo.ReadRecords("qtype_match_subquestions", map[string]any{"questionid": q.Int("id")}, "")
		if err != nil {
			return nil, err
		}
		source := make([]any, 0, len(subqs))
		target := make([]any, 0, len(subqs))
		pairs := make([]string, 0, len(subqs))
		for _, sq := range subqs {
			src, tgt := StripHTML(sq.Str("questiontext")), sq.Str("answertext")
			source = append(source, map[string]any{"id": Slugify(src), "description": coreLangMap(lang, src)})
			target = append(target, map[string]any{"id": Slugify(tgt), "description": coreLangMap(lang, tgt)})
			pairs = append(pairs, Slugify(src)+"[.]"+Slugify(tgt))
		}
		def := cmiCommon(name, &desc, lang)
		def["interactionType"] = "matching"
		def["correctResponsesPattern"] = []any{strings.Join(pairs, "[,]")}
		def["source"] = source
		def["target"] = target
		return def, nil
	case "numerical":
		def := cmiCommon(name, &desc, lang)
		def["interactionType"] = "numeric"
		pattern, err := c.coreNumericalPattern(q.Int("id"))
		if err != nil {
			return nil, err
		}
		if pattern != "" {
			def["correctResponsesPattern"] = []any{pattern}
		}
		return def, nil
	}
	return map[string]any{}, nil
}

// coreNumericalPattern is the correct responses pattern of a numerical
// question (the plugin's quiz_question\get_numerical_answer and
// cmi\numeric): the best answer exactly when its tolerance is 0, else
// "min[:]max"; "[:]" for a wildcard answer; "" without answers (where the
// plugin fails).
func (c *Ctx) coreNumericalPattern(questionID int64) (string, error) {
	answers, err := c.Repo.ReadRecords("question_answers", map[string]any{"question": questionID}, "")
	if err != nil {
		return "", err
	}
	if len(answers) == 0 {
		return "", nil
	}
	sort.SliceStable(answers, func(i, j int) bool {
		a, _ := answers[i].Float("fraction")
		b, _ := answers[j].Float("fraction")
		return a > b
	})
	best := answers[0]
	target, err := strconv.ParseFloat(strings.TrimSpace(best.Str("answer")), 64)
	if err != nil {
		return "[:]", nil
	}
	nums, err := c.Repo.ReadRecords("question_numerical", map[string]any{"answer": best.Int("id")}, "")
	if err != nil {
		return "", err
	}
	tol := 0.0
	if len(nums) > 0 {
		tol, _ = nums[0].Float("tolerance")
	}
	min, max := target-tol, target+tol
	if min == target && max == target {
		return assessPHPFloatString(target), nil
	}
	return assessPHPFloatString(min) + "[:]" + assessPHPFloatString(max), nil
}
