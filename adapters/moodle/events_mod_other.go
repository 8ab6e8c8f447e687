package moodle

import "sort"

// Events of mod_book, mod_choice, mod_facetoface, mod_glossary, mod_wiki,
// tool_certificate, tool_usertours and totara_program: ports of
// logstore_xapi v5's src/transformer/events/<component>/*.
// (course_module_viewed events are in events_core.go.)

// --- mod_book ---

// bookChapter is the plugin's get_activity\book_chapter.
func bookChapter(c *Ctx, lang string, chapter Row, cmid int64) map[string]any {
	def := map[string]any{"type": "http://id.tincanapi.com/activitytype/chapter"}
	if chapter.Has("title") {
		def["name"] = map[string]any{lang: chapter.Str("title")}
	}
	if chapter.Has("content") {
		def["description"] = map[string]any{lang: modsStripHTML(chapter, "content")}
	}
	return map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/book/view.php?id=" + modsItoa(cmid) + "&chapterid=" + chapter.Str("id"),
		"definition": def,
	}
}

// bookChapterEvent: the user did verb to a chapter (objectid); parents the
// book, section and course.
func bookChapterEvent(c *Ctx, ev Row, verb map[string]any) (Statement, Row, error) {
	user, _, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, nil, err
	}
	chapter, err := ReadRecordByID(c.Repo, "book_chapters", ev.Int("objectid"))
	if err != nil {
		return nil, nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true)
	if err != nil {
		return nil, nil, err
	}
	return modsStatement(c.Actor(user), verb, bookChapter(c, lang, chapter, ev.Int("contextinstanceid")), ctx), chapter, nil
}

func bookChapterCreated(c *Ctx, ev Row) ([]Statement, error) {
	s, _, err := bookChapterEvent(c, ev, inlineVerb("http://activitystrea.ms/create", "Created"))
	if err != nil {
		return nil, err
	}
	return []Statement{s}, nil
}

// bookChapterViewed: a subchapter also has its chapter as first parent (the
// last top-level chapter, by page number, that is not after it).
func bookChapterViewed(c *Ctx, ev Row) ([]Statement, error) {
	s, chapter, err := bookChapterEvent(c, ev, Verb("viewed"))
	if err != nil {
		return nil, err
	}
	if chapter.Int("subchapter") == 0 {
		return []Statement{s}, nil
	}
	chapters, err := c.Repo.ReadRecords("book_chapters", map[string]any{"bookid": chapter.Int("bookid"), "subchapter": 0}, "")
	if err != nil {
		return nil, err
	}
	if len(chapters) == 0 {
		return []Statement{s}, nil
	}
	sort.SliceStable(chapters, func(i, j int) bool { return chapters[i].Int("pagenum") < chapters[j].Int("pagenum") })
	parentChapter := chapters[0]
	for _, p := range chapters {
		if p.Int("pagenum") > chapter.Int("pagenum") {
			break
		}
		parentChapter = p
	}
	lang := s["context"].(map[string]any)["language"].(string)
	ca := s["context"].(map[string]any)["contextActivities"].(map[string]any)
	ca["parent"] = append([]any{bookChapter(c, lang, parentChapter, ev.Int("contextinstanceid"))}, ca["parent"].([]any)...)
	return []Statement{s}, nil
}

// --- mod_choice ---

// choiceAnswerCreated: the user answered the choice; result.response is the
// chosen option's text.
func choiceAnswerCreated(c *Ctx, ev Row) ([]Statement, error) {
	user, course, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	answer, err := ReadRecordByID(c.Repo, "choice_answers", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	option, err := ReadRecordByID(c.Repo, "choice_options", answer.Int("optionid"))
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
	s := modsStatement(c.Actor(user), inlineVerb("http://adlnet.gov/expapi/verbs/answered", "Answered"), obj, ctx)
	s["result"] = map[string]any{"response": option.Str("text")}
	return []Statement{s}, nil
}

// --- mod_facetoface ---

// facetofaceModuleEvent: the user (un)registered to the face-to-face
// activity.
func facetofaceModuleEvent(verbID, display string) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		return modsModuleEvent(c, ev, inlineVerb(verbID, display))
	}
}

