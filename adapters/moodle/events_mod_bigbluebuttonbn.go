package moodle

// mod_bigbluebuttonbn events: ports of logstore_xapi v5's
// src/transformer/events/mod_bigbluebuttonbn/*, which all go through its
// handler.php create_statement: the user did <verb> to the BigBlueButton
// course module, with section and course as parents.

// bbbStatement is the plugin's mod_bigbluebuttonbn\create_statement.
func bbbStatement(verbID, display string) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		return modsModuleEvent(c, ev, inlineVerb(verbID, display))
	}
}

// modsModuleEvent: the user (userid) did verb to the event's course module
// (get_activity\course_module), parents the section and course. Several
// plugin transformers share this shape (bigbluebuttonbn, facetoface,
// forum subscriptions).
func modsModuleEvent(c *Ctx, ev Row, verb map[string]any) ([]Statement, error) {
	user, course, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	obj, err := c.CourseModule(course, ev.Int("contextinstanceid"))
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, false)
	if err != nil {
		return nil, err
	}
	return []Statement{modsStatement(c.Actor(user), verb, obj, ctx)}, nil
}
