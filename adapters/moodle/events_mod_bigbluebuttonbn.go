package moodle

// mod_bigbluebuttonbn events: ports of logstore_xapi v5's
// src/transformer/events/mod_bigbluebuttonbn/*, which all go through its
// handler.php create_statement: the user did <verb> to the BigBlueButton
// course module, with section and course as parents.

func init() {
	for name, v := range map[string][2]string{
		// The plugin maps activity_viewed to a mod_bigbluebuttonbn\activity_viewed
		// function it does not define (the event fails there); it is mapped here
		// like activity_management_viewed, a plain "viewed" of the module.
		"activity_viewed":            {"http://id.tincanapi.com/verb/viewed", "Viewed"},
		"activity_management_viewed": {"http://id.tincanapi.com/verb/viewed", "Viewed"},
		"live_session_event":         {"http://id.tincanapi.com/verb/live", "Live"},
		"meeting_created":            {"http://activitystrea.ms/schema/1.0/create", "Created"},
		"meeting_ended":              {"http://id.tincanapi.com/verb/adjourned", "Adjourned"},
		"meeting_joined":             {"http://activitystrea.ms/schema/1.0/join", "Joined"},
		"meeting_left":               {"http://activitystrea.ms/schema/1.0/leave", "Left"},
		"recording_deleted":          {"https://w3id.org/xapi/dod-isd/verbs/deleted", "Deleted"},
		"recording_edited":           {"https://w3id.org/xapi/dod-isd/verbs/edited", "Edited"},
		"recording_imported":         {"http://adlnet.gov/expapi/verbs/imported", "Imported"},
		"recording_protected":        {"http://id.tincanapi.com/verb/secured", "Secured"},
		"recording_published":        {"https://w3id.org/xapi/dod-isd/verbs/published", "Published"},
		"recording_unprotected":      {"http://id.tincanapi.com/verb/unsecured", "Unsecured"},
		"recording_unpublished":      {"http://activitystrea.ms/schema/1.0/retract", "Retracted"},
		"recording_viewed":           {"http://id.tincanapi.com/verb/viewed", "Viewed"},
	} {
		register(`\mod_bigbluebuttonbn\event\`+name, bbbStatement(v[0], v[1]))
	}
}

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
