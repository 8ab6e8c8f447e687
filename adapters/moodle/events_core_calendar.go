package moodle

// Calendar events of the core component (logstore_xapi v5
// src/transformer/events/core/calendar_*.php).

// coreCalendarEventChanged: the user created or edited a calendar event
// (named from the event record).
func coreCalendarEventChanged(verb func() map[string]any) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		calev, err := ReadRecordByID(c.Repo, "event", ev.Int("objectid"))
		if err != nil {
			return nil, err
		}
		course, err := c.coreEventCourse(ev)
		if err != nil {
			return nil, err
		}
		user, err := c.coreUserByCol(ev, "userid")
		if err != nil {
			return nil, err
		}
		lang := coreLang(course)
		s, err := c.coreStatement(ev, c.Actor(user), verb(),
			c.coreCalendarEventActivity(lang, ev.Int("objectid"), calev.Str("name")), lang, course)
		if err != nil {
			return nil, err
		}
		return []Statement{s}, nil
	}
}

// coreCalendarEventDeleted: the user deleted a calendar event (named from
// the event's other.name; the language is the course's, else the site's).
func coreCalendarEventDeleted(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	course, err := c.coreEventCourse(ev)
	if err != nil {
		return nil, err
	}
	langCourse := course
	if langCourse == nil {
		if langCourse, err = c.Course(1); err != nil {
			return nil, err
		}
	}
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	lang := CourseLang(langCourse)
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbDeleted(),
		c.coreCalendarEventActivity(lang, ev.Int("objectid"), OtherStr(other, "name")), lang, course)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreCalendarSubscriptionChanged: the user created or edited a calendar
// subscription; an URL subscription adds the web calendar as "other".
func coreCalendarSubscriptionChanged(verb func() map[string]any) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.coreUserByCol(ev, "userid")
		if err != nil {
			return nil, err
		}
		course, err := c.coreEventCourse(ev)
		if err != nil {
			return nil, err
		}
		sub, err := ReadRecordByID(c.Repo, "event_subscriptions", ev.Int("objectid"))
		if err != nil {
			return nil, err
		}
		lang := coreLang(course)
		name := sub.Str("name")
		s, err := c.coreStatement(ev, c.Actor(user), verb(),
			c.coreCalendarSubscriptionActivity(ev.Int("objectid"), lang, &name), lang, course)
		if err != nil {
			return nil, err
		}
		// The plugin tests isset(url); an empty URL is no valid activity id either.
		if url := sub.Str("url"); url != "" {
			coreContextActivities(s)["other"] = []any{coreWebCalendarActivity(url)}
		}
		return []Statement{s}, nil
	}
}

// coreCalendarSubscriptionDeleted: the user deleted a calendar
// subscription (the record is gone: no name).
func coreCalendarSubscriptionDeleted(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	course, err := c.coreEventCourse(ev)
	if err != nil {
		return nil, err
	}
	lang := coreLang(course)
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbDeleted(),
		c.coreCalendarSubscriptionActivity(ev.Int("objectid"), lang, nil), lang, course)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}
