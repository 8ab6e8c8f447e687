package xapi

import (
	"slices"
	"sort"
	"strings"
)

// VerbVoided is the reserved verb id of voiding statements.
const VerbVoided = "http://adlnet.gov/expapi/verbs/voided"

// validator carries the request version through the recursive checks.
type validator struct{ v Version }

// ValidateStatement checks statement s against the xAPI data rules of version v
// (1.0.3 or 2.0.0). It returns the first problem found as an *Error whose Path
// names the offending property. Properties are checked in a fixed order, so the
// result is deterministic.
func ValidateStatement(s map[string]any, v Version) error {
	if s == nil {
		return &Error{Msg: "statement must be a JSON object"}
	}
	vd := validator{v: v}
	if e := vd.statement(s, "", false); e != nil {
		return e
	}
	return nil
}

// ValidateAgentParam validates an Agent or Identified Group given as a request
// parameter (e.g. the "agent" parameter of GET /statements): it must be a JSON
// object that is a valid Agent or Group carrying exactly one IFI.
func ValidateAgentParam(a any, v Version) error {
	vd := validator{v: v}
	m, ok := a.(map[string]any)
	if !ok {
		return &Error{Path: "agent", Msg: "must be a JSON object"}
	}
	if e := vd.actor(m, "agent", kindAny); e != nil {
		return e
	}
	if _, ok := AgentKey(m); !ok {
		return &Error{Path: "agent", Msg: "must be an Agent or Identified Group with exactly one of mbox, mbox_sha1sum, openid, account"}
	}
	return nil
}

// checkKeys rejects null values and properties not in allowed. Keys are visited
// in sorted order for deterministic errors.
func checkKeys(m map[string]any, path string, allowed ...string) *Error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return errf(join(path, k), "is not an allowed property here (allowed: %s)", strings.Join(allowed, ", "))
		}
		if m[k] == nil {
			return errf(join(path, k), "must not be null")
		}
	}
	return nil
}

// getString returns the string at m[key]; present reports whether the key exists.
func getString(m map[string]any, key, path string) (s string, present bool, e *Error) {
	v, ok := m[key]
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, errf(join(path, key), "must be a string")
	}
	return s, true, nil
}

func requireString(m map[string]any, key, path string) (string, *Error) {
	s, present, e := getString(m, key, path)
	if e != nil {
		return "", e
	}
	if !present {
		return "", errf(join(path, key), "is required")
	}
	return s, nil
}

// iriProp checks an optional (or required) IRI property.
func iriProp(m map[string]any, key, path string, required bool) *Error {
	s, present, e := getString(m, key, path)
	if e != nil {
		return e
	}
	if !present {
		if required {
			return errf(join(path, key), "is required")
		}
		return nil
	}
	if !isIRI(s) {
		return errf(join(path, key), "must be an absolute IRI")
	}
	return nil
}

func objectAt(v any, path string) (map[string]any, *Error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errf(path, "must be a JSON object")
	}
	return m, nil
}

func arrayAt(v any, path string) ([]any, *Error) {
	a, ok := v.([]any)
	if !ok {
		return nil, errf(path, "must be an array")
	}
	return a, nil
}

