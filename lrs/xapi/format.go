package xapi

import (
	"sort"
	"strings"
)

// deepCopy copies decoded JSON values.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = deepCopy(x)
		}
		return a
	}
	return v
}

// FormatIDs returns a deep copy of a stored statement in the "ids" format:
// Agents and Identified Groups are reduced to objectType + IFI, Anonymous
// Groups to objectType + members (each reduced), Activities to their id,
// and the Verb to its id. Other properties are kept.
func FormatIDs(s map[string]any) map[string]any {
	out, _ := deepCopy(s).(map[string]any)
	if out == nil {
		return nil
	}
	idsStatement(out, true)
	return out
}

func idsStatement(st map[string]any, top bool) {
	reduceActorAt(st, "actor")
	if top {
		reduceActorAt(st, "authority")
	}
	if v, ok := st["verb"].(map[string]any); ok {
		if id, ok := v["id"]; ok {
			st["verb"] = map[string]any{"id": id}
		}
	}
	if obj, ok := st["object"].(map[string]any); ok {
		switch obj["objectType"] {
		case nil, "Activity":
			st["object"] = reduceActivity(obj)
		case "Agent", "Group":
			st["object"] = reduceActor(obj)
		case "SubStatement":
			if top {
				idsStatement(obj, false)
			}
		}
	}
	ctx, ok := st["context"].(map[string]any)
	if !ok {
		return
	}
	reduceActorAt(ctx, "instructor")
	reduceActorAt(ctx, "team")
	if cas, ok := ctx["contextActivities"].(map[string]any); ok {
		for k, v := range cas {
			switch t := v.(type) {
			case map[string]any:
				cas[k] = []any{reduceActivity(t)}
			case []any:
				for i, a := range t {
					if m, ok := a.(map[string]any); ok {
						t[i] = reduceActivity(m)
					}
				}
			}
		}
	}
	for _, pair := range [][2]string{{"contextAgents", "agent"}, {"contextGroups", "group"}} {
		if list, ok := ctx[pair[0]].([]any); ok {
			for _, x := range list {
				if m, ok := x.(map[string]any); ok {
					reduceActorAt(m, pair[1])
				}
			}
		}
	}
}

func reduceActorAt(m map[string]any, key string) {
	if a, ok := m[key].(map[string]any); ok {
		m[key] = reduceActor(a)
	}
}

// reduceActor keeps objectType and the IFI; anonymous groups keep reduced members.
func reduceActor(a map[string]any) map[string]any {
	out := map[string]any{}
	if ot, ok := a["objectType"]; ok {
		out["objectType"] = ot
	}
	for _, k := range ifiKeys {
		if v, ok := a[k]; ok {
			out[k] = v
			return out
		}
	}
	if mem, ok := a["member"].([]any); ok {
		nm := make([]any, len(mem))
		for i, x := range mem {
			if m, ok := x.(map[string]any); ok {
				nm[i] = reduceActor(m)
			} else {
				nm[i] = x
			}
		}
		out["member"] = nm
	}
	return out
}

// reduceActivity keeps only the id: the minimum that identifies an Activity
// (the ADL 2.0 suite checks that an ids-format Activity has one property).
func reduceActivity(a map[string]any) map[string]any {
	out := map[string]any{}
	if id, ok := a["id"]; ok {
		out["id"] = id
	}
	return out
}

// FormatCanonical returns a deep copy of s in which every language map (verb
// display, activity name/description, interaction component descriptions,
// attachment display/description) is reduced to the single best language for
// acceptLanguages (in order of preference; q-values are ignored). Fallbacks are
// "en-US", "en", then the alphabetically first tag.
func FormatCanonical(s map[string]any, acceptLanguages []string) map[string]any {
	out, _ := deepCopy(s).(map[string]any)
	if out == nil {
		return nil
	}
	prefs := make([]string, 0, len(acceptLanguages)+2)
	for _, l := range acceptLanguages {
		l, _, _ = strings.Cut(l, ";")
		if l = strings.TrimSpace(l); l != "" {
			prefs = append(prefs, l)
		}
	}
	prefs = append(prefs, "en-US", "en")
	canonStatement(out, prefs, true)
	return out
}

func canonStatement(st map[string]any, prefs []string, top bool) {
	if v, ok := st["verb"].(map[string]any); ok {
		reduceLangMap(v, "display", prefs)
	}
	if obj, ok := st["object"].(map[string]any); ok {
		switch obj["objectType"] {
		case nil, "Activity":
			canonActivity(obj, prefs)
		case "SubStatement":
			if top {
				canonStatement(obj, prefs, false)
			}
		}
	}
	if ctx, ok := st["context"].(map[string]any); ok {
		if cas, ok := ctx["contextActivities"].(map[string]any); ok {
			for _, v := range cas {
				for _, a := range activityList(v) {
					canonActivity(a, prefs)
				}
			}
		}
	}
	if atts, ok := st["attachments"].([]any); ok {
		for _, x := range atts {
			if m, ok := x.(map[string]any); ok {
				reduceLangMap(m, "display", prefs)
				reduceLangMap(m, "description", prefs)
			}
		}
	}
}

func canonActivity(a map[string]any, prefs []string) {
	d, ok := a["definition"].(map[string]any)
	if !ok {
		return
	}
	reduceLangMap(d, "name", prefs)
	reduceLangMap(d, "description", prefs)
	for _, k := range []string{"choices", "scale", "source", "target", "steps"} {
		if list, ok := d[k].([]any); ok {
			for _, x := range list {
				if m, ok := x.(map[string]any); ok {
					reduceLangMap(m, "description", prefs)
				}
			}
		}
	}
}

// reduceLangMap replaces m[key] (a language map) with a map holding only the best entry.
func reduceLangMap(m map[string]any, key string, prefs []string) {
	lm, ok := m[key].(map[string]any)
	if !ok || len(lm) <= 1 {
		return
	}
	if best := bestLanguage(lm, prefs); best != "" {
		m[key] = map[string]any{best: lm[best]}
	}
}

// bestLanguage picks the key of lm that best matches prefs: exact
// (case-insensitive) match, then "*", then primary-subtag / prefix match, then
// the alphabetically first key.
func bestLanguage(lm map[string]any, prefs []string) string {
	keys := make([]string, 0, len(lm))
	for k := range lm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, p := range prefs {
		if p == "*" {
			return keys[0]
		}
		for _, k := range keys {
			if strings.EqualFold(k, p) {
				return k
			}
		}
		for _, k := range keys {
			lk, lp := strings.ToLower(k), strings.ToLower(p)
			if strings.HasPrefix(lk, lp+"-") || strings.HasPrefix(lp, lk+"-") {
				return k
			}
		}
	}
	return keys[0]
}
