package moodle

// Helpers of the core-component mappers (events_core_*.go): ports of the
// logstore_xapi v5 utils they use (src/transformer/utils/...). Unexported
// names carry the "core" prefix.

import (
	"strconv"
)

// coreSourceLang is the plugin's $config['source_lang'] (always "en").
const coreSourceLang = "en"

// coreVerb is a verb given by id and English display (the plugin writes
// most verbs inline rather than through a shared table).
func inlineVerb(id, display string) map[string]any {
	return map[string]any{"id": id, "display": map[string]any{"en": display}}
}

// Verbs of the core events, as the plugin spells them.
var (
	coreVerbCreated     = func() map[string]any { return inlineVerb("http://activitystrea.ms/create", "Created") }
	coreVerbDeleted     = func() map[string]any { return inlineVerb("http://activitystrea.ms/delete", "Deleted") }
	coreVerbEdited      = func() map[string]any { return inlineVerb("https://w3id.org/xapi/acrossx/verbs/edited", "Edited") }
	coreVerbUpdated     = func() map[string]any { return inlineVerb("http://activitystrea.ms/update", "Updated") }
	coreVerbSent        = func() map[string]any { return inlineVerb("http://activitystrea.ms/send", "Sent") }
	coreVerbLeft        = func() map[string]any { return inlineVerb("http://activitystrea.ms/leave", "Left") }
	coreVerbJoined      = func() map[string]any { return inlineVerb("http://activitystrea.ms/join", "Joined") }
	coreVerbUncompleted = func() map[string]any {
		return inlineVerb("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/uncompleted", "Uncompleted")
	}
)

// coreActivity is the plugin's get_activity\base with an id and definition.
func coreActivity(id string, def map[string]any) map[string]any {
	return map[string]any{"objectType": "Activity", "id": id, "definition": def}
}

// coreLangMap is a one-entry language map; a NULL column becomes "" (the
// plugin would send null, which is not a valid language map value).
func coreLangMap(lang, text string) map[string]any { return map[string]any{lang: text} }

// coreEventCourse reads the event's course when courseid is set and not 0
// (the plugin's `isset($event->courseid) && $event->courseid != 0`), else nil.
func (c *Ctx) coreEventCourse(ev Row) (Row, error) {
	if ev.Int("courseid") == 0 {
		return nil, nil
	}
	return c.Course(ev.Int("courseid"))
}

// coreLang is the course's language, or the source language without a course.
func coreLang(course Row) string {
	if course == nil {
		return coreSourceLang
	}
	return CourseLang(course)
}

// coreStatement builds the usual core statement: actor, verb, object and a
// context with language, the info extension and category [site]; the
// course (when not nil) becomes the parent (the plugin's add_parent).
func (c *Ctx) coreStatement(ev Row, actor, verb, object map[string]any, lang string, course Row) (Statement, error) {
	site, err := c.Site()
	if err != nil {
		return nil, err
	}
	ctx := c.ContextBase(ev, lang)
	ca := map[string]any{"category": []any{site}}
	if course != nil {
		ca["parent"] = []any{c.CourseActivity(course)}
	}
	ctx["contextActivities"] = ca
	return Statement{"actor": actor, "verb": verb, "object": object, "context": ctx}, nil
}

// coreContextExt returns the statement's context extensions map.
func coreContextExt(s Statement) map[string]any {
	return s["context"].(map[string]any)["extensions"].(map[string]any)
}

// coreContextActivities returns the statement's contextActivities map.
func coreContextActivities(s Statement) map[string]any {
	ctx := s["context"].(map[string]any)
	ca, _ := ctx["contextActivities"].(map[string]any)
	if ca == nil {
		ca = map[string]any{}
		ctx["contextActivities"] = ca
	}
	return ca
}

// coreUserByCol reads the user of an event column (userid, relateduserid).
func (c *Ctx) coreUserByCol(ev Row, col string) (Row, error) { return c.User(ev.Int(col)) }

// coreBadgeLang is the plugin's `$badge->language ?? course lang ?? source
// lang` (an empty language is treated as unset: "" is not a language tag).
func coreBadgeLang(badge, course Row) string {
	if l := badge.Str("language"); l != "" {
		return l
	}
	return coreLang(course)
}

// coreBadgeActivity is the plugin's get_activity\badge.
func (c *Ctx) coreBadgeActivity(lang string, badge Row) map[string]any {
	var typ any
	switch badge.Int("type") {
	case 1:
		typ = "Global"
	case 2:
		typ = "Course"
	}
	return coreActivity(c.Opt.WWWRoot+"/badges/overview.php?id="+badge.Str("id"), map[string]any{
		"name":        coreLangMap(lang, badge.Str("name")),
		"description": coreLangMap(lang, badge.Str("description")),
		"type":        "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/badge",
		"extensions": map[string]any{
			"https://xapi.edlm/profiles/edlm-lms/v1/concepts/activity-extensions/badge-type":    typ,
			"https://xapi.edlm/profiles/edlm-lms/v1/concepts/activity-extensions/badge-version": nullable(badge, "version"),
		},
	})
}

// coreBadgeCourseParent is the course parent the badge_awarded and
// badge_revoked mappers add: the course activity with the course summary as
// description (omitted when the summary is NULL, where the plugin would
// send a null language map value).
func (c *Ctx) coreBadgeCourseParent(lang string, course Row) map[string]any {
	def := map[string]any{
		"name": coreLangMap(lang, course.Str("fullname")),
		"type": "https://w3id.org/xapi/cmi5/activitytype/course",
	}
	if course["summary"] != nil {
		def["description"] = coreLangMap(lang, course.Str("summary"))
	}
	return coreActivity(c.Opt.WWWRoot+"/course/view.php?id="+course.Str("id"), def)
}

