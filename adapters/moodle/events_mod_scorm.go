package moodle

// mod_scorm events. Each mapper ports the logstore_xapi v5 transformer of
// the same name (src/transformer/events/mod_scorm/...), with its utils
// get_activity\scorm_content_object, get_scorm_tracks, get_scorm_verb and
// get_scorm_result.

import (
	"math"
	"strconv"
)

// scormEvent: a user launched a SCO, or submitted a status or a raw score
// (verb from the attempt's cmi.core.lesson_status: passed, failed or
// completed; the score with the attempt's min and max).
func scormEvent(tracked, scored bool) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.User(ev.Int("userid"))
		if err != nil {
			return nil, err
		}
		course, err := c.Course(ev.Int("courseid"))
		if err != nil {
			return nil, err
		}
		lang := CourseLang(course)
		cmid := ev.Int("contextinstanceid")
		object, err := c.scormContentObject(lang, cmid)
		if err != nil {
			return nil, err
		}
		verb := map[string]any{"id": "http://adlnet.gov/expapi/verbs/launched", "display": map[string]any{"en": "Launched"}}
		var result map[string]any
		if tracked {
			other, err := Other(ev)
			if err != nil {
				return nil, err
			}
			// As the plugin: other.attemptid as the attempt number and the
			// course module id as the SCO id (the event names neither the
			// SCO nor, since Moodle 4.3, the attempt number).
			tracks, err := c.scormTracks(user.Int("id"), ev.Int("objectid"), cmid, OtherInt(other, "attemptid"))
			if err != nil {
				return nil, err
			}
			verb = scormVerb(tracks)
			if scored {
				// The plugin passes floatval(cmivalue) to an int parameter:
				// PHP truncates it.
				raw := math.Trunc(assessPHPFloatval(OtherStr(other, "cmivalue")))
				result = scormResult(tracks, int64(raw))
			}
		}
		ctx, err := c.assessContext(ev, lang, cmid, true)
		if err != nil {
			return nil, err
		}
		s := Statement{"actor": c.Actor(user), "verb": verb, "object": object, "context": ctx}
		if result != nil {
			s["result"] = result
		}
		return []Statement{s}, nil
	}
}

// scormContentObject is the plugin's get_activity\scorm_content_object.
func (c *Ctx) scormContentObject(lang string, cmid int64) (map[string]any, error) {
	cm, err := ReadRecordByID(c.Repo, "course_modules", cmid)
	if err != nil {
		return nil, err
	}
	module, err := ReadRecordByID(c.Repo, "modules", cm.Int("module"))
	if err != nil {
		return nil, err
	}
	name := module.Str("name")
	instance, err := ReadRecordByID(c.Repo, name, cm.Int("instance"))
	if err != nil {
		return nil, err
	}
	instName := name
	if instance.Has("name") {
		instName = instance.Str("name")
	}
	return map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/" + name + "/view.php?id=" + strconv.FormatInt(cmid, 10) + "#sco",
		"definition": map[string]any{
			"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/scorm-content-object",
			"name": map[string]any{lang: instName + " Content"},
		},
	}, nil
}

type scormTrack struct{ element, value string }

// scormTracks is the plugin's get_scorm_tracks (Moodle 4.3+ tables
// scorm_attempt, scorm_scoes_value, scorm_element).
func (c *Ctx) scormTracks(userID, scormID, scoID, attempt int64) ([]scormTrack, error) {
	att, err := ReadRecord(c.Repo, "scorm_attempt", map[string]any{"userid": userID, "scormid": scormID, "attempt": attempt})
	if err != nil {
		return nil, err
	}
	values, err := c.Repo.ReadRecords("scorm_scoes_value", map[string]any{"attemptid": att.Int("id"), "scoid": scoID}, "id")
	if err != nil {
		return nil, err
	}
	out := make([]scormTrack, 0, len(values))
	for _, v := range values {
		el, err := ReadRecordByID(c.Repo, "scorm_element", v.Int("elementid"))
		if err != nil {
			return nil, err
		}
		out = append(out, scormTrack{el.Str("element"), v.Str("value")})
	}
	return out, nil
}

// scormVerb is the plugin's get_scorm_verb: from the last lesson status.
func scormVerb(tracks []scormTrack) map[string]any {
	status := ""
	for _, t := range tracks {
		if t.element == "cmi.core.lesson_status" {
			status = t.value
		}
	}
	switch status {
	case "failed":
		return map[string]any{"id": "http://adlnet.gov/expapi/verbs/failed", "display": map[string]any{"en": "Failed"}}
	case "passed":
		return map[string]any{"id": "http://adlnet.gov/expapi/verbs/passed", "display": map[string]any{"en": "Passed"}}
	}
	return Verb("completed")
}

// scormResult is the plugin's get_scorm_result: raw, with min and max
// when tracked and scaled (the plugin's formula) when both are.
func scormResult(tracks []scormTrack, raw int64) map[string]any {
	var min, max *float64
	for _, t := range tracks {
		v := assessPHPFloatval(t.value)
		switch t.element {
		case "cmi.core.score.min":
			min = &v
		case "cmi.core.score.max":
			max = &v
		}
	}
	score := map[string]any{"raw": raw}
	if min != nil {
		score["min"] = *min
	}
	if max != nil {
		score["max"] = *max
	}
	if min != nil && max != nil {
		score["scaled"] = assessPluginScaled(float64(raw), *min, *max)
	}
	return map[string]any{"score": score}
}