// facetofaceTakeAttendance: the teacher (userid, as instructor) took the
// attendance of session objectid; one "attended" statement per signup whose
// status set by this event (same timecreated) is 90 or more (partially or
// fully attended), result.completion when fully attended (100) and
// result.duration the session's total duration.
//
// As the plugin, a signup whose status or records cannot be read is passed
// over; an event with no attendee produces no statement (skip).
func facetofaceTakeAttendance(c *Ctx, ev Row) ([]Statement, error) {
	user, course, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	session := ev.Int("objectid")
	signups, err := c.Repo.ReadRecords("facetoface_signups", map[string]any{"sessionid": session}, "")
	if err != nil {
		return nil, err
	}
	dates, err := c.Repo.ReadRecords("facetoface_sessions_dates", map[string]any{"sessionid": session}, "")
	if err != nil {
		return nil, err
	}
	var duration int64
	for _, d := range dates {
		duration += d.Int("timefinish") - d.Int("timestart")
	}
	var out []Statement
	for _, signup := range signups {
		s, err := facetofaceAttended(c, ev, signup, user, course, lang, duration)
		if IsMissing(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if s != nil {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, skip("no attendee in session %d", session)
	}
	return out, nil
}

func facetofaceAttended(c *Ctx, ev Row, signup, instructor, course Row, lang string, duration int64) (Statement, error) {
	status, err := ReadRecord(c.Repo, "facetoface_signups_status", map[string]any{"signupid": signup.Int("id"), "timecreated": ev.Int("timecreated")})
	if err != nil {
		return nil, err
	}
	code := status.Int("statuscode")
	if code < 90 {
		return nil, nil
	}
	attendee, err := c.User(signup.Int("userid"))
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
	ctx["instructor"] = c.Actor(instructor)
	s := modsStatement(c.Actor(attendee), inlineVerb("http://adlnet.gov/expapi/verbs/attended", "Attended"), obj, ctx)
	// The plugin compares statuscode === 100, true with its test data
	// (integers); Moodle's DML returns strings, so in production it always
	// sends false. The intent, fully attended, is what is sent here.
	s["result"] = map[string]any{"duration": "PT" + modsItoa(duration) + "S", "completion": code == 100}
	return s, nil
}

// --- mod_glossary ---

// glossaryEntry is the plugin's get_activity\glossary_entry.
func glossaryEntry(c *Ctx, lang string, entry Row) map[string]any {
	def := map[string]any{"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/glossary-entry"}
	if modsIsSet(entry, "concept") {
		def["name"] = map[string]any{lang: entry.Str("concept")}
	}
	if modsIsSet(entry, "definition") {
		def["description"] = map[string]any{lang: modsStripHTML(entry, "definition")}
	}
	return map[string]any{"objectType": "Activity", "id": c.Opt.WWWRoot + "/mod/glossary/showentry.php?eid=" + entry.Str("id"), "definition": def}
}

// glossaryCommentActivity is the plugin's get_activity\glossary_comment.
func glossaryCommentActivity(c *Ctx, lang string, comment, entry Row) map[string]any {
	def := map[string]any{"type": "http://activitystrea.ms/comment"}
	if modsIsSet(entry, "concept") {
		def["name"] = map[string]any{lang: "RE: " + entry.Str("concept")}
	}
	if modsIsSet(comment, "content") {
		def["description"] = map[string]any{lang: modsStripHTML(comment, "content")}
	}
	return map[string]any{"objectType": "Activity", "id": c.Opt.WWWRoot + "/mod/glossary/showentry.php?eid=" + entry.Str("id") + "#c" + comment.Str("id"), "definition": def}
}

// glossaryEntryViewed: the user viewed a glossary entry.
//
// The plugin also reads the entry's glossary record without using it; it
// is not read here.
func glossaryEntryViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, _, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	entry, err := ReadRecordByID(c.Repo, "glossary_entries", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true)
	if err != nil {
		return nil, err
	}
	return []Statement{modsStatement(c.Actor(user), Verb("viewed"), glossaryEntry(c, lang, entry), ctx)}, nil
}

// glossaryComment: the user commented on a glossary entry, or deleted a
// comment (then known by its id and other.itemid only); parents the entry,
// glossary, section and course.
func glossaryComment(deleted bool) Mapper {
	verb := inlineVerb("http://adlnet.gov/expapi/verbs/commented", "Commented")
	if deleted {
		verb = inlineVerb("http://activitystrea.ms/delete", "Deleted")
	}
	return func(c *Ctx, ev Row) ([]Statement, error) {
		user, _, lang, err := modsUserCourse(c, ev, "userid")
		if err != nil {
			return nil, err
		}
		var comment Row
		if deleted {
			other, err := Other(ev)
			if err != nil {
				return nil, err
			}
			comment = Row{"id": ev.Int("objectid"), "itemid": OtherInt(other, "itemid")}
		} else if comment, err = ReadRecordByID(c.Repo, "comments", ev.Int("objectid")); err != nil {
			return nil, err
		}
		entry, err := ReadRecordByID(c.Repo, "glossary_entries", comment.Int("itemid"))
		if err != nil {
			return nil, err
		}
		ctx, err := modsModuleContext(c, ev, lang, true, glossaryEntry(c, lang, entry))
		if err != nil {
			return nil, err
		}
		return []Statement{modsStatement(c.Actor(user), verb, glossaryCommentActivity(c, lang, comment, entry), ctx)}, nil
	}
}

// --- mod_wiki ---

// wikiPage is the plugin's get_activity\wiki_page.
func wikiPage(c *Ctx, lang string, page Row) map[string]any {
	return map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/wiki/view.php?pageid=" + page.Str("id"),
		"definition": map[string]any{
			"type":        "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/wiki-page",
			"name":        map[string]any{lang: page.Str("title")},
			"description": map[string]any{lang: modsStripHTML(page, "cachedcontent")},
		},
	}
}

