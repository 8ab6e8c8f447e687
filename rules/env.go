package rules

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// Env is what a rule's `when` expression sees: one statement, decoded into
// typed fields so that a misspelt property is a compile-time error. Absent
// properties have their zero value ("" / false / 0 / zero time / nil map /
// empty list); use has("path") to tell an absent property from a zero one.
// See the package documentation for the full list.
type Env struct {
	ID        string         `expr:"id"`
	Actor     Agent          `expr:"actor"`
	Verb      Verb           `expr:"verb"`
	Object    Object         `expr:"object"`
	Result    Result         `expr:"result"`
	Context   Context        `expr:"context"`
	Timestamp time.Time      `expr:"timestamp"`
	Stored    time.Time      `expr:"stored"`
	Authority Agent          `expr:"authority"`
	Version   string         `expr:"version"`
	Store     string         `expr:"store"`
	Statement map[string]any `expr:"statement"`

	raw map[string]any // the statement as given (json.Number numbers); used by helpers

	steps  int // predicate evaluations of the rule being evaluated
	budget int // steps allowed; 0: no limit
}

// Agent is an Agent or Group (actor, authority, context.instructor, context.team,
// group members, and the agent fields of object).
type Agent struct {
	ObjectType  string  `expr:"objectType"` // "Agent" (default) or "Group"
	Name        string  `expr:"name"`
	Mbox        string  `expr:"mbox"` // "mailto:a@b"
	MboxSHA1Sum string  `expr:"mbox_sha1sum"`
	OpenID      string  `expr:"openid"`
	Account     Account `expr:"account"`
	Key         string  `expr:"key"`    // "mbox::mailto:a@b", "account::<homePage>::<name>", … ("" if no IFI)
	Member      []Agent `expr:"member"` // Group members
}

// Account is an agent's account IFI.
type Account struct {
	HomePage string `expr:"homePage"`
	Name     string `expr:"name"`
}

// Verb is the statement's verb.
type Verb struct {
	ID      string            `expr:"id"`
	Display map[string]string `expr:"display"`
}

// Definition is an activity definition.
type Definition struct {
	Type            string            `expr:"type"`
	Name            map[string]string `expr:"name"`
	Description     map[string]string `expr:"description"`
	MoreInfo        string            `expr:"moreInfo"`
	InteractionType string            `expr:"interactionType"`
	Extensions      map[string]any    `expr:"extensions"`
}

// Activity is an activity in context.contextActivities.
type Activity struct {
	ObjectType string     `expr:"objectType"`
	ID         string     `expr:"id"`
	Definition Definition `expr:"definition"`
}

// Object is the statement's object. Which fields are set depends on objectType:
// Activity (id, definition), Agent/Group (name, mbox, …, key, member),
// StatementRef (id) or SubStatement (actor, verb; the rest through `statement`).
type Object struct {
	ObjectType string     `expr:"objectType"` // "Activity" when absent
	ID         string     `expr:"id"`
	Definition Definition `expr:"definition"`

	Name        string  `expr:"name"`
	Mbox        string  `expr:"mbox"`
	MboxSHA1Sum string  `expr:"mbox_sha1sum"`
	OpenID      string  `expr:"openid"`
	Account     Account `expr:"account"`
	Key         string  `expr:"key"`
	Member      []Agent `expr:"member"`

	Actor Agent `expr:"actor"` // SubStatement only
	Verb  Verb  `expr:"verb"`  // SubStatement only
}

// Score is result.score.
type Score struct {
	Scaled float64 `expr:"scaled"`
	Raw    float64 `expr:"raw"`
	Min    float64 `expr:"min"`
	Max    float64 `expr:"max"`
}

// Result is the statement's result.
type Result struct {
	Success    bool           `expr:"success"`
	Completion bool           `expr:"completion"`
	Score      Score          `expr:"score"`
	Duration   string         `expr:"duration"` // ISO 8601, e.g. "PT1H30M"
	Response   string         `expr:"response"`
	Extensions map[string]any `expr:"extensions"`
}