// statement validates a Statement (sub=false) or SubStatement (sub=true).
func (vd validator) statement(s map[string]any, path string, sub bool) *Error {
	if sub {
		for _, k := range []string{"id", "stored", "version", "authority"} {
			if _, ok := s[k]; ok {
				return errf(join(path, k), "must not be present in a SubStatement")
			}
		}
		if e := checkKeys(s, path, "objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"); e != nil {
			return e
		}
	} else if e := checkKeys(s, path, "id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version", "attachments"); e != nil {
		return e
	}
	if !sub {
		if id, present, e := getString(s, "id", path); e != nil {
			return e
		} else if present && !IsUUID(id) {
			return errf(join(path, "id"), "must be a UUID")
		}
	}
	for _, k := range []string{"actor", "verb", "object"} {
		if _, ok := s[k]; !ok {
			return errf(join(path, k), "is required")
		}
	}
	actor, e := objectAt(s["actor"], join(path, "actor"))
	if e != nil {
		return e
	}
	if e := vd.actor(actor, join(path, "actor"), kindAny); e != nil {
		return e
	}
	verbID, e := vd.verb(s["verb"], join(path, "verb"))
	if e != nil {
		return e
	}
	objType, e := vd.object(s["object"], join(path, "object"), sub)
	if e != nil {
		return e
	}
	if verbID == VerbVoided && objType != "StatementRef" {
		return errf(join(path, "object"), "a voiding statement (verb %s) must have a StatementRef object", VerbVoided)
	}
	if r, ok := s["result"]; ok {
		if e := vd.result(r, join(path, "result")); e != nil {
			return e
		}
	}
	if c, ok := s["context"]; ok {
		if e := vd.context(c, join(path, "context"), objType); e != nil {
			return e
		}
	}
	if e := vd.timestamp(s, "timestamp", path); e != nil {
		return e
	}
	if !sub {
		if e := vd.timestamp(s, "stored", path); e != nil {
			return e
		}
		if a, ok := s["authority"]; ok {
			if e := vd.authority(a, join(path, "authority")); e != nil {
				return e
			}
		}
		if ver, present, e := getString(s, "version", path); e != nil {
			return e
		} else if present && !validStatementVersion(ver, vd.v) {
			if vd.v == V200 {
				return errf(join(path, "version"), "must be \"1.0\", \"1.0.x\", \"2.0\" or \"2.0.x\"")
			}
			return errf(join(path, "version"), "must be \"1.0\" or \"1.0.x\"")
		}
	}
	if a, ok := s["attachments"]; ok {
		if e := vd.attachments(a, join(path, "attachments")); e != nil {
			return e
		}
	}
	return nil
}

// timestamp checks an optional timestamp property (timestamp/stored).
func (vd validator) timestamp(m map[string]any, key, path string) *Error {
	ts, present, e := getString(m, key, path)
	if e != nil || !present {
		return e
	}
	_, zone, err := parseTimestamp(ts)
	if err != nil {
		return errf(join(path, key), "must be an ISO 8601 timestamp")
	}
	if !zone && vd.v == V200 {
		return errf(join(path, key), "must include a time zone offset (RFC 3339)")
	}
	if vd.v == V103 && strings.IndexByte(ts, ' ') >= 0 {
		return errf(join(path, key), "must be an ISO 8601 timestamp (a 'T' between date and time)")
	}
	return nil
}

// verb validates a Verb and returns its id.
func (vd validator) verb(v any, path string) (string, *Error) {
	m, e := objectAt(v, path)
	if e != nil {
		return "", e
	}
	if e := checkKeys(m, path, "id", "display"); e != nil {
		return "", e
	}
	if e := iriProp(m, "id", path, true); e != nil {
		return "", e
	}
	if d, ok := m["display"]; ok {
		if e := languageMap(d, join(path, "display")); e != nil {
			return "", e
		}
	}
	return m["id"].(string), nil
}

// languageMap validates a language map: keys are RFC 5646 tags, values strings.
func languageMap(v any, path string) *Error {
	m, e := objectAt(v, path)
	if e != nil {
		return e
	}
	for _, k := range sortedKeys(m) {
		if !ParseLanguageTag(k) {
			return errf(join(path, k), "is not a valid RFC 5646 language tag")
		}
		if _, ok := m[k].(string); !ok {
			return errf(join(path, k), "must be a string")
		}
	}
	return nil
}