// coreCalendarEventActivity is the plugin's get_activity\calendar_event.
func (c *Ctx) coreCalendarEventActivity(lang string, eventID int64, name string) map[string]any {
	return coreActivity(c.Opt.WWWRoot+"/calendar/view.php?id="+strconv.FormatInt(eventID, 10), map[string]any{
		"name": coreLangMap(lang, name),
		"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/calendar-event",
	})
}

// coreCalendarSubscriptionActivity is the plugin's
// get_activity\calendar_subscription (name optional).
func (c *Ctx) coreCalendarSubscriptionActivity(subID int64, lang string, name *string) map[string]any {
	def := map[string]any{"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/calendar-subscription"}
	if name != nil {
		def["name"] = coreLangMap(lang, *name)
	}
	return coreActivity(c.Opt.WWWRoot+"/calendar/subscription?id="+strconv.FormatInt(subID, 10), def)
}

// coreWebCalendarActivity is the plugin's get_activity\web_calendar.
func coreWebCalendarActivity(url string) map[string]any {
	return coreActivity(url, map[string]any{
		"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/calendar",
		"name": map[string]any{"en": "Web Calendar"},
	})
}

// coreCourseCategoryActivity is the plugin's get_activity\course_category.
func (c *Ctx) coreCourseCategoryActivity(cat Row) map[string]any {
	return coreActivity(c.Opt.WWWRoot+"/course/management.php?categoryid="+cat.Str("id"), map[string]any{
		"name":        coreLangMap(coreSourceLang, cat.Str("name")),
		"description": coreLangMap(coreSourceLang, cat.Str("description")),
		"type":        "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/course-category",
	})
}

// coreCourseGroupActivity is the plugin's get_activity\course_group (a
// deleted group has only an id: no name).
func (c *Ctx) coreCourseGroupActivity(course, group Row) map[string]any {
	def := map[string]any{"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/group"}
	if group["name"] != nil {
		def["name"] = coreLangMap(CourseLang(course), group.Str("name"))
	}
	return coreActivity(c.Opt.WWWRoot+"/group/index.php?id="+group.Str("id"), def)
}

// coreGroupAgent is the plugin's get_group: an anonymous xAPI Group of the
// Moodle group's members.
func (c *Ctx) coreGroupAgent(group Row) (map[string]any, error) {
	members, err := c.Repo.ReadRecords("groups_members", map[string]any{"groupid": group.Int("id")}, "")
	if err != nil {
		return nil, err
	}
	agents := make([]any, 0, len(members))
	for _, m := range members {
		u, err := ReadRecordByID(c.Repo, "user", m.Int("userid"))
		if err != nil {
			return nil, err
		}
		agents = append(agents, c.Actor(u))
	}
	g := map[string]any{"objectType": "Group", "member": agents}
	if group["name"] != nil {
		g["name"] = group.Str("name")
	}
	return g, nil
}

// coreCourseNoteActivity is the plugin's get_activity\course_note.
func (c *Ctx) coreCourseNoteActivity(lang string, subject, note Row) map[string]any {
	return coreActivity(c.Opt.WWWRoot+"/notes/view.php?id="+note.Str("id"), map[string]any{
		"name":        coreLangMap(lang, StripHTML(note.Str("subject"))),
		"type":        "http://activitystrea.ms/note",
		"description": coreLangMap(lang, StripHTML(note.Str("content"))),
		"extensions": map[string]any{
			"https://xapi.edlm/profiles/edlm-lms/concepts/activity-extensions/note-type":    "course",
			"https://xapi.edlm/profiles/edlm-lms/concepts/activity-extensions/note-subject": c.Actor(subject),
		},
	})
}

// coreMessageActivity is the plugin's get_activity\message.
func (c *Ctx) coreMessageActivity(lang string, msg Row) map[string]any {
	name := "[Untitled Message]"
	if msg["subject"] != nil {
		name = msg.Str("subject")
	}
	return coreActivity(c.Opt.WWWRoot+"/message?id="+msg.Str("id"), map[string]any{
		"type":        "http://id.tincanapi.com/activitytype/chat-message",
		"name":        coreLangMap(lang, name),
		"description": coreLangMap(lang, msg.Str("fullmessage")),
	})
}

// coreEnrolmentContext is the plugin's get_enrolment_context: the
// enrolment method as an extension and the enroller as instructor when it
// is not the enrolled user. user is nil when the event has no acting user
// (userid 0: an enrolment by a scheduled task), where the plugin fails for
// a missing user; the statement then has no instructor.
func (c *Ctx) coreEnrolmentContext(ev Row, cuser, user Row, lang string) (map[string]any, error) {
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	site, err := c.Site()
	if err != nil {
		return nil, err
	}
	ctx := c.ContextBase(ev, lang)
	ctx["extensions"].(map[string]any)["https://xapi.edlm/profiles/edlm-lms/concepts/context-extensions/enrolment-type"] = other["enrol"]
	ctx["contextActivities"] = map[string]any{"category": []any{site}}
	if user != nil && cuser.Int("id") != user.Int("id") {
		ctx["instructor"] = c.Actor(user)
	}
	return ctx, nil
}

// coreOptionalUser reads the user of an event column, or nil when the
// column is 0/NULL (no acting user). A set id whose record is missing is
// still a *MissingError.
func (c *Ctx) coreOptionalUser(ev Row, col string) (Row, error) {
	if ev.Int(col) <= 0 {
		return nil, nil
	}
	return c.User(ev.Int(col))
}