// ContextActivities is context.contextActivities; every list is empty when absent
// (a single activity given as an object is read as a one-element list).
type ContextActivities struct {
	Parent   []Activity `expr:"parent"`
	Grouping []Activity `expr:"grouping"`
	Category []Activity `expr:"category"`
	Other    []Activity `expr:"other"`
}

// Context is the statement's context.
type Context struct {
	Registration      string            `expr:"registration"`
	Instructor        Agent             `expr:"instructor"`
	Team              Agent             `expr:"team"`
	ContextActivities ContextActivities `expr:"contextActivities"`
	Revision          string            `expr:"revision"`
	Platform          string            `expr:"platform"`
	Language          string            `expr:"language"`
	Statement         string            `expr:"statement"` // id of the referenced statement
	Extensions        map[string]any    `expr:"extensions"`
}

// newEnv decodes stmt into an Env. withRaw also fills Env.Statement with a copy
// whose numbers are float64 (only done when some rule reads `statement`).
func newEnv(store string, stmt map[string]any, withRaw bool) *Env {
	e := &Env{Store: store, raw: stmt}
	e.ID = str(stmt["id"])
	e.Actor = agentOf(stmt["actor"])
	e.Verb = verbOf(stmt["verb"])
	e.Object = objectOf(stmt["object"])
	if r, ok := stmt["result"].(map[string]any); ok {
		e.Result = resultOf(r)
	}
	if c, ok := stmt["context"].(map[string]any); ok {
		e.Context = contextOf(c)
	}
	e.Timestamp = timeOf(stmt["timestamp"])
	e.Stored = timeOf(stmt["stored"])
	e.Authority = agentOf(stmt["authority"])
	e.Version = str(stmt["version"])
	if withRaw {
		e.Statement, _ = numbers(stmt).(map[string]any)
	}
	return e
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func boolOf(v any) bool {
	b, _ := v.(bool)
	return b
}

func timeOf(v any) time.Time {
	s, ok := v.(string)
	if !ok {
		return time.Time{}
	}
	t, err := xapi.ParseTimestamp(s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func floatOf(v any) float64 {
	switch n := v.(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case float64:
		return n
	case float32:
		return float64(n)
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return 0
}

func langMap(v any) map[string]string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

func agentOf(v any) Agent {
	m, ok := v.(map[string]any)
	if !ok {
		return Agent{}
	}
	a := Agent{
		ObjectType:  str(m["objectType"]),
		Name:        str(m["name"]),
		Mbox:        str(m["mbox"]),
		MboxSHA1Sum: str(m["mbox_sha1sum"]),
		OpenID:      str(m["openid"]),
	}
	if a.ObjectType == "" {
		a.ObjectType = "Agent"
	}
	if acc, ok := m["account"].(map[string]any); ok {
		a.Account = Account{HomePage: str(acc["homePage"]), Name: str(acc["name"])}
	}
	a.Key, _ = xapi.AgentKey(m)
	if ms, ok := m["member"].([]any); ok && len(ms) > 0 {
		a.Member = make([]Agent, 0, len(ms))
		for _, x := range ms {
			a.Member = append(a.Member, agentOf(x))
		}
	}
	return a
}

func verbOf(v any) Verb {
	m, ok := v.(map[string]any)
	if !ok {
		return Verb{}
	}
	return Verb{ID: str(m["id"]), Display: langMap(m["display"])}
}

func definitionOf(v any) Definition {
	m, ok := v.(map[string]any)
	if !ok {
		return Definition{}
	}
	return Definition{
		Type:            str(m["type"]),
		Name:            langMap(m["name"]),
		Description:     langMap(m["description"]),
		MoreInfo:        str(m["moreInfo"]),
		InteractionType: str(m["interactionType"]),
		Extensions:      extensionsOf(m["extensions"]),
	}
}

func activityOf(m map[string]any) Activity {
	a := Activity{ObjectType: str(m["objectType"]), ID: str(m["id"]), Definition: definitionOf(m["definition"])}
	if a.ObjectType == "" {
		a.ObjectType = "Activity"
	}
	return a
}

func objectOf(v any) Object {
	m, ok := v.(map[string]any)
	if !ok {
		return Object{}
	}
	o := Object{ObjectType: str(m["objectType"]), ID: str(m["id"])}
	switch o.ObjectType {
	case "", "Activity":
		o.ObjectType = "Activity"
		o.Definition = definitionOf(m["definition"])
	case "Agent", "Group":
		a := agentOf(m)
		o.Name, o.Mbox, o.MboxSHA1Sum, o.OpenID = a.Name, a.Mbox, a.MboxSHA1Sum, a.OpenID
		o.Account, o.Key, o.Member = a.Account, a.Key, a.Member
	case "SubStatement":
		o.Actor = agentOf(m["actor"])
		o.Verb = verbOf(m["verb"])
	}
	return o
}

func resultOf(m map[string]any) Result {
	r := Result{
		Success:    boolOf(m["success"]),
		Completion: boolOf(m["completion"]),
		Duration:   str(m["duration"]),
		Response:   str(m["response"]),
		Extensions: extensionsOf(m["extensions"]),
	}
	if s, ok := m["score"].(map[string]any); ok {
		r.Score = Score{
			Scaled: floatOf(s["scaled"]),
			Raw:    floatOf(s["raw"]),
			Min:    floatOf(s["min"]),
			Max:    floatOf(s["max"]),
		}
	}
	return r
}

func activities(v any) []Activity {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]Activity, 0, len(x))
		for _, a := range x {
			if m, ok := a.(map[string]any); ok {
				out = append(out, activityOf(m))
			}
		}
		return out
	case map[string]any: // xAPI 1.0.x allowed a single activity here
		return []Activity{activityOf(x)}
	}
	return nil
}

func contextOf(m map[string]any) Context {
	c := Context{
		Registration: str(m["registration"]),
		Instructor:   agentOf(m["instructor"]),
		Team:         agentOf(m["team"]),
		Revision:     str(m["revision"]),
		Platform:     str(m["platform"]),
		Language:     str(m["language"]),
		Extensions:   extensionsOf(m["extensions"]),
	}
	if ref, ok := m["statement"].(map[string]any); ok {
		c.Statement = str(ref["id"])
	}
	if ca, ok := m["contextActivities"].(map[string]any); ok {
		c.ContextActivities = ContextActivities{
			Parent:   activities(ca["parent"]),
			Grouping: activities(ca["grouping"]),
			Category: activities(ca["category"]),
			Other:    activities(ca["other"]),
		}
	}
	return c
}

func extensionsOf(v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	out, _ := numbers(m).(map[string]any)
	return out
}

// numbers returns v with every json.Number replaced by a float64, copying only
// the maps and slices that contain one (v itself is never modified).
func numbers(v any) any {
	if !hasNumber(v) {
		return v
	}
	switch x := v.(type) {
	case json.Number:
		return floatOf(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = numbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = numbers(e)
		}
		return out
	}
	return v
}

func hasNumber(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return true
	case map[string]any:
		for _, e := range x {
			if hasNumber(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNumber(e) {
				return true
			}
		}
	}
	return false
}

// lookup walks a dotted path through decoded JSON. After a segment named
// "extensions" the rest of the path is one key (extension keys are IRIs and
// contain dots). Lists on the way are searched element by element: the path
// is found when it is found in any element.
func lookup(v any, segs []string) (any, bool) {
	if len(segs) == 0 {
		return v, true
	}
	switch x := v.(type) {
	case map[string]any:
		e, ok := x[segs[0]]
		if !ok {
			return nil, false
		}
		return lookup(e, segs[1:])
	case []any:
		for _, e := range x {
			if r, ok := lookup(e, segs); ok {
				return r, true
			}
		}
	}
	return nil, false
}

// splitPath splits "context.extensions.http://x.org/y" into
// ["context", "extensions", "http://x.org/y"].
func splitPath(p string) []string {
	var segs []string
	for p != "" {
		i := strings.IndexByte(p, '.')
		if i < 0 {
			segs = append(segs, p)
			break
		}
		seg := p[:i]
		segs = append(segs, seg)
		p = p[i+1:]
		if p == "" { // trailing dot
			segs = append(segs, "")
			break
		}
		if seg == "extensions" {
			segs = append(segs, p)
			break
		}
	}
	return segs
}
