package moodle

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Identity is how a Moodle user becomes an xAPI actor.
type Identity string

const (
	// IdentityAccount: account {homePage: wwwroot, name: user id}
	// (the default, as logstore_xapi does).
	IdentityAccount Identity = "account"
	// IdentityUsername: account {homePage, name: username}.
	IdentityUsername Identity = "username"
	// IdentityMbox: mbox mailto:email (falls back to the account when the
	// email is not valid).
	IdentityMbox Identity = "mbox"
)

// Options shape the statements, as logstore_xapi's settings do.
type Options struct {
	WWWRoot         string   // site URL, e.g. https://moodle.example.org (no trailing slash)
	AccountHomePage string   // homePage for username accounts; default WWWRoot
	Identity        Identity // default IdentityAccount
	SendNames       bool     // actor.name = first and last name
	Platform        string   // context.platform; default "Moodle"
	// MoodleRelease goes in the info extension ("http://moodle.org": release).
	MoodleRelease string
	// SendResponseChoices includes choice texts in quiz/feedback responses.
	SendResponseChoices bool
	// SendShortCourseID and SendIDNumbers add the course short name and
	// course/module idnumbers as definition extensions.
	SendShortCourseID bool
	SendIDNumbers     bool
	// ScaledZeroOne reports quiz result.score.scaled in 0..1 even when the
	// plugin would send a negative value (see README).
	ScaledZeroOne bool
}

func (o *Options) defaults() {
	o.WWWRoot = strings.TrimSuffix(o.WWWRoot, "/")
	if o.Identity == "" {
		o.Identity = IdentityAccount
	}
	if o.AccountHomePage == "" {
		o.AccountHomePage = o.WWWRoot
	}
	if o.Platform == "" {
		o.Platform = "Moodle"
	}
}

// Statement is an xAPI statement being built.
type Statement = map[string]any

// Mapper turns one log event into statements. The mapper of each event is
// in the table mappers, in events.go.
type Mapper func(c *Ctx, ev Row) ([]Statement, error)

// anonymisedEvents are mapped even when the log marks them anonymous,
// because their mapper does not reveal the user.
var anonymisedEvents = map[string]bool{`\mod_feedback\event\response_submitted`: true}

