package moodle

// mod_feedback events: ports of logstore_xapi v5's
// mod_feedback\response_submitted\handler and item_answered\*.

import (
	"strings"
)

// feedbackResponseSubmitted: a user submitted a feedback: one "submitted"
// statement for the module, then one "answered" statement per value of a
// supported item type (multichoicerated, multichoice, numeric, textarea,
// textfield). An anonymous response has the plugin's anonymous actor.
func feedbackResponseSubmitted(c *Ctx, ev Row) ([]Statement, error) {
	completed, err := ReadRecordByID(c.Repo, "feedback_completed", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	var actor map[string]any
	if completed.Int("anonymous_response") == 1 { // FEEDBACK_ANONYMOUS_YES
		actor = map[string]any{"name": "Anonymous Course Participant",
			"account": map[string]any{"homePage": c.Opt.WWWRoot, "name": "anonymous"}}
	} else {
		user, err := c.User(ev.Int("userid"))
		if err != nil {
			return nil, err
		}
		actor = c.Actor(user)
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	cmid := ev.Int("contextinstanceid")
	object, err := c.CourseModule(course, cmid)
	if err != nil {
		return nil, err
	}
	ctx, err := c.assessContext(ev, lang, cmid, false)
	if err != nil {
		return nil, err
	}
	out := []Statement{{"actor": actor, "verb": Verb("submitted"), "object": object, "context": ctx}}

	values, err := c.Repo.ReadRecords("feedback_value", map[string]any{"completed": ev.Int("objectid")}, "id")
	if err != nil || len(values) == 0 {
		return out, err
	}
	itemCtx, err := c.assessContext(ev, lang, cmid, true)
	if err != nil {
		return nil, err
	}
	for _, v := range values {
		item, err := ReadRecordByID(c.Repo, "feedback_item", v.Int("item"))
		if err != nil {
			return nil, err
		}
		def, result := c.feedbackItemAnswered(item, v, lang)
		if def == nil {
			continue // an item type the plugin does not map
		}
		// A NULL value, or a choice out of range (PHP reads it as null),
		// would be "response": null, invalid xAPI: the bridge leaves the
		// response out (the extensions keep their null).
		if result["response"] == nil {
			delete(result, "response")
		}
		out = append(out, Statement{
			"actor": assessClone(actor),
			"verb":  assessClone(quizAnswered),
			"object": map[string]any{"objectType": "Activity",
				"id": c.Opt.WWWRoot + "/mod/feedback/edit_item.php?id=" + item.Str("id"), "definition": def},
			"result":  result,
			"context": assessClone(itemCtx),
		})
	}
	return out, nil
}

// feedbackItemAnswered is the plugin's item_answered\<typ>: the item's
// definition and the value's result (nil definition for other types).
func (c *Ctx) feedbackItemAnswered(item, v Row, lang string) (map[string]any, map[string]any) {
	name, value := item.Str("name"), v.Str("value")
	result := map[string]any{"response": value, "completion": v["value"] == nil || value != ""}
	switch item.Str("typ") {
	case "multichoicerated":
		type choice struct {
			rating int64
			name   any
		}
		var choices []choice
		var names []string
		for _, p := range strings.Split(feedbackPresentation(item), "|") {
			rating, n, ok := strings.Cut(p, "####")
			ch := choice{rating: assessPHPIntval(rating)}
			if ok {
				n, _, _ = strings.Cut(n, "####")
				ch.name = n
			}
			choices = append(choices, ch)
			names = append(names, Row{"n": ch.name}.Str("n"))
		}
		// PHP reads an index out of range as null.
		var sel, rating any
		if i := assessPHPIntval(value) - 1; i >= 0 && i < int64(len(choices)) {
			sel, rating = choices[i].name, choices[i].rating
		}
		result["response"] = sel
		result["extensions"] = map[string]any{
			"http://learninglocker.net/xapi/moodle/feedback_item_rating": rating,
			"http://learninglocker.net/xapi/cmi/choice/response":         sel,
		}
		return c.CMIChoice(name, nil, names, lang, nil), result
	case "multichoice":
		choices := strings.Split(feedbackPresentation(item), "\n|")
		var sel any
		if i := assessPHPIntval(value) - 1; i >= 0 && i < int64(len(choices)) {
			sel = choices[i]
		}
		result["response"] = sel
		result["extensions"] = map[string]any{"http://learninglocker.net/xapi/cmi/choice/response": sel}
		return c.CMIChoice(name, nil, choices, lang, nil), result
	case "numeric":
		parts := strings.Split(item.Str("presentation"), "|")
		min := assessPtr(parts[0])
		var max *string
		if len(parts) > 1 {
			max = &parts[1]
		}
		result["response"] = assessNullableStr(v, "value")
		result["extensions"] = map[string]any{"http://learninglocker.net/xapi/cmi/numeric/response": assessPHPFloatval(value)}
		return assessCMINumeric(name, nil, min, max, nil, lang), result
	case "textarea":
		result["response"] = assessNullableStr(v, "value")
		return assessCMILongFillIn(name, nil, lang), result
	case "textfield":
		result["response"] = assessNullableStr(v, "value")
		return assessCMIFillIn(name, nil, lang, nil), result
	}
	return nil, nil
}

// feedbackPresentation is the item's presentation without its first six
// characters (the "r>>>>>" of a choice item), as PHP's substr($p, 6).
func feedbackPresentation(item Row) string {
	p := item.Str("presentation")
	if len(p) <= 6 {
		return ""
	}
	return p[6:]
}
