package xapi

import "strings"

// Refs lists what the store indexes for query filters. All slices are
// de-duplicated; order is irrelevant.
type Refs struct {
	Agents            []string // AgentKeys of the actor, and of the object when it is an Agent/Group
	RelatedAgents     []string // AgentKeys for related_agents=true (actor, object, authority, instructor, team, members, 2.0 context agents/groups, and inside a SubStatement)
	Activities        []string // object activity id
	RelatedActivities []string // object id + all contextActivities ids + the same inside a SubStatement
	Verb              string
	Registration      string // lowercase UUID of the statement's own context.registration, "" if absent
	StatementRef      string // lowercase target id when object.objectType is "StatementRef"
	Voiding           bool   // verb is http://adlnet.gov/expapi/verbs/voided and object is a StatementRef
}

type set struct {
	seen map[string]bool
	list []string
}

func (s *set) add(k string) {
	if k == "" || s.seen[k] {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[k] = true
	s.list = append(s.list, k)
}

// ExtractRefs computes the query-filter references of statement s. It tolerates
// invalid input (it never panics) but is meant for validated statements.
func ExtractRefs(s map[string]any) Refs {
	var r Refs
	var agents, related, acts, relActs set
	addActor := func(x any, into ...*set) {
		m, ok := x.(map[string]any)
		if !ok {
			return
		}
		if k, ok := AgentKey(m); ok {
			for _, s := range into {
				s.add(k)
			}
		}
	}
	addRelated := func(x any) {
		m, ok := x.(map[string]any)
		if !ok {
			return
		}
		addActor(m, &related)
		if mem, ok := m["member"].([]any); ok {
			for _, a := range mem {
				addActor(a, &related)
			}
		}
	}
	var walk func(st map[string]any, top bool)
	walk = func(st map[string]any, top bool) {
		addRelated(st["actor"])
		if top {
			addActor(st["actor"], &agents)
			addRelated(st["authority"])
		}
		obj, _ := st["object"].(map[string]any)
		ot, _ := obj["objectType"].(string)
		switch ot {
		case "", "Activity":
			if id, ok := obj["id"].(string); ok {
				if top {
					acts.add(id)
				}
				relActs.add(id)
			}
		case "Agent", "Group":
			if top {
				addActor(obj, &agents)
			}
			addRelated(obj)
		case "SubStatement":
			if top {
				walk(obj, false)
			}
		}
		ctx, _ := st["context"].(map[string]any)
		if ctx == nil {
			return
		}
		addRelated(ctx["instructor"])
		addRelated(ctx["team"])
		if ca, ok := ctx["contextAgents"].([]any); ok {
			for _, x := range ca {
				if m, ok := x.(map[string]any); ok {
					addRelated(m["agent"])
				}
			}
		}
		if cg, ok := ctx["contextGroups"].([]any); ok {
			for _, x := range cg {
				if m, ok := x.(map[string]any); ok {
					addRelated(m["group"])
				}
			}
		}
		if cas, ok := ctx["contextActivities"].(map[string]any); ok {
			for _, k := range []string{"parent", "grouping", "category", "other"} {
				for _, a := range activityList(cas[k]) {
					if id, ok := a["id"].(string); ok {
						relActs.add(id)
					}
				}
			}
		}
	}
	if s == nil {
		return r
	}
	walk(s, true)
	if v, ok := s["verb"].(map[string]any); ok {
		r.Verb, _ = v["id"].(string)
	}
	if ctx, ok := s["context"].(map[string]any); ok {
		if reg, ok := ctx["registration"].(string); ok {
			r.Registration = strings.ToLower(reg)
		}
	}
	if obj, ok := s["object"].(map[string]any); ok && obj["objectType"] == "StatementRef" {
		if id, ok := obj["id"].(string); ok {
			r.StatementRef = strings.ToLower(id)
		}
	}
	r.Voiding = r.Verb == VerbVoided && r.StatementRef != ""
	r.Agents, r.RelatedAgents, r.Activities, r.RelatedActivities = agents.list, related.list, acts.list, relActs.list
	return r
}

// activityList returns a contextActivities value as a list of objects
// (a single object is treated as a one-element list).
func activityList(x any) []map[string]any {
	switch t := x.(type) {
	case map[string]any:
		return []map[string]any{t}
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, a := range t {
			if m, ok := a.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

// Normalize rewrites s in place into the form an LRS returns: every
// contextActivities value that is a single Activity object becomes a
// one-element array (statement and SubStatement). The spec requires
// contextActivities to be returned as arrays.
func Normalize(s map[string]any) {
	for _, st := range []map[string]any{s, subStatement(s)} {
		ctx, _ := st["context"].(map[string]any)
		cas, _ := ctx["contextActivities"].(map[string]any)
		for k, v := range cas {
			if m, ok := v.(map[string]any); ok {
				cas[k] = []any{m}
			}
		}
	}
}

// subStatement returns the SubStatement object of s, or nil.
func subStatement(s map[string]any) map[string]any {
	obj, _ := s["object"].(map[string]any)
	if obj["objectType"] == "SubStatement" {
		return obj
	}
	return nil
}
