package moodle

import "strconv"

// Helpers shared by the module mappers of events_mod_assign.go,
// events_mod_forum.go, events_mod_bigbluebuttonbn.go and events_mod_other.go
// (ports of the logstore_xapi v5 utils those events use). Unexported names
// carry a "mods" prefix, or the module's name, to stay clear of the helpers
// of the other mapper files.

// modsSourceLang is the plugin's $config['source_lang'] (always "en"), the
// language of events that have no course.
const modsSourceLang = "en"

// modsUserCourse reads the event's user (column userCol) and course, in the
// plugin's order, and returns the course language.
func modsUserCourse(c *Ctx, ev Row, userCol string) (user, course Row, lang string, err error) {
	if user, err = c.User(ev.Int(userCol)); err != nil {
		return nil, nil, "", err
	}
	if course, err = c.Course(ev.Int("courseid")); err != nil {
		return nil, nil, "", err
	}
	return user, course, CourseLang(course), nil
}

// modsContext is get_context_base plus contextActivities: parent (omitted
// when nil) and category [site].
func modsContext(c *Ctx, ev Row, lang string, parent []any) (map[string]any, error) {
	site, err := c.Site()
	if err != nil {
		return nil, err
	}
	ca := map[string]any{"category": []any{site}}
	if parent != nil {
		ca["parent"] = parent
	}
	ctx := c.ContextBase(ev, lang)
	ctx["contextActivities"] = ca
	return ctx, nil
}

// modsModuleContext is modsContext with get_parent(cmid, includeModule),
// preceded by the activities of prefix (e.g. a discussion above the forum).
func modsModuleContext(c *Ctx, ev Row, lang string, includeModule bool, prefix ...any) (map[string]any, error) {
	parent, err := c.Parent(ev.Int("contextinstanceid"), includeModule)
	if err != nil {
		return nil, err
	}
	if len(prefix) > 0 {
		parent = append(append([]any{}, prefix...), parent...)
	}
	return modsContext(c, ev, lang, parent)
}

// modsInstanceName is the name of the module instance of a course module
// (the module's name when the instance has no name column), as the plugin's
// course_module and assign_submission utils compute it.
func modsInstanceName(c *Ctx, cmid int64, table string) (string, error) {
	cm, err := ReadRecordByID(c.Repo, "course_modules", cmid)
	if err != nil {
		return "", err
	}
	module, err := ReadRecordByID(c.Repo, "modules", cm.Int("module"))
	if err != nil {
		return "", err
	}
	if table == "" {
		table = module.Str("name")
	}
	instance, err := ReadRecordByID(c.Repo, table, cm.Int("instance"))
	if err != nil {
		return "", err
	}
	if instance.Has("name") {
		return instance.Str("name"), nil
	}
	return module.Str("name"), nil
}

// modsStripHTML is get_string_html_removed: strip_tags, then newlines and
// &nbsp; removed (no entity decoding), "" for NULL.
func modsStripHTML(r Row, col string) string { return StripHTML(r.Str(col)) }

// modsIsSet is PHP's isset on a record property: present and not NULL.
func modsIsSet(r Row, col string) bool { v, ok := r[col]; return ok && v != nil }

// modsStatement assembles a statement.
func modsStatement(actor, verb, object, ctx map[string]any) Statement {
	return Statement{"actor": actor, "verb": verb, "object": object, "context": ctx}
}

// modsItoa formats an id for a URL.
func modsItoa(n int64) string { return strconv.FormatInt(n, 10) }
