package moodle

// mappers is every Moodle event the adapter maps, by event class name
// (\component\event\name), with its mapper. The mappers themselves are in
// the events_*.go file named in each group's comment. A Go map literal with
// two equal keys does not compile, so an event cannot have two mappers.
var mappers = map[string]Mapper{
	// events_core.go
	`\core\event\course_viewed`:    courseViewedOrCompleted("viewed", "userid"),
	`\core\event\course_completed`: courseViewedOrCompleted("completed", "relateduserid"),
	`\core\event\user_loggedin`:    userLoggedIn,
	`\core\event\user_loggedinas`:  userLoggedIn,

	// events_core.go: the module page views.
	`\mod_assign\event\course_module_viewed`:        courseModuleViewed,
	`\mod_book\event\course_module_viewed`:          courseModuleViewed,
	`\mod_chat\event\course_module_viewed`:          courseModuleViewed,
	`\mod_choice\event\course_module_viewed`:        courseModuleViewed,
	`\mod_data\event\course_module_viewed`:          courseModuleViewed,
	`\mod_facetoface\event\course_module_viewed`:    courseModuleViewed,
	`\mod_feedback\event\course_module_viewed`:      courseModuleViewed,
	`\mod_folder\event\course_module_viewed`:        courseModuleViewed,
	`\mod_forum\event\course_module_viewed`:         courseModuleViewed,
	`\mod_glossary\event\course_module_viewed`:      courseModuleViewed,
	`\mod_imscp\event\course_module_viewed`:         courseModuleViewed,
	`\mod_lesson\event\course_module_viewed`:        courseModuleViewed,
	`\mod_lti\event\course_module_viewed`:           courseModuleViewed,
	`\mod_page\event\course_module_viewed`:          courseModuleViewed,
	`\mod_quiz\event\course_module_viewed`:          courseModuleViewed,
	`\mod_questionnaire\event\course_module_viewed`: courseModuleViewed,
	`\mod_resource\event\course_module_viewed`:      courseModuleViewed,
	`\mod_scorm\event\course_module_viewed`:         courseModuleViewed,
	`\mod_survey\event\course_module_viewed`:        courseModuleViewed,
	`\mod_url\event\course_module_viewed`:           courseModuleViewed,
	`\mod_wiki\event\course_module_viewed`:          courseModuleViewed,
	`\mod_workshop\event\course_module_viewed`:      courseModuleViewed,
	`\core_h5p\event\h5p_viewed`:                    courseModuleViewed,

	// events_core_badges.go
	`\core\event\badge_awarded`: coreBadgeAwarded,
	`\core\event\badge_revoked`: coreBadgeRevoked,
	`\core\event\badge_updated`: coreBadgeEditedOrViewed(coreVerbEdited),
	`\core\event\badge_viewed`:  coreBadgeEditedOrViewed(func() map[string]any { return Verb("viewed") }),

	// events_core_calendar.go
	`\core\event\calendar_event_created`:        coreCalendarEventChanged(coreVerbCreated),
	`\core\event\calendar_event_updated`:        coreCalendarEventChanged(coreVerbEdited),
	`\core\event\calendar_event_deleted`:        coreCalendarEventDeleted,
	`\core\event\calendar_subscription_created`: coreCalendarSubscriptionChanged(coreVerbCreated),
	`\core\event\calendar_subscription_updated`: coreCalendarSubscriptionChanged(coreVerbEdited),
	`\core\event\calendar_subscription_deleted`: coreCalendarSubscriptionDeleted,

	// events_core_course.go
	`\core\event\course_category_created`:          coreCourseCategoryCreated,
	`\core\event\course_created`:                   coreCourseCreatedOrUpdated(coreVerbCreated),
	`\core\event\course_updated`:                   coreCourseCreatedOrUpdated(coreVerbEdited),
	`\core\event\course_completion_updated`:        coreCourseCompletionUpdated,
	`\core\event\course_resources_list_viewed`:     coreCourseResourcesListViewed,
	`\core\event\course_section_created`:           coreCourseSectionCreated,
	`\core\event\course_module_created`:            coreCourseModuleCreated,
	`\core\event\course_module_completion_updated`: coreCourseModuleCompletionUpdated,

	// events_core_grades.go
	`\core\event\user_graded`: coreUserGraded,

	// events_core_groups.go
	`\core\event\group_created`:        coreGroupCreated,
	`\core\event\group_deleted`:        coreGroupDeleted,
	`\core\event\group_member_added`:   coreGroupMember(coreVerbJoined),
	`\core\event\group_member_removed`: coreGroupMember(coreVerbLeft),
	`\core\event\group_message_sent`:   coreGroupMessageSent,

	// events_core_messages.go
	`\core\event\message_sent`:   coreMessageSent,
	`\core\event\message_viewed`: coreMessageViewed,
	`\core\event\note_created`:   coreNoteChanged(coreVerbCreated),
	`\core\event\note_updated`:   coreNoteChanged(coreVerbUpdated),
	`\core\event\notes_viewed`:   coreNotesViewed,

	// events_core_questions.go
	`\core\event\question_created`:   coreQuestionCreated,
	`\core\event\questions_imported`: coreQuestionsImported,

	// events_core_users.go
	`\core\event\user_created`: coreUserCreated,
	`\core\event\user_enrolment_created`: coreUserEnrolment(func(Row) map[string]any {
		return inlineVerb("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/enrolled", "Enrolled")
	}, false),
	`\core\event\user_enrolment_deleted`: coreUserEnrolment(func(Row) map[string]any { return coreVerbLeft() }, false),
	`\core\event\user_enrolment_updated`: coreUserEnrolment(coreEnrolmentStatusVerb, true),
	`\core\event\user_loggedout`:         coreUserLoggedOut,
	`\core\event\search_results_viewed`:  coreSearchResultsViewed,
	`\core\event\dashboard_viewed`:       coreDashboardViewed,

	// events_mod_assign.go
	`\mod_assign\event\assessable_submitted`:     assignSubmitted,
	`\mod_assign\event\submission_graded`:        assignGraded,
	`\mod_assign\event\feedback_viewed`:          assignFeedbackViewed,
	`\mod_assign\event\submission_locked`:        assignSubmissionLocked,
	`\mod_assign\event\submission_unlocked`:      assignSubmissionLocked,
	`\mod_assign\event\submission_viewed`:        assignSubmissionViewed,
	`\mod_assign\event\submission_status_viewed`: assignSubmissionStatusViewed,

	// events_mod_bigbluebuttonbn.go
	//
	// The plugin maps activity_viewed to a mod_bigbluebuttonbn\activity_viewed
	// function it does not define (the event fails there); it is mapped here
	// like activity_management_viewed, a plain "viewed" of the module.
	`\mod_bigbluebuttonbn\event\activity_viewed`:            bbbStatement("http://id.tincanapi.com/verb/viewed", "Viewed"),
	`\mod_bigbluebuttonbn\event\activity_management_viewed`: bbbStatement("http://id.tincanapi.com/verb/viewed", "Viewed"),
	`\mod_bigbluebuttonbn\event\live_session_event`:         bbbStatement("http://id.tincanapi.com/verb/live", "Live"),
	`\mod_bigbluebuttonbn\event\meeting_created`:            bbbStatement("http://activitystrea.ms/schema/1.0/create", "Created"),
	`\mod_bigbluebuttonbn\event\meeting_ended`:              bbbStatement("http://id.tincanapi.com/verb/adjourned", "Adjourned"),
	`\mod_bigbluebuttonbn\event\meeting_joined`:             bbbStatement("http://activitystrea.ms/schema/1.0/join", "Joined"),
	`\mod_bigbluebuttonbn\event\meeting_left`:               bbbStatement("http://activitystrea.ms/schema/1.0/leave", "Left"),
	`\mod_bigbluebuttonbn\event\recording_deleted`:          bbbStatement("https://w3id.org/xapi/dod-isd/verbs/deleted", "Deleted"),
	`\mod_bigbluebuttonbn\event\recording_edited`:           bbbStatement("https://w3id.org/xapi/dod-isd/verbs/edited", "Edited"),
	`\mod_bigbluebuttonbn\event\recording_imported`:         bbbStatement("http://adlnet.gov/expapi/verbs/imported", "Imported"),
	`\mod_bigbluebuttonbn\event\recording_protected`:        bbbStatement("http://id.tincanapi.com/verb/secured", "Secured"),
	`\mod_bigbluebuttonbn\event\recording_published`:        bbbStatement("https://w3id.org/xapi/dod-isd/verbs/published", "Published"),
	`\mod_bigbluebuttonbn\event\recording_unprotected`:      bbbStatement("http://id.tincanapi.com/verb/unsecured", "Unsecured"),
	`\mod_bigbluebuttonbn\event\recording_unpublished`:      bbbStatement("http://activitystrea.ms/schema/1.0/retract", "Retracted"),
	`\mod_bigbluebuttonbn\event\recording_viewed`:           bbbStatement("http://id.tincanapi.com/verb/viewed", "Viewed"),

	// events_mod_feedback.go
	`\mod_feedback\event\response_submitted`: feedbackResponseSubmitted,

	// events_mod_forum.go
	`\mod_forum\event\discussion_created`:              forumDiscussionEvent("http://activitystrea.ms/create", "Created", false),
	`\mod_forum\event\discussion_viewed`:               forumDiscussionEvent("http://id.tincanapi.com/verb/viewed", "Viewed", false),
	`\mod_forum\event\discussion_subscription_created`: forumDiscussionEvent("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/subscribed", "Subscribed", true),
	`\mod_forum\event\discussion_subscription_deleted`: forumDiscussionEvent("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/unsubscribed", "Unsubscribed", true),
	`\mod_forum\event\post_created`:                    forumPostEvent("http://id.tincanapi.com/verb/replied", "Replied", false),
	`\mod_forum\event\post_updated`:                    forumPostEvent("https://w3id.org/xapi/acrossx/verbs/edited", "Edited", false),
	`\mod_forum\event\post_deleted`:                    forumPostEvent("http://activitystrea.ms/delete", "Deleted", true),
	`\mod_forum\event\subscription_created`:            forumSubscription("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/subscribed", "Subscribed"),
	`\mod_forum\event\subscription_deleted`:            forumSubscription("https://xapi.edlm/profiles/edlm-lms/concepts/verbs/unsubscribed", "Unsubscribed"),
	`\mod_forum\event\user_report_viewed`:              forumUserReportViewed,

	// events_mod_lesson.go
	`\mod_lesson\event\lesson_started`:      lessonEvent(map[string]any{"id": "http://activitystrea.ms/start", "display": map[string]any{"en": "Started"}}, false),
	`\mod_lesson\event\lesson_resumed`:      lessonEvent(map[string]any{"id": "https://w3id.org/xapi/tla/verbs/resumed", "display": map[string]any{"en": "Resumed"}}, false),
	`\mod_lesson\event\lesson_restarted`:    lessonEvent(map[string]any{"id": "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/restarted", "display": map[string]any{"en": "Restarted"}}, false),
	`\mod_lesson\event\lesson_ended`:        lessonEvent(Verb("completed"), true),
	`\mod_lesson\event\content_page_viewed`: lessonPageEvent(false, false),
	`\mod_lesson\event\question_viewed`:     lessonPageEvent(true, false),
	`\mod_lesson\event\question_answered`:   lessonPageEvent(true, true),
	`\mod_lesson\event\essay_assessed`:      lessonEssayAssessed,

	// events_mod_other.go
	`\mod_book\event\chapter_viewed`:  bookChapterViewed,
	`\mod_book\event\chapter_created`: bookChapterCreated,

	`\mod_choice\event\answer_created`: choiceAnswerCreated,

	`\mod_facetoface\event\cancel_booking`:  facetofaceModuleEvent("http://id.tincanapi.com/verb/unregistered", "Unregistered"),
	`\mod_facetoface\event\signup_success`:  facetofaceModuleEvent("http://adlnet.gov/expapi/verbs/registered", "Registered"),
	`\mod_facetoface\event\take_attendance`: facetofaceTakeAttendance,

	`\mod_glossary\event\entry_viewed`:    glossaryEntryViewed,
	`\mod_glossary\event\comment_created`: glossaryComment(false),
	`\mod_glossary\event\comment_deleted`: glossaryComment(true),

	`\mod_wiki\event\page_viewed`:     wikiPageViewed,
	`\mod_wiki\event\comments_viewed`: wikiCommentsViewed,
	`\mod_wiki\event\comment_created`: wikiCommentCreated,
	`\mod_wiki\event\comment_deleted`: wikiCommentDeleted,

	`\tool_certificate\event\certificate_issued`:   certificateEvent("https://w3id.org/xapi/tla/verbs/achieved", "Achieved"),
	`\tool_certificate\event\certificate_verified`: certificateEvent("https://w3id.org/xapi/tla/verbs/verified", "Verified"),
	`\tool_certificate\event\certificate_revoked`:  certificateEvent("https://w3id.org/xapi/tla/verbs/forfeited", "Forfeited"),

	`\tool_usertours\event\tour_ended`: usertoursTourEnded,

	`\totara_program\event\program_assigned`: totaraProgramAssigned,

	// events_mod_questionnaire.go
	`\mod_questionnaire\event\attempt_resumed`:      questionnaireModuleEvent(map[string]any{"id": "https://w3id.org/xapi/tla/verbs/resumed", "display": map[string]any{"en": "Resumed"}}),
	`\mod_questionnaire\event\attempt_saved`:        questionnaireModuleEvent(map[string]any{"id": "https://w3id.org/xapi/tla/verbs/suspended", "display": map[string]any{"en": "Suspended"}}),
	`\mod_questionnaire\event\attempt_submitted`:    questionnaireModuleEvent(map[string]any{"id": "http://activitystrea.ms/submit", "display": map[string]any{"en": "Submitted"}}),
	`\mod_questionnaire\event\all_responses_viewed`: questionnaireAllResponsesViewed,

	// events_mod_quiz.go
	`\mod_quiz\event\attempt_abandoned`: quizAttemptSubmitted,
	`\mod_quiz\event\attempt_submitted`: quizAttemptSubmitted,
	`\mod_quiz\event\attempt_becameoverdue`: quizAttemptEvent("relateduserid",
		map[string]any{"id": "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/exceeded", "display": map[string]any{"en": "Exceeded"}}),
	`\mod_quiz\event\attempt_started`: quizAttemptEvent("relateduserid", Verb("started")),
	// The plugin's attempt_viewed names the attempt by the log row's id
	// ($event->id), which is only the attempt's id by chance; the attempt
	// viewed is the event's objectid, used here.
	`\mod_quiz\event\attempt_viewed`:           quizAttemptEvent("userid", Verb("viewed")),
	`\mod_quiz\event\attempt_reviewed`:         quizAttemptReviewed,
	`\mod_quiz\event\question_manually_graded`: quizQuestionManuallyGraded,

	// events_mod_scorm.go
	`\mod_scorm\event\sco_launched`:       scormEvent(false, false),
	`\mod_scorm\event\status_submitted`:   scormEvent(true, false),
	`\mod_scorm\event\scoreraw_submitted`: scormEvent(true, true),

	// events_mod_survey.go
	//
	// response_submitted is shaped as the questionnaire's module events:
	// the module as object, its section and course as parents.
	`\mod_survey\event\response_submitted`: questionnaireModuleEvent(map[string]any{"id": "http://activitystrea.ms/submit", "display": map[string]any{"en": "Submitted"}}),
	`\mod_survey\event\report_viewed`:      surveyReportViewed,
}
