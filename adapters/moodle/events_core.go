package moodle

// Core and all-module events. Each mapper ports the logstore_xapi v5
// transformer of the same name (src/transformer/events/...).

// courseViewedOrCompleted: a user viewed or completed a course.
func courseViewedOrCompleted(verb, userCol string) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.User(ev.Int(userCol))
		if err != nil {
			return nil, err
		}
		course, err := c.Course(ev.Int("courseid"))
		if err != nil {
			return nil, err
		}
		site, err := c.Site()
		if err != nil {
			return nil, err
		}
		ctx := c.ContextBase(ev, CourseLang(course))
		ctx["contextActivities"] = map[string]any{"category": []any{site}}
		return []Statement{{"actor": c.Actor(user), "verb": Verb(verb), "object": c.CourseActivity(course), "context": ctx}}, nil
	}
}

// userLoggedIn: a user logged in (or logged in as another user).
func userLoggedIn(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	site, err := c.Site()
	if err != nil {
		return nil, err
	}
	ctx := c.ContextBase(ev, "en")
	exts := ctx["extensions"].(map[string]any)
	if ev["relateduserid"] != nil {
		as, err := c.User(ev.Int("relateduserid"))
		if err != nil {
			return nil, err
		}
		exts["https://yetanalytics.com/profiles/prepositions/concepts/context-extensions/as"] = c.Actor(as)
	}
	return []Statement{{"actor": c.Actor(user), "verb": Verb("loggedin"), "object": site, "context": ctx}}, nil
}

// courseModuleViewed: a user viewed a course module (any module type).
func courseModuleViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	object, err := c.CourseModule(course, ev.Int("contextinstanceid"))
	if err != nil {
		return nil, err
	}
	parent, err := c.Parent(ev.Int("contextinstanceid"), false)
	if err != nil {
		return nil, err
	}
	site, err := c.Site()
	if err != nil {
		return nil, err
	}
	ctx := c.ContextBase(ev, CourseLang(course))
	ctx["contextActivities"] = map[string]any{"parent": parent, "category": []any{site}}
	return []Statement{{"actor": c.Actor(user), "verb": Verb("viewed"), "object": object, "context": ctx}}, nil
}
