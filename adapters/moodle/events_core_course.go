package moodle

// Course, category, section and course-module events of the core component
// (logstore_xapi v5 src/transformer/events/core/course_*.php).

// coreCourseCategoryCreated: the user created a course category, whose
// parent category is the context parent.
//
// The plugin reads the parent category unconditionally, so a top-level
// category (parent 0) fails there; here it has no parent activity.
func coreCourseCategoryCreated(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	table := ev.Str("objecttable")
	if table == "" {
		table = "course_categories"
	}
	cat, err := ReadRecordByID(c.Repo, table, ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	var parent Row
	if cat.Int("parent") != 0 {
		if parent, err = ReadRecordByID(c.Repo, table, cat.Int("parent")); err != nil {
			return nil, err
		}
	}
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbCreated(), c.coreCourseCategoryActivity(cat), coreSourceLang, nil)
	if err != nil {
		return nil, err
	}
	if parent != nil {
		coreContextActivities(s)["parent"] = []any{c.coreCourseCategoryActivity(parent)}
	}
	return []Statement{s}, nil
}

// coreCourseCreatedOrUpdated: the user created or edited a course.
func coreCourseCreatedOrUpdated(verb func() map[string]any) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.coreUserByCol(ev, "userid")
		if err != nil {
			return nil, err
		}
		course, err := c.Course(ev.Int("courseid"))
		if err != nil {
			return nil, err
		}
		s, err := c.coreStatement(ev, c.Actor(user), verb(), c.CourseActivity(course), CourseLang(course), nil)
		if err != nil {
			return nil, err
		}
		return []Statement{s}, nil
	}
}

// coreCourseCompletionUpdated: the user edited the course's completion
// criteria.
func coreCourseCompletionUpdated(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	obj := coreActivity(c.Opt.WWWRoot+"/course/completion.php?id="+course.Str("id"), map[string]any{
		"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/course-completion-criteria",
		"name": coreLangMap(lang, course.Str("fullname")+" Completion Criteria"),
	})
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbEdited(), obj, lang, course)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreCourseResourcesListViewed: the user viewed the course's list of
// resources.
func coreCourseResourcesListViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	obj := coreActivity(c.Opt.WWWRoot+"/course/resources.php?id="+course.Str("id"), map[string]any{
		"type": "https://w3id.org/xapi/acrossx/activities/webpage",
		"name": coreLangMap(lang, course.Str("fullname")+" Resources"),
	})
	s, err := c.coreStatement(ev, c.Actor(user), Verb("viewed"), obj, lang, course)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreCourseSectionCreated: the user created a course section.
func coreCourseSectionCreated(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	section, err := c.CourseSection(course, ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbCreated(), section, CourseLang(course), course)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreModuleStatement is a statement about the event's course module
// (contextinstanceid), with its section and course as parents.
func (c *Ctx) coreModuleStatement(ev Row, actor Row, verb map[string]any) (Statement, error) {
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	cmid := ev.Int("contextinstanceid")
	obj, err := c.CourseModule(course, cmid)
	if err != nil {
		return nil, err
	}
	parent, err := c.Parent(cmid, false)
	if err != nil {
		return nil, err
	}
	s, err := c.coreStatement(ev, c.Actor(actor), verb, obj, CourseLang(course), nil)
	if err != nil {
		return nil, err
	}
	coreContextActivities(s)["parent"] = parent
	return s, nil
}

// coreCourseModuleCreated: the user created a course module.
func coreCourseModuleCreated(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	s, err := c.coreModuleStatement(ev, user, coreVerbCreated())
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreCourseModuleCompletionUpdated: the related user's completion of a
// course module changed: completed (other.completionstate 1 complete, 2
// pass, 3 fail: result.completion, and success for pass/fail) or
// uncompleted (0).
func coreCourseModuleCompletionUpdated(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "relateduserid")
	if err != nil {
		return nil, err
	}
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	state := OtherInt(other, "completionstate")
	verb := coreVerbUncompleted()
	var result map[string]any
	if state != 0 {
		verb = Verb("completed")
		result = map[string]any{"completion": true}
		if state > 1 {
			result["success"] = state == 2
		}
	}
	s, err := c.coreModuleStatement(ev, user, verb)
	if err != nil {
		return nil, err
	}
	if result != nil {
		s["result"] = result
	}
	return []Statement{s}, nil
}
