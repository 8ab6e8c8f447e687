package moodle

// mod_survey events. Each mapper ports the logstore_xapi v5 transformer of
// the same name (src/transformer/events/mod_survey/...).

import "strings"

// surveyReportViewed: a user viewed a survey report (other.action names
// it).
func surveyReportViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	survey, err := ReadRecordByID(c.Repo, "survey", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	action := OtherStr(other, "action")
	lang := CourseLang(course)
	cmid := ev.Int("contextinstanceid")
	object := map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/survey/report.php?id=" + ev.Str("contextinstanceid") + "&action=" + action,
		"definition": map[string]any{
			"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/report",
			"name": map[string]any{lang: survey.Str("name") + " Report: " + surveyUcfirst(action)},
		},
	}
	ctx, err := c.assessContext(ev, lang, cmid, true)
	if err != nil {
		return nil, err
	}
	return []Statement{{"actor": c.Actor(user), "verb": Verb("viewed"), "object": object, "context": ctx}}, nil
}

// surveyUcfirst is PHP's ucfirst (ASCII only, as PHP 8).
func surveyUcfirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
