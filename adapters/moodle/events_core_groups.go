package moodle

// Group events of the core component (logstore_xapi v5
// src/transformer/events/core/group_*.php).

// coreEventGroup reads the event's group (objecttable, normally groups).
func (c *Ctx) coreEventGroup(ev Row) (Row, error) {
	table := ev.Str("objecttable")
	if table == "" {
		table = "groups"
	}
	return ReadRecordByID(c.Repo, table, ev.Int("objectid"))
}

// coreGroupCreated: the user created a course group.
func coreGroupCreated(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	group, err := c.coreEventGroup(ev)
	if err != nil {
		return nil, err
	}
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbCreated(), c.coreCourseGroupActivity(course, group), CourseLang(course), course)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreGroupDeleted: the user deleted a course group (the record is gone:
// the activity has only its id).
func coreGroupDeleted(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	course, err := c.Course(ev.Int("courseid"))
	if err != nil {
		return nil, err
	}
	group := Row{"id": ev.Int("objectid")}
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbDeleted(), c.coreCourseGroupActivity(course, group), CourseLang(course), course)
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// coreGroupMember: the related user joined or left a group; the acting
// user is the instructor. With no acting user (userid 0: a membership
// changed by a scheduled task such as cohort sync) there is no instructor,
// where the plugin fails for a missing user.
func coreGroupMember(verb func() map[string]any) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, err := c.coreOptionalUser(ev, "userid")
		if err != nil {
			return nil, err
		}
		member, err := c.coreUserByCol(ev, "relateduserid")
		if err != nil {
			return nil, err
		}
		course, err := c.Course(ev.Int("courseid"))
		if err != nil {
			return nil, err
		}
		group, err := c.coreEventGroup(ev)
		if err != nil {
			return nil, err
		}
		s, err := c.coreStatement(ev, c.Actor(member), verb(), c.coreCourseGroupActivity(course, group), CourseLang(course), course)
		if err != nil {
			return nil, err
		}
		if user != nil {
			s["context"].(map[string]any)["instructor"] = c.Actor(user)
		}
		return []Statement{s}, nil
	}
}

// coreGroupMessageSent: the user sent a message to a group conversation;
// the group is the grouping and, as an xAPI Group of its members, the
// "to" extension.
func coreGroupMessageSent(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	msg, err := ReadRecordByID(c.Repo, "messages", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	conv, err := ReadRecordByID(c.Repo, "message_conversations", msg.Int("conversationid"))
	if err != nil {
		return nil, err
	}
	group, err := ReadRecordByID(c.Repo, "groups", conv.Int("itemid"))
	if err != nil {
		return nil, err
	}
	course, err := c.Course(group.Int("courseid"))
	if err != nil {
		return nil, err
	}
	to, err := c.coreGroupAgent(group)
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbSent(), c.coreMessageActivity(lang, msg), lang, course)
	if err != nil {
		return nil, err
	}
	coreContextActivities(s)["grouping"] = []any{c.coreCourseGroupActivity(course, group)}
	coreContextExt(s)["https://yetanalytics.com/profiles/prepositions/concepts/context-extensions/to"] = to
	return []Statement{s}, nil
}
