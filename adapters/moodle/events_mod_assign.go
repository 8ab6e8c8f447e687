package moodle

// mod_assign events: ports of logstore_xapi v5's
// src/transformer/events/mod_assign/*, plus submission_status_viewed, which
// the plugin does not map. (course_module_viewed is in events_core.go.)

// assignSubmission is the plugin's get_activity\assign_submission: the
// submission part of the assignment of course module cmid.
func assignSubmission(c *Ctx, cmid int64, lang string) (map[string]any, error) {
	name, err := modsInstanceName(c, cmid, "assign")
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/assign/view.php?id=" + modsItoa(cmid) + "#submission",
		"definition": map[string]any{
			"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/submission",
			"name": map[string]any{lang: name + " Submission"},
		},
	}, nil
}

// assignSubmitted (assessable_submitted): the user submitted the assignment.
//
// The plugin also reads the assign_submission (objectid) and its assign
// record without using them; they are not read here.
func assignSubmitted(c *Ctx, ev Row) ([]Statement, error) {
	user, _, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	obj, err := assignSubmission(c, ev.Int("contextinstanceid"), lang)
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true)
	if err != nil {
		return nil, err
	}
	return []Statement{modsStatement(c.Actor(user), Verb("submitted"), obj, ctx)}, nil
}

// assignGraded (submission_graded): the graded learner scored on the
// submission, the grader as instructor; result.response is the feedback
// comment, result.score only when the grade lies within the grade item's
// bounds (scaled -1..1 as the plugin's get_scaled_score computes it).
func assignGraded(c *Ctx, ev Row) ([]Statement, error) {
	table := ev.Str("objecttable")
	if table == "" {
		table = "assign_grades"
	}
	grade, err := ReadRecordByID(c.Repo, table, ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	user, err := c.User(grade.Int("userid"))
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	instructor, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)

	// A missing comment record is no comment (the plugin catches it).
	var comment any
	crow, err := ReadRecord(c.Repo, "assignfeedback_comments", map[string]any{"assignment": grade.Int("assignment"), "grade": grade.Int("id")})
	switch {
	case err == nil:
		comment = crow["commenttext"]
	case !IsMissing(err):
		return nil, err
	}

	items, err := ReadRecord(c.Repo, "grade_items", map[string]any{"itemmodule": "assign", "iteminstance": grade.Int("assignment")})
	if err != nil {
		return nil, err
	}
	raw, _ := grade.Float("grade")
	min, _ := items.Float("grademin")
	max, _ := items.Float("grademax")
	pass, _ := items.Float("gradepass")

	obj, err := assignSubmission(c, ev.Int("contextinstanceid"), lang)
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true)
	if err != nil {
		return nil, err
	}
	ctx["instructor"] = c.Actor(instructor)
	result := map[string]any{"success": raw >= pass}
	if comment != nil {
		result["response"] = Row{"v": comment}.Str("v")
	}
	if min <= raw && raw <= max {
		scaled := 0.0
		if max != min {
			scaled = (raw-min)/(max-min)*2 - 1
		}
		result["score"] = map[string]any{"raw": raw, "min": min, "max": max, "scaled": scaled}
	}
	s := modsStatement(c.Actor(user), Verb("scored"), obj, ctx)
	s["result"] = result
	return []Statement{s}, nil
}

// assignFeedbackViewed: the user viewed the feedback of the assignment, the
// grader as instructor.
func assignFeedbackViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, _, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	cmid := ev.Int("contextinstanceid")
	name, err := modsInstanceName(c, cmid, "")
	if err != nil {
		return nil, err
	}
	grade, err := ReadRecordByID(c.Repo, "assign_grades", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	grader, err := c.User(grade.Int("grader"))
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true)
	if err != nil {
		return nil, err
	}
	ctx["instructor"] = c.Actor(grader)
	obj := map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/assign/view.php?id=" + modsItoa(cmid) + "#feedback",
		"definition": map[string]any{
			"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/feedback",
			"name": map[string]any{lang: name + " Feedback"},
		},
	}
	return []Statement{modsStatement(c.Actor(user), Verb("viewed"), obj, ctx)}, nil
}

// assignSubmissionLocked (submission_locked and submission_unlocked): the
// teacher locked or unlocked the learner's (relateduserid) submission. The
// "Unocked" display is the plugin's.
func assignSubmissionLocked(c *Ctx, ev Row) ([]Statement, error) {
	verb := inlineVerb("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/unlocked", "Unocked")
	if ev.Str("action") == "locked" {
		verb = inlineVerb("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/locked", "Locked")
	}
	return assignForLearner(c, ev, verb)
}

// assignSubmissionViewed: the teacher viewed the learner's (relateduserid)
// submission.
func assignSubmissionViewed(c *Ctx, ev Row) ([]Statement, error) {
	return assignForLearner(c, ev, Verb("viewed"))
}

// assignForLearner is the shape of submission_locked and submission_viewed:
// the teacher acts on the assignment submission, the learner in the
// yetanalytics "for" context extension.
func assignForLearner(c *Ctx, ev Row, verb map[string]any) ([]Statement, error) {
	instructor, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	learner, err := c.User(ev.Int("relateduserid"))
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	obj, err := assignSubmission(c, ev.Int("contextinstanceid"), lang)
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true)
	if err != nil {
		return nil, err
	}
	ctx["extensions"].(map[string]any)[assignForExt] = c.Actor(learner)
	return []Statement{modsStatement(c.Actor(instructor), verb, obj, ctx)}, nil
}

const assignForExt = "https://yetanalytics.com/profiles/prepositions/concepts/context-extensions/for"

// assignSubmissionStatusViewed maps \mod_assign\event\submission_status_viewed,
// which logstore_xapi v5 does not map although Moodle logs it each time a
// student opens an assignment (view.php shows the student's own submission
// status), making it one of the most frequent events of a course.
//
// Designed in the plugin's style, after its submission_viewed: the viewer
// (userid) "viewed" the assignment's submission (get_activity\assign_submission
// of the course module, "<name> Submission", …#submission), with the
// assignment, its section and course as parents and the site as category.
// Moodle's event has no relateduserid (the viewer is the submitter); should
// one be logged for another user, that user goes in the "for" extension as in
// submission_viewed.
func assignSubmissionStatusViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, _, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	obj, err := assignSubmission(c, ev.Int("contextinstanceid"), lang)
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true)
	if err != nil {
		return nil, err
	}
	if rel := ev.Int("relateduserid"); rel > 0 && rel != ev.Int("userid") {
		learner, err := c.User(rel)
		if err != nil {
			return nil, err
		}
		ctx["extensions"].(map[string]any)[assignForExt] = c.Actor(learner)
	}
	return []Statement{modsStatement(c.Actor(user), Verb("viewed"), obj, ctx)}, nil
}
