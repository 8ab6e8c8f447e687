package moodle

// User, enrolment, session and site-page events of the core component
// (logstore_xapi v5 src/transformer/events/core/user_*.php,
// search_results_viewed.php) and \core\event\dashboard_viewed, which the
// plugin does not map.

// coreUserCreated: the new (related) user registered on the site.
func coreUserCreated(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "relateduserid")
	if err != nil {
		return nil, err
	}
	site, err := c.Site()
	if err != nil {
		return nil, err
	}
	s, err := c.coreStatement(ev, c.Actor(user), inlineVerb("http://adlnet.gov/expapi/verbs/registered", "Registered"), site, coreSourceLang, nil)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreEnrolmentStatusVerb: an updated enrolment is suspended (status 1)
// or resumed.
func coreEnrolmentStatusVerb(enrolment Row) map[string]any {
	if enrolment.Int("status") == 1 {
		return inlineVerb("https://w3id.org/xapi/tla/verbs/suspended", "Suspended")
	}
	return inlineVerb("https://w3id.org/xapi/tla/verbs/resumed", "Resumed")
}

// coreUserEnrolment: the related user was enrolled in, unenrolled from,
// suspended in or resumed in a course (readEnrolment: the verb depends on
// the user_enrolments record); the enrolling user is the instructor.
func coreUserEnrolment(verb func(enrolment Row) map[string]any, readEnrolment bool) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		var enrolment Row
		if readEnrolment {
			var err error
			if enrolment, err = ReadRecordByID(c.Repo, "user_enrolments", ev.Int("objectid")); err != nil {
				return nil, err
			}
		}
		user, err := c.coreOptionalUser(ev, "userid")
		if err != nil {
			return nil, err
		}
		cuser, err := c.coreUserByCol(ev, "relateduserid")
		if err != nil {
			return nil, err
		}
		course, err := c.Course(ev.Int("courseid"))
		if err != nil {
			return nil, err
		}
		ctx, err := c.coreEnrolmentContext(ev, cuser, user, CourseLang(course))
		if err != nil {
			return nil, err
		}
		return []Statement{{"actor": c.Actor(cuser), "verb": verb(enrolment), "object": c.CourseActivity(course), "context": ctx}}, nil
	}
}

// coreUserLoggedOut: the user logged out of the site (context: language
// and the info extension only, as the plugin).
func coreUserLoggedOut(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	site, err := c.Site()
	if err != nil {
		return nil, err
	}
	return []Statement{{"actor": c.Actor(user), "verb": Verb("loggedout"), "object": site,
		"context": c.ContextBase(ev, coreSourceLang)}}, nil
}

// coreSearchResultsViewed: the user searched the site (global search); the
// query is the response.
func coreSearchResultsViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	obj := coreActivity(c.Opt.WWWRoot+"/search/index.php", map[string]any{
		"type": "https://w3id.org/xapi/acrossx/activities/webpage",
		"name": coreLangMap(coreSourceLang, "Global Search"),
	})
	s, err := c.coreStatement(ev, c.Actor(user), inlineVerb("https://w3id.org/xapi/acrossx/verbs/searched", "Searched"), obj, coreSourceLang, nil)
	if err != nil {
		return nil, err
	}
	s["result"] = map[string]any{"response": OtherStr(other, "q")}
	return []Statement{s}, nil
}

// coreDashboardViewed: the user viewed their dashboard ("My" page,
// /my/). Not mapped by logstore_xapi; designed like its other site-page
// events (search_results_viewed, notes_viewed): verb viewed, an acrossx
// webpage activity named "Dashboard" at {wwwroot}/my/, the site language
// and the site as category. The event is in the user's context, so it has
// no course parent.
func coreDashboardViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	obj := coreActivity(c.Opt.WWWRoot+"/my/", map[string]any{
		"type": "https://w3id.org/xapi/acrossx/activities/webpage",
		"name": coreLangMap(coreSourceLang, "Dashboard"),
	})
	s, err := c.coreStatement(ev, c.Actor(user), Verb("viewed"), obj, coreSourceLang, nil)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}