// wikiDiscussion is the plugin's get_activity\wiki_discussion (a page's
// comments).
func wikiDiscussion(c *Ctx, lang string, page Row) map[string]any {
	return map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/wiki/comments.php?pageid=" + page.Str("id"),
		"definition": map[string]any{
			"type": "http://id.tincanapi.com/activitytype/discussion",
			"name": map[string]any{lang: page.Str("title") + " Discussion"},
		},
	}
}

// wikiPageViewed: the user viewed a wiki page (objectid).
func wikiPageViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, _, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	page, err := ReadRecordByID(c.Repo, "wiki_pages", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true)
	if err != nil {
		return nil, err
	}
	return []Statement{modsStatement(c.Actor(user), Verb("viewed"), wikiPage(c, lang, page), ctx)}, nil
}

// wikiCommentsViewed: the user viewed the comments of a wiki page
// (objectid); parents the page, wiki, section and course.
func wikiCommentsViewed(c *Ctx, ev Row) ([]Statement, error) {
	user, _, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	page, err := ReadRecordByID(c.Repo, "wiki_pages", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true, wikiPage(c, lang, page))
	if err != nil {
		return nil, err
	}
	return []Statement{modsStatement(c.Actor(user), Verb("viewed"), wikiDiscussion(c, lang, page), ctx)}, nil
}

// wikiCommentCreated: the user commented on a wiki page (the comment's
// itemid); result.response is the comment text.
func wikiCommentCreated(c *Ctx, ev Row) ([]Statement, error) {
	user, _, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	comment, err := ReadRecordByID(c.Repo, "comments", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	page, err := ReadRecordByID(c.Repo, "wiki_pages", comment.Int("itemid"))
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true, wikiPage(c, lang, page))
	if err != nil {
		return nil, err
	}
	s := modsStatement(c.Actor(user), inlineVerb("http://adlnet.gov/expapi/verbs/commented", "Commented"), wikiDiscussion(c, lang, page), ctx)
	s["result"] = map[string]any{"response": modsStripHTML(comment, "content")}
	return []Statement{s}, nil
}

// wikiCommentDeleted: the user deleted a comment (objectid) of a wiki page
// (other.itemid); parents the page's comments, the page, wiki, section and
// course.
func wikiCommentDeleted(c *Ctx, ev Row) ([]Statement, error) {
	user, _, lang, err := modsUserCourse(c, ev, "userid")
	if err != nil {
		return nil, err
	}
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	page, err := ReadRecordByID(c.Repo, "wiki_pages", OtherInt(other, "itemid"))
	if err != nil {
		return nil, err
	}
	ctx, err := modsModuleContext(c, ev, lang, true, wikiDiscussion(c, lang, page), wikiPage(c, lang, page))
	if err != nil {
		return nil, err
	}
	obj := map[string]any{
		"objectType": "Activity",
		"id":         c.Opt.WWWRoot + "/mod/wiki/instancecomments.php?commentid=" + ev.Str("objectid") + "&pageid=" + page.Str("id"),
		"definition": map[string]any{"type": "http://activitystrea.ms/comment", "name": map[string]any{"en": "Comment"}},
	}
	return []Statement{modsStatement(c.Actor(user), inlineVerb("http://activitystrea.ms/delete", "Deleted"), obj, ctx)}, nil
}