// extensions validates an extensions object: keys are IRIs, values any JSON (null allowed).
func extensions(v any, path string) *Error {
	m, e := objectAt(v, path)
	if e != nil {
		return e
	}
	for _, k := range sortedKeys(m) {
		if !isIRI(k) {
			return errf(join(path, k), "extension key must be an absolute IRI")
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// object validates a statement object and returns its effective objectType.
func (vd validator) object(v any, path string, sub bool) (string, *Error) {
	m, e := objectAt(v, path)
	if e != nil {
		return "", e
	}
	ot, present, e := getString(m, "objectType", path)
	if e != nil {
		return "", e
	}
	if !present {
		ot = "Activity"
	}
	switch ot {
	case "Activity":
		return ot, vd.activity(m, path)
	case "Agent", "Group":
		return ot, vd.actor(m, path, kindAny)
	case "StatementRef":
		return ot, statementRef(m, path)
	case "SubStatement":
		if sub {
			return ot, errf(join(path, "objectType"), "a SubStatement must not contain a SubStatement")
		}
		return ot, vd.statement(m, path, true)
	}
	return ot, errf(join(path, "objectType"), "must be one of Activity, Agent, Group, StatementRef, SubStatement")
}

// statementRef validates a StatementRef object (objectType required).
func statementRef(m map[string]any, path string) *Error {
	if e := checkKeys(m, path, "objectType", "id"); e != nil {
		return e
	}
	ot, e := requireString(m, "objectType", path)
	if e != nil {
		return e
	}
	if ot != "StatementRef" {
		return errf(join(path, "objectType"), "must be \"StatementRef\"")
	}
	id, e := requireString(m, "id", path)
	if e != nil {
		return e
	}
	if !IsUUID(id) {
		return errf(join(path, "id"), "must be a UUID")
	}
	return nil
}

// Interaction types and the component lists each allows.
var interactionComponents = map[string][]string{
	"true-false":   nil,
	"choice":       {"choices"},
	"fill-in":      nil,
	"long-fill-in": nil,
	"matching":     {"source", "target"},
	"performance":  {"steps"},
	"sequencing":   {"choices"},
	"likert":       {"scale"},
	"numeric":      nil,
	"other":        nil,
}

// activity validates an Activity object.
func (vd validator) activity(m map[string]any, path string) *Error {
	if e := checkKeys(m, path, "objectType", "id", "definition"); e != nil {
		return e
	}
	if e := iriProp(m, "id", path, true); e != nil {
		return e
	}
	d, ok := m["definition"]
	if !ok {
		return nil
	}
	return vd.definition(d, join(path, "definition"))
}

// definition validates an Activity Definition.
func (vd validator) definition(v any, path string) *Error {
	d, e := objectAt(v, path)
	if e != nil {
		return e
	}
	if e := checkKeys(d, path, "name", "description", "type", "moreInfo", "interactionType",
		"correctResponsesPattern", "choices", "scale", "source", "target", "steps", "extensions"); e != nil {
		return e
	}
	for _, k := range []string{"name", "description"} {
		if lm, ok := d[k]; ok {
			if e := languageMap(lm, join(path, k)); e != nil {
				return e
			}
		}
	}
	if e := iriProp(d, "type", path, false); e != nil {
		return e
	}
	if e := iriProp(d, "moreInfo", path, false); e != nil {
		return e
	}
	it, hasIT, e := getString(d, "interactionType", path)
	if e != nil {
		return e
	}
	var allowed []string
	if hasIT {
		var known bool
		allowed, known = interactionComponents[it]
		if !known {
			return errf(join(path, "interactionType"), "must be one of true-false, choice, fill-in, long-fill-in, matching, performance, sequencing, likert, numeric, other")
		}
	}
	if crp, ok := d["correctResponsesPattern"]; ok {
		if !hasIT {
			return errf(join(path, "interactionType"), "is required when correctResponsesPattern is present")
		}
		a, e := arrayAt(crp, join(path, "correctResponsesPattern"))
		if e != nil {
			return e
		}
		for i, x := range a {
			if _, ok := x.(string); !ok {
				return errf(index(join(path, "correctResponsesPattern"), i), "must be a string")
			}
		}
	}
	for _, k := range []string{"choices", "scale", "source", "target", "steps"} {
		c, ok := d[k]
		if !ok {
			continue
		}
		if !hasIT {
			return errf(join(path, "interactionType"), "is required when %s is present", k)
		}
		if !slices.Contains(allowed, k) {
			return errf(join(path, k), "is not allowed for interactionType %q", it)
		}
		if e := components(c, join(path, k)); e != nil {
			return e
		}
	}
	if x, ok := d["extensions"]; ok {
		return extensions(x, join(path, "extensions"))
	}
	return nil
}

// components validates an interaction component list.
func components(v any, path string) *Error {
	a, e := arrayAt(v, path)
	if e != nil {
		return e
	}
	seen := map[string]bool{}
	for i, x := range a {
		p := index(path, i)
		c, e := objectAt(x, p)
		if e != nil {
			return e
		}
		if e := checkKeys(c, p, "id", "description"); e != nil {
			return e
		}
		id, e := requireString(c, "id", p)
		if e != nil {
			return e
		}
		if seen[id] {
			return errf(join(p, "id"), "duplicates another component id %q", id)
		}
		seen[id] = true
		if d, ok := c["description"]; ok {
			if e := languageMap(d, join(p, "description")); e != nil {
				return e
			}
		}
	}
	return nil
}