// Events lists the event names that have a mapper, sorted.
func Events() []string {
	out := make([]string, 0, len(mappers))
	for k := range mappers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Mapped reports whether eventname has a mapper.
func Mapped(eventname string) bool { _, ok := mappers[eventname]; return ok }

// SkipError says an event produced no statement on purpose (a guest, an
// anonymous event...), with the reason counted in the source's status.
type SkipError struct{ Reason string }

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

func skip(format string, args ...any) error { return &SkipError{Reason: fmt.Sprintf(format, args...)} }

// Ctx is what a mapper works with.
type Ctx struct {
	Opt  Options
	Repo Repo
	// EventFunction names the mapping, for the info extension.
	EventFunction string
}

// NewCtx returns a Ctx with defaults applied to opt.
func NewCtx(opt Options, repo Repo) *Ctx {
	opt.defaults()
	return &Ctx{Opt: opt, Repo: repo}
}

// Map maps one log row. Unknown events return (nil, *SkipError).
func (c *Ctx) Map(ev Row) ([]Statement, error) {
	name := ev.Str("eventname")
	m, ok := mappers[name]
	if !ok {
		return nil, skip("event %s is not mapped", name)
	}
	// Anonymous events name their user in the log; sending them would undo
	// the anonymity, so they are skipped, except where the mapper itself
	// anonymises the actor (anonymous feedback, as logstore_xapi does).
	if ev.Int("anonymous") == 1 && !anonymisedEvents[name] {
		return nil, skip("anonymous event")
	}
	c.EventFunction = `\src\transformer\events` + strings.TrimPrefix(strings.Replace(name, `\event\`, `\`, 1), "")
	stmts, err := m(c, ev)
	if err != nil {
		return nil, err
	}
	ts := Timestamp(ev.Int("timecreated"))
	for _, s := range stmts {
		ctx, _ := s["context"].(map[string]any)
		if ctx == nil {
			ctx = map[string]any{}
			s["context"] = ctx
		}
		if _, ok := ctx["platform"]; !ok {
			ctx["platform"] = c.Opt.Platform
		}
		if _, ok := s["timestamp"]; !ok {
			s["timestamp"] = ts
		}
	}
	return stmts, nil
}

// Timestamp formats a Moodle unix time as the plugin does.
func Timestamp(unix int64) string {
	return time.Unix(unix, 0).UTC().Format("2006-01-02T15:04:05.000Z")
}

// --- helpers shared by the mappers (ports of logstore_xapi's utils) ---

// User reads a user record; a missing (deleted) user is a *MissingError.
func (c *Ctx) User(id int64) (Row, error) {
	if id <= 0 {
		return nil, skip("no user (id %d)", id)
	}
	u, err := ReadRecordByID(c.Repo, "user", id)
	if err == nil && u.Str("username") == "guest" {
		return nil, skip("guest user")
	}
	return u, err
}

// FullName is first and last name as the plugin builds it, without the
// stray space the plugin leaves when one of them is empty.
func FullName(u Row) string {
	return strings.TrimSpace(u.Str("firstname") + " " + u.Str("lastname"))
}

// Actor is the xAPI agent of a Moodle user, per the identity option.
func (c *Ctx) Actor(u Row) map[string]any {
	a := map[string]any{}
	if c.Opt.SendNames {
		a["name"] = FullName(u)
	}
	if c.Opt.Identity == IdentityMbox {
		if _, err := mail.ParseAddress(u.Str("email")); err == nil && u.Str("email") != "" {
			a["mbox"] = "mailto:" + u.Str("email")
			return a
		}
	}
	if c.Opt.Identity == IdentityUsername {
		a["account"] = map[string]any{"homePage": c.Opt.AccountHomePage, "name": u.Str("username")}
		return a
	}
	a["account"] = map[string]any{"homePage": c.Opt.WWWRoot, "name": u.Str("id")}
	return a
}

var langRE = regexp.MustCompile(`^[a-zA-Z]{2}(-[a-zA-Z]{2})?$`)

// CourseLang is the language tag of a course ("en" when unset or odd).
func CourseLang(course Row) string {
	l := course.Str("lang")
	if l == "" {
		l = "en"
	}
	l = strings.ReplaceAll(l, "_", "-")
	if !langRE.MatchString(l) {
		return "en"
	}
	return l
}

// Course reads a course record.
func (c *Ctx) Course(id int64) (Row, error) { return ReadRecordByID(c.Repo, "course", id) }

// CourseActivity is the xAPI activity of a course.
func (c *Ctx) CourseActivity(course Row) map[string]any {
	name := course.Str("fullname")
	if name == "" {
		name = "A Moodle course"
	}
	def := map[string]any{
		"type": "https://w3id.org/xapi/cmi5/activitytype/course",
		"name": map[string]any{CourseLang(course): name},
	}
	if c.Opt.SendShortCourseID {
		ext(def)["https://w3id.org/learning-analytics/learning-management-system/short-id"] = course.Str("shortname")
	}
	if c.Opt.SendIDNumbers {
		ext(def)["https://w3id.org/learning-analytics/learning-management-system/external-id"] = nullable(course, "idnumber")
	}
	return map[string]any{"objectType": "Activity", "id": c.Opt.WWWRoot + "/course/view.php?id=" + course.Str("id"), "definition": def}
}

func ext(def map[string]any) map[string]any {
	e, _ := def["extensions"].(map[string]any)
	if e == nil {
		e = map[string]any{}
		def["extensions"] = e
	}
	return e
}

func nullable(r Row, col string) any {
	if v, ok := r[col]; ok && v != nil {
		return r.Str(col)
	}
	return nil
}

// Site is the activity of the Moodle site (course 1).
func (c *Ctx) Site() (map[string]any, error) {
	site, err := ReadRecordByID(c.Repo, "course", 1)
	if err != nil {
		return nil, err
	}
	name := site.Str("fullname")
	if name == "" {
		name = "Moodle LMS"
	}
	return map[string]any{"objectType": "Activity", "id": c.Opt.WWWRoot,
		"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/lms",
			"name": map[string]any{CourseLang(site): name}}}, nil
}

// Info is the info extension the plugin adds to every statement.
func (c *Ctx) Info(ev Row) map[string]any {
	return map[string]any{"http://lrs.learninglocker.net/define/extensions/info": map[string]any{
		"http://moodle.org":                    c.Opt.MoodleRelease,
		"https://github.com/xapibridge/bridge": "bridge",
		"event_name":                           ev.Str("eventname"),
		"event_function":                       c.EventFunction,
	}}
}

// ContextBase is the plugin's get_context_base: language and extensions.
func (c *Ctx) ContextBase(ev Row, lang string) map[string]any {
	return map[string]any{"language": lang, "extensions": c.Info(ev)}
}

// Verb returns one of the plugin's verbs by short name.
func Verb(name string) map[string]any {
	v, ok := verbs[name]
	if !ok {
		panic("moodle: unknown verb " + name)
	}
	return map[string]any{"id": v[0], "display": map[string]any{"en": v[1]}}
}

var verbs = map[string][2]string{
	"completed": {"http://adlnet.gov/expapi/verbs/completed", "Completed"},
	"loggedin":  {"https://xapi.edlm/profiles/edlm-lms/concepts/verbs/login", "Logged In"},
	"loggedout": {"https://xapi.edlm/profiles/edlm-lms/concepts/verbs/logout", "Logged Out"},
	"received":  {"http://activitystrea.ms/schema/1.0/receive", "Received"},
	"scored":    {"https://w3id.org/xapi/tla/verbs/scored", "Scored"},
	"started":   {"http://activitystrea.ms/schema/1.0/start", "Started"},
	"submitted": {"http://activitystrea.ms/schema/1.0/submit", "Submitted"},
	"viewed":    {"http://id.tincanapi.com/verb/viewed", "Viewed"},
}

// IsMissing reports whether err is a missing record.
func IsMissing(err error) bool { return errors.Is(err, ErrNotFound) }
