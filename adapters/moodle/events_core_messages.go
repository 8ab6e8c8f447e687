package moodle

// Message and note events of the core component (logstore_xapi v5
// src/transformer/events/core/message_*.php, note*_*.php).

const (
	coreExtTo   = "https://yetanalytics.com/profiles/prepositions/concepts/context-extensions/to"
	coreExtFrom = "https://yetanalytics.com/profiles/prepositions/concepts/context-extensions/from"
)

// coreMessageSent: the user sent a message to the related user.
func coreMessageSent(c *Ctx, ev Row) ([]Statement, error) {
	msg, err := ReadRecordByID(c.Repo, "messages", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	recipient, err := c.coreUserByCol(ev, "relateduserid")
	if err != nil {
		return nil, err
	}
	course, err := c.coreEventCourse(ev)
	if err != nil {
		return nil, err
	}
	lang := coreLang(course)
	s, err := c.coreStatement(ev, c.Actor(user), coreVerbSent(), c.coreMessageActivity(lang, msg), lang, course)
	if err != nil {
		return nil, err
	}
	coreContextExt(s)[coreExtTo] = c.Actor(recipient)
	return []Statement{s}, nil
}

// coreMessageViewed: the user viewed a message from the related user.
//
// The plugin builds the message activity from the event's object record.
// Since Moodle 3.5 that record is a message_user_actions row (objectid is
// the action id), so the plugin's activity is "/message?id=<action id>",
// "[Untitled Message]" with a null description. Here, when the object is a
// message_user_actions row and other.messageid is set, the message itself
// is read, so the activity is the one message_sent reports. Other object
// tables (messages, as in the plugin's fixture; message_read before 3.5)
// are read as the plugin does.
func coreMessageViewed(c *Ctx, ev Row) ([]Statement, error) {
	table, id := ev.Str("objecttable"), ev.Int("objectid")
	if table == "message_user_actions" {
		other, err := Other(ev)
		if err != nil {
			return nil, err
		}
		if mid := OtherInt(other, "messageid"); mid != 0 {
			table, id = "messages", mid
		}
	}
	if table == "" || ev["objectid"] == nil {
		return nil, skip("message_viewed without an object")
	}
	msg, err := ReadRecordByID(c.Repo, table, id)
	if err != nil {
		return nil, err
	}
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	sender, err := c.coreUserByCol(ev, "relateduserid")
	if err != nil {
		return nil, err
	}
	course, err := c.coreEventCourse(ev)
	if err != nil {
		return nil, err
	}
	lang := coreLang(course)
	s, err := c.coreStatement(ev, c.Actor(user), Verb("viewed"), c.coreMessageActivity(lang, msg), lang, course)
	if err != nil {
		return nil, err
	}
	coreContextExt(s)[coreExtFrom] = c.Actor(sender)
	return []Statement{s}, nil
}

// coreNoteChanged: the user created or updated a note (post) about the
// related user.
func coreNoteChanged(verb func() map[string]any) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		note, err := ReadRecordByID(c.Repo, "post", ev.Int("objectid"))
		if err != nil {
			return nil, err
		}
		user, err := c.coreUserByCol(ev, "userid")
		if err != nil {
			return nil, err
		}
		subject, err := c.coreUserByCol(ev, "relateduserid")
		if err != nil {
			return nil, err
		}
		course, err := c.coreEventCourse(ev)
		if err != nil {
			return nil, err
		}
		lang := coreLang(course)
		s, err := c.coreStatement(ev, c.Actor(user), verb(), c.coreCourseNoteActivity(lang, subject, note), lang, course)
		if err != nil {
			return nil, err
		}
		return []Statement{s}, nil
	}
}

// coreNotesViewed: the user viewed the notes about the related user.
//
// Moodle also logs notes_viewed for a course's notes page without a
// related user; the plugin then fails for a missing user. Here that
// statement has no note-subject extensions.
func coreNotesViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.coreUserByCol(ev, "userid")
	if err != nil {
		return nil, err
	}
	subject, err := c.coreOptionalUser(ev, "relateduserid")
	if err != nil {
		return nil, err
	}
	course, err := c.coreEventCourse(ev)
	if err != nil {
		return nil, err
	}
	lang := coreLang(course)
	def := map[string]any{
		"name": coreLangMap(lang, "Notes"),
		"type": "https://w3id.org/xapi/acrossx/activities/webpage",
	}
	if subject != nil {
		def["extensions"] = map[string]any{
			"https://xapi.edlm/profiles/edlm-lms/concepts/activity-extensions/note-subject": c.Actor(subject),
		}
	}
	s, err := c.coreStatement(ev, c.Actor(user), Verb("viewed"), coreActivity(c.Opt.WWWRoot+"/notes/index.php", def), lang, course)
	if err != nil {
		return nil, err
	}
	if subject != nil {
		coreContextExt(s)["https://xapi.edlm/profiles/edlm-lms/concepts/context-extensions/note-subject-scope"] = c.Actor(subject)
	}
	return []Statement{s}, nil
}
