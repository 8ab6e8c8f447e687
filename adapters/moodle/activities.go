package moodle

import (
	"html"
	"regexp"
	"strings"
)

var moduleTypes = map[string]string{
	"assign":          "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/assignment",
	"bigbluebuttonbn": "http://adlnet.gov/expapi/activities/meeting",
	"book":            "http://id.tincanapi.com/activitytype/book",
	"chat":            "http://id.tincanapi.com/activitytype/chat-channel",
	"choice":          "http://adlnet.gov/expapi/activities/cmi.interaction",
	"data":            "http://xapi.org.au/contentprofile/activitytype/database",
	"facetoface":      "https://w3id.org/xapi/acrossx/activities/face-to-face-discussion",
	"feedback":        "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/feedback",
	"folder":          "http://activitystrea.ms/collection",
	"forum":           "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/forum",
	"glossary":        "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/glossary",
	"h5pactivity":     "http://adlnet.gov/expapi/activities/media",
	"imscp":           "https://w3id.org/xapi/cmi5/activitytype/course",
	"label":           "https://w3id.org/xapi/acrossx/activities/webpage",
	"lesson":          "http://adlnet.gov/expapi/activities/lesson",
	"lti":             "http://adlnet.gov/expapi/activities/media",
	"page":            "https://w3id.org/xapi/acrossx/activities/page",
	"quiz":            "http://adlnet.gov/expapi/activities/assessment",
	"resource":        "http://id.tincanapi.com/activitytype/resource",
	"scorm":           "http://adlnet.gov/expapi/activities/module",
	"url":             "http://adlnet.gov/expapi/activities/link",
	"wiki":            "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/wiki",
	"workshop":        "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/workshop",
	"questionnaire":   "http://id.tincanapi.com/activitytype/survey",
	"survey":          "http://id.tincanapi.com/activitytype/survey",
}

// ModuleActivityType is the activity type of a module ("quiz", "page"...).
func ModuleActivityType(module string) string {
	if t, ok := moduleTypes[module]; ok {
		return t
	}
	return "http://id.tincanapi.com/activitytype/lms/module"
}

var tags = regexp.MustCompile(`<[^>]*>`)

// StripHTML removes tags, newlines and &nbsp; as the plugin does.
func StripHTML(s string) string {
	s = tags.ReplaceAllString(s, "")
	s = strings.NewReplacer("\n", "", "&nbsp;", "").Replace(s)
	return s
}

// CourseModule is the activity of a course module (cmid).
func (c *Ctx) CourseModule(course Row, cmid int64) (map[string]any, error) {
	cm, err := ReadRecordByID(c.Repo, "course_modules", cmid)
	if err != nil {
		return nil, err
	}
	module, err := ReadRecordByID(c.Repo, "modules", cm.Int("module"))
	if err != nil {
		return nil, err
	}
	name := module.Str("name")
	instance, err := ReadRecordByID(c.Repo, name, cm.Int("instance"))
	if err != nil {
		return nil, err
	}
	lang := CourseLang(course)
	instName := name
	if instance.Has("name") {
		instName = instance.Str("name")
	}
	typ := ModuleActivityType(name)
	def := map[string]any{"type": typ, "name": map[string]any{lang: instName}}
	switch name {
	case "choice":
		if d, err := c.choiceDefinition(instance, lang); err == nil {
			def = d
		} else {
			return nil, err
		}
	case "survey", "wiki":
		def["description"] = map[string]any{lang: StripHTML(html.UnescapeString(instance.Str("intro")))}
	}
	if c.Opt.SendIDNumbers {
		ext(def)["https://w3id.org/learning-analytics/learning-management-system/external-id"] = nullable(cm, "idnumber")
	}
	return map[string]any{"objectType": "Activity", "id": c.Opt.WWWRoot + "/mod/" + name + "/view.php?id=" + cm.Str("id"), "definition": def}, nil
}

// choiceDefinition is the plugin's definition\choice for a choice module.
func (c *Ctx) choiceDefinition(choice Row, lang string) (map[string]any, error) {
	opts, err := c.Repo.ReadRecords("choice_options", map[string]any{"choiceid": choice.Int("id")}, "id")
	if err != nil {
		return nil, err
	}
	texts := make([]string, 0, len(opts))
	for _, o := range opts {
		texts = append(texts, o.Str("text"))
	}
	desc := StripHTML(choice.Str("intro"))
	return c.CMIChoice(choice.Str("name"), &desc, texts, lang, nil), nil
}

// CourseSection is the activity of a course section (course_sections.id).
func (c *Ctx) CourseSection(course Row, sectionID int64) (map[string]any, error) {
	s, err := ReadRecordByID(c.Repo, "course_sections", sectionID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"objectType": "Activity", "id": c.Opt.WWWRoot + "/course/section.php?id=" + s.Str("id"),
		"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/section",
			"name": map[string]any{CourseLang(course): course.Str("fullname") + " Section " + s.Str("section")}}}, nil
}

// Parent is the plugin's get_parent: the module's section and course (and
// the module itself first when includeModule).
func (c *Ctx) Parent(cmid int64, includeModule bool) ([]any, error) {
	cm, err := ReadRecordByID(c.Repo, "course_modules", cmid)
	if err != nil {
		return nil, err
	}
	course, err := c.Course(cm.Int("course"))
	if err != nil {
		return nil, err
	}
	section, err := c.CourseSection(course, cm.Int("section"))
	if err != nil {
		return nil, err
	}
	out := []any{section, c.CourseActivity(course)}
	if includeModule {
		mod, err := c.CourseModule(course, cmid)
		if err != nil {
			return nil, err
		}
		out = append([]any{mod}, out...)
	}
	return out, nil
}