// --- tool_certificate ---

// certificateEvent: the learner (relateduserid) achieved or forfeited
// (issued, revoked: the teacher, userid, as instructor) a certificate, or
// the user (userid) verified one; parent the issue's course when it has one.
//
// certificate_issued and certificate_verified take the code and course from
// the issue (objectid); certificate_revoked, whose issue is gone, from
// other.code and the event's courseid, as the plugin does.
func certificateEvent(verbID, display string) Mapper {
	return func(c *Ctx, ev Row) ([]Statement, error) {
		name := ev.Str("eventname")
		verified := name == `\tool_certificate\event\certificate_verified`
		revoked := name == `\tool_certificate\event\certificate_revoked`
		actorCol := "relateduserid"
		if verified {
			actorCol = "userid"
		}
		user, err := c.User(ev.Int(actorCol))
		if err != nil {
			return nil, err
		}
		var instructor Row
		if !verified {
			if instructor, err = c.User(ev.Int("userid")); err != nil {
				return nil, err
			}
		}
		var code string
		var courseID int64
		if revoked {
			other, err := Other(ev)
			if err != nil {
				return nil, err
			}
			code, courseID = OtherStr(other, "code"), ev.Int("courseid")
		} else {
			issue, err := ReadRecordByID(c.Repo, "tool_certificate_issues", ev.Int("objectid"))
			if err != nil {
				return nil, err
			}
			// The plugin reads the course whenever courseid is not NULL;
			// 0 (no course) is taken as none here too.
			code, courseID = issue.Str("code"), issue.Int("courseid")
		}
		lang := modsSourceLang
		var parent []any
		if courseID > 0 {
			course, err := c.Course(courseID)
			if err != nil {
				return nil, err
			}
			lang = CourseLang(course)
			parent = []any{c.CourseActivity(course)}
		}
		ctx, err := modsContext(c, ev, lang, parent)
		if err != nil {
			return nil, err
		}
		if instructor != nil {
			ctx["instructor"] = c.Actor(instructor)
		}
		obj := map[string]any{
			"objectType": "Activity",
			"id":         c.Opt.WWWRoot + "/admin/tool/certificate/index.php?code=" + code,
			"definition": map[string]any{
				"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/certificate",
				"name": map[string]any{"en": "Certificate " + code},
			},
		}
		return []Statement{modsStatement(c.Actor(user), inlineVerb(verbID, display), obj, ctx)}, nil
	}
}

// --- tool_usertours ---

// usertoursTourEnded: the user toured the page other.pageurl (the object is
// that URL, without definition, as in the plugin).
func usertoursTourEnded(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	other, err := Other(ev)
	if err != nil {
		return nil, err
	}
	url := OtherStr(other, "pageurl")
	if url == "" {
		return nil, skip("tour_ended without pageurl")
	}
	ctx, err := modsContext(c, ev, modsSourceLang, nil)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{"objectType": "Activity", "id": url}
	return []Statement{modsStatement(c.Actor(user), inlineVerb("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/toured", "Toured"), obj, ctx)}, nil
}

// --- totara_program ---

// totaraProgramAssigned: the user was assigned the program (objectid).
//
// Shaped as the plugin's transformer does it (verb display "Assigned", object
// without objectType). The plugin's reference statements for this event are
// stale and disagree with its transformer (display "assigned", objectType
// "Activity", a timestamp that is not the event's): its Totara test never
// runs (skipped without Totara, and its file is not named *_test.php).
func totaraProgramAssigned(c *Ctx, ev Row) ([]Statement, error) {
	user, err := c.User(ev.Int("userid"))
	if err != nil {
		return nil, err
	}
	prog, err := ReadRecordByID(c.Repo, "prog", ev.Int("objectid"))
	if err != nil {
		return nil, err
	}
	name := prog.Str("fullname")
	if name == "" {
		name = "A Totara program"
	}
	ctx, err := modsContext(c, ev, modsSourceLang, nil)
	if err != nil {
		return nil, err
	}
	obj := map[string]any{
		"id": c.Opt.WWWRoot + "/totara/program/view.php?id=" + prog.Str("id"),
		"definition": map[string]any{
			"type": "http://id.tincanapi.com/activitytype/lms/program",
			"name": map[string]any{modsSourceLang: name},
		},
	}
	return []Statement{modsStatement(c.Actor(user), inlineVerb("http://activitystrea.ms/schema/1.0/assign", "Assigned"), obj, ctx)}, nil
}
