package xapi

import (
	"reflect"
	"sort"
)

// Canonical Activities: the definition the Activities resource returns is
// every definition statements gave the activity, merged in order.

// EncodeJSON encodes v compactly, without HTML escaping, keys sorted.
func EncodeJSON(v any) ([]byte, error) {
	return AppendJSON(nil, v, false)
}

// CollectActivities returns the Activities the statements use (object,
// context activities, and the same inside SubStatements) merged in order
// with MergeActivity, and their ids sorted. Nil statements are skipped.
func CollectActivities(stmts []map[string]any) ([]string, map[string]map[string]any) {
	acts := map[string]map[string]any{}
	// The definition last merged per id: merging the same definition again
	// changes nothing, and a batch mostly repeats a few Activities (a
	// course, its site) with identical definitions.
	last := map[string]any{}
	add := func(a map[string]any) {
		id, ok := a["id"].(string)
		if !ok || id == "" {
			return
		}
		def := a["definition"]
		if prev, seen := last[id]; seen && sameJSON(prev, def) {
			return
		}
		last[id] = def
		acts[id] = MergeActivity(acts[id], a)
	}
	var walk func(st map[string]any, top bool)
	walk = func(st map[string]any, top bool) {
		if obj, ok := st["object"].(map[string]any); ok {
			switch obj["objectType"] {
			case nil, "Activity":
				add(obj)
			case "SubStatement":
				if top {
					walk(obj, false)
				}
			}
		}
		ctx, _ := st["context"].(map[string]any)
		cas, _ := ctx["contextActivities"].(map[string]any)
		for _, k := range []string{"parent", "grouping", "category", "other"} {
			switch t := cas[k].(type) {
			case map[string]any:
				add(t)
			case []any:
				for _, x := range t {
					if m, ok := x.(map[string]any); ok {
						add(m)
					}
				}
			}
		}
	}
	for _, st := range stmts {
		if st != nil {
			walk(st, true)
		}
	}
	ids := make([]string, 0, len(acts))
	for id := range acts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, acts
}

// mergedDefinitionMaps are the definition properties merged key by key
// (language maps and extensions); every other property is replaced whole.
var mergedDefinitionMaps = map[string]bool{"name": true, "description": true, "extensions": true}

// MergeActivity returns the canonical Activity object that results from
// seeing newer after old (nil when none): {"objectType":"Activity","id",
// "definition"}. Definition properties newer has replace old's; language
// maps and extensions merge key by key, newer winning. Neither input is
// modified.
func MergeActivity(old, newer map[string]any) map[string]any {
	out := map[string]any{"objectType": "Activity"}
	if id, ok := newer["id"]; ok {
		out["id"] = id
	} else if old != nil {
		out["id"] = old["id"]
	}
	def := map[string]any{}
	od, _ := old["definition"].(map[string]any)
	for k, v := range od {
		def[k] = v
	}
	nd, _ := newer["definition"].(map[string]any)
	for k, v := range nd {
		nm, nok := v.(map[string]any)
		om, ook := def[k].(map[string]any)
		if mergedDefinitionMaps[k] && nok && ook {
			m := make(map[string]any, len(om)+len(nm))
			for lk, lv := range om {
				m[lk] = lv
			}
			for lk, lv := range nm {
				m[lk] = lv
			}
			def[k] = m
			continue
		}
		def[k] = v
	}
	if len(def) > 0 {
		out["definition"] = def
	}
	return out
}

// sameJSON reports whether two values of a statement (maps, slices and
// scalars) are equal, numbers as written: unlike the xAPI comparison
// (xapi.Equivalent), 1 and 1.0 differ, so that skipping a repeat never
// keeps another spelling than merging it would.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case string:
		y, ok := b.(string)
		return ok && x == y
	case nil:
		return b == nil
	default:
		return reflect.DeepEqual(a, b)
	}
}
