package moodle

// mod_forum events: ports of logstore_xapi v5's
// src/transformer/events/mod_forum/*. (course_module_viewed is in
// events_core.go.)

// forumDiscussion is the plugin's get_activity\course_discussion.
func forumDiscussion(c *Ctx, lang string, d Row) map[string]any {
	name := "Discussion"
	if d.Has("name") {
		name = d.Str("name")
	}
	return map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/forum/discuss.php?d=" + d.Str("id"),
		"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/discussion", "name": map[string]any{lang: name}},
	}
}

// forumPostReply is the plugin's get_activity\forum_discussion_post_reply;
// name and description only while the post exists.
func forumPostReply(c *Ctx, lang string, post Row) map[string]any {
	def := map[string]any{"type": "http://id.tincanapi.com/activitytype/forum-reply"}
	if modsIsSet(post, "subject") {
		def["name"] = map[string]any{lang: post.Str("subject")}
	}
	if modsIsSet(post, "message") {
		def["description"] = map[string]any{lang: modsStripHTML(post, "message")}
	}
	return map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/forum/discuss.php?d=" + post.Str("discussion") + "#p" + post.Str("id"),
		"definition": def,
	}
}

// forumDiscussionEvent: the user created, viewed or (un)subscribed to a
// discussion (objectid, or other.discussion for subscriptions); parents the
// forum, section and course.
func forumDiscussionEvent(verbID, display string, fromOther bool) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, _, lang, err := modsUserCourse(c, ev, "userid")
		if err != nil {
			return nil, err
		}
		id := ev.Int("objectid")
		if fromOther {
			other, err := Other(ev)
			if err != nil {
				return nil, err
			}
			id = OtherInt(other, "discussion")
		}
		d, err := ReadRecordByID(c.Repo, "forum_discussions", id)
		if err != nil {
			return nil, err
		}
		ctx, err := modsModuleContext(c, ev, lang, true)
		if err != nil {
			return nil, err
		}
		return []Statement{modsStatement(c.Actor(user), inlineVerb(verbID, display), forumDiscussion(c, lang, d), ctx)}, nil
	}
}

// forumPostEvent: the user replied with, edited or deleted a post; parents
// the discussion (other.discussionid), forum, section and course. A deleted
// post is known by its id only.
func forumPostEvent(verbID, display string, deleted bool) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, _, lang, err := modsUserCourse(c, ev, "userid")
		if err != nil {
			return nil, err
		}
		var post Row
		if !deleted {
			if post, err = ReadRecordByID(c.Repo, "forum_posts", ev.Int("objectid")); err != nil {
				return nil, err
			}
		}
		other, err := Other(ev)
		if err != nil {
			return nil, err
		}
		discussionID := OtherInt(other, "discussionid")
		if deleted {
			post = Row{"id": ev.Int("objectid"), "discussion": discussionID}
		}
		d, err := ReadRecordByID(c.Repo, "forum_discussions", discussionID)
		if err != nil {
			return nil, err
		}
		ctx, err := modsModuleContext(c, ev, lang, true, forumDiscussion(c, lang, d))
		if err != nil {
			return nil, err
		}
		return []Statement{modsStatement(c.Actor(user), inlineVerb(verbID, display), forumPostReply(c, lang, post), ctx)}, nil
	}
}

// forumSubscription: the user (un)subscribed to the forum (the course
// module); parents section and course.
func forumSubscription(verbID, display string) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		return modsModuleEvent(c, ev, inlineVerb(verbID, display))
	}
}

// forumUserReportViewed: the user viewed the forum posts of another user
// (relateduserid), in a course or, with courseid 0, across all courses.
func forumUserReportViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	related, err := c.User(ev.Int("relateduserid"))
	if err != nil {
		return nil, err
	}
	var course Row
	lang := "en"
	if ev.Int("courseid") != 0 {
		if course, err = c.Course(ev.Int("courseid")); err != nil {
			return nil, err
		}
		lang = CourseLang(course)
	}
	// get_activity\user_report; the ids are numbers as in the plugin's
	// fixtures.
	exts := map[string]any{"https://moodle.org/xapi/extensions/user_id": related.Int("id")}
	obj := map[string]any{
		"objectType": "Activity",
		"definition": map[string]any{
			"type":       "http://id.tincanapi.com/activitytype/user-profile",
			"name":       map[string]any{lang: "forum posts of " + FullName(related)},
			"extensions": exts,
		},
	}
	var parent []any
	if course == nil {
		obj["id"] = c.Opt.WWWRoot + "/mod/forum/user.php?id=" + related.Str("id")
	} else {
		obj["id"] = c.Opt.WWWRoot + "/mod/forum/user.php?id=" + related.Str("id") + "&course=" + course.Str("id")
		exts["https://moodle.org/xapi/extensions/course_id"] = course.Int("id")
		parent = []any{c.CourseActivity(course)}
	}
	ctx, err := modsContext(c, ev, lang, parent)
	if err != nil {
		return nil, err
	}
	return []Statement{modsStatement(c.Actor(user), Verb("viewed"), obj, ctx)}, nil
}
