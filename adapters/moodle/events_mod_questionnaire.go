package moodle

// mod_questionnaire events. Each mapper ports the logstore_xapi v5
// transformer of the same name (src/transformer/events/mod_questionnaire/...).

// questionnaireModuleEvent: a user resumed, saved or submitted a
// questionnaire, or submitted a survey: the module is the object, its
// section and course the parents.
func questionnaireModuleEvent(verb map[string]any) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.User(ev.Int("userid"))
		if err != nil {
			return nil, err
		}
		course, err := c.Course(ev.Int("courseid"))
		if err != nil {
			return nil, err
		}
		cmid := ev.Int("contextinstanceid")
		object, err := c.CourseModule(course, cmid)
		if err != nil {
			return nil, err
		}
		ctx, err := c.assessContext(ev, CourseLang(course), cmid, false)
		if err != nil {
			return nil, err
		}
		return []Statement{{"actor": c.Actor(user), "verb": assessClone(verb), "object": object, "context": ctx}}, nil
	}
}

// questionnaireAllResponsesViewed: a user viewed the report of all the
// responses to a questionnaire (the event's objectid).
func questionnaireAllResponsesViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	q, err := ReadRecordByID(c.Repo, "questionnaire", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	def := map[string]any{"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/report"}
	if q["name"] != nil {
		def["name"] = map[string]any{lang: q.Str("name") + " Report"}
	}
	object := map[string]any{"objectType": "Activity",
		"id": c.Opt.WWWRoot + "/mod/questionnaire/report.php?instance=" + q.Str("id") + "&group=0", "definition": def}
	ctx, err := c.assessContext(ev, lang, ev.Int("contextinstanceid"), true)
	if err != nil {
		return nil, err
	}
	return []Statement{{"actor": c.Actor(user), "verb": Verb("viewed"), "object": object, "context": ctx}}, nil
}
