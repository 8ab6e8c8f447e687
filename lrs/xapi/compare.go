package xapi

import (
	"encoding/json"
	"sort"
	"strings"
)

// Equivalent reports whether two statements are the same for the immutability
// check (a statement id re-sent with the "same" statement), following the xAPI
// "Statement Immutability" exceptions and "Statement Comparison Requirements":
//
//   - ignored at the top level: id, authority, stored, version and attachments
//     (LRS-assigned properties, and attachments are not part of the statement);
//   - timestamp (statement and SubStatement) is compared as a point in time when
//     both sides have it, and ignored when either lacks it (the LRS may assign it);
//   - Activity Definitions are ignored (Activities compare by id only) and the
//     Verb display is ignored (Verbs compare by id only);
//   - Group members are an unordered list; contextActivities lists are compared
//     as unordered sets of ids and a single Activity equals a one-element list;
//   - mbox compares the domain part case-insensitively, mbox_sha1sum and UUIDs
//     (registration, StatementRef ids) case-insensitively;
//   - result.duration is compared as a string with seconds truncated to 0.01 s
//     (xAPI 2.0 rule; harmless for 1.0.3);
//   - numbers compare by value (1.0 == 1); everything else compares exactly,
//     including extensions.
func Equivalent(a, b map[string]any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return eqStatement(a, b, true)
}

func eqStatement(a, b map[string]any, top bool) bool {
	skip := map[string]bool{"timestamp": true, "actor": true, "verb": true, "object": true, "context": true, "result": true}
	if top {
		for _, k := range []string{"id", "authority", "stored", "version", "attachments"} {
			skip[k] = true
		}
	}
	if !eqOtherKeys(a, b, skip) {
		return false
	}
	if ta, okA := a["timestamp"].(string); okA {
		if tb, okB := b["timestamp"].(string); okB && !eqTimestamp(ta, tb) {
			return false
		}
	}
	if !eqPresent(a, b, "actor", eqActor) || !eqPresent(a, b, "verb", eqVerb) ||
		!eqPresent(a, b, "object", func(x, y any) bool { return eqObject(x, y, top) }) ||
		!eqPresent(a, b, "result", eqResult) || !eqPresent(a, b, "context", eqContext) {
		return false
	}
	return true
}

// eqOtherKeys compares every key not in skip with eqJSON.
func eqOtherKeys(a, b map[string]any, skip map[string]bool) bool {
	for k, v := range a {
		if skip[k] {
			continue
		}
		w, ok := b[k]
		if !ok || !eqJSON(v, w) {
			return false
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok && !skip[k] {
			return false
		}
	}
	return true
}

// eqPresent requires key to be present in both or neither, then compares with f.
func eqPresent(a, b map[string]any, key string, f func(x, y any) bool) bool {
	x, okA := a[key]
	y, okB := b[key]
	if okA != okB {
		return false
	}
	return !okA || f(x, y)
}

func eqTimestamp(a, b string) bool {
	ta, errA := ParseTimestamp(a)
	tb, errB := ParseTimestamp(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return ta.Equal(tb)
}

func eqVerb(x, y any) bool {
	a, okA := x.(map[string]any)
	b, okB := y.(map[string]any)
	if !okA || !okB {
		return eqJSON(x, y)
	}
	return eqJSON(a["id"], b["id"])
}

// actorKey canonicalizes an agent for comparison.
func actorKey(m map[string]any) (string, bool) {
	k, ok := AgentKey(m)
	if !ok {
		return "", false
	}
	if strings.HasPrefix(k, "mbox::") {
		if at := strings.LastIndexByte(k, '@'); at >= 0 {
			k = k[:at] + strings.ToLower(k[at:])
		}
	}
	return k, true
}

func eqActor(x, y any) bool {
	a, okA := x.(map[string]any)
	b, okB := y.(map[string]any)
	if !okA || !okB {
		return eqJSON(x, y)
	}
	ka, idA := actorKey(a)
	kb, idB := actorKey(b)
	if idA != idB || idA && ka != kb {
		return false
	}
	if !eqJSON(objectTypeOr(a, "Agent"), objectTypeOr(b, "Agent")) || !eqJSON(a["name"], b["name"]) {
		return false
	}
	ma, hasA := a["member"].([]any)
	mb, hasB := b["member"].([]any)
	if hasA != hasB || len(ma) != len(mb) {
		return false
	}
	// unordered member comparison
	used := make([]bool, len(mb))
outer:
	for _, p := range ma {
		for j, q := range mb {
			if !used[j] && eqActor(p, q) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

func objectTypeOr(m map[string]any, def string) any {
	if ot, ok := m["objectType"]; ok {
		return ot
	}
	return def
}

func eqObject(x, y any, top bool) bool {
	a, okA := x.(map[string]any)
	b, okB := y.(map[string]any)
	if !okA || !okB {
		return eqJSON(x, y)
	}
	ta, tb := objectTypeOr(a, "Activity"), objectTypeOr(b, "Activity")
	if !eqJSON(ta, tb) {
		return false
	}
	switch ta {
	case "Activity":
		return eqJSON(a["id"], b["id"])
	case "Agent", "Group":
		return eqActor(a, b)
	case "StatementRef":
		return eqUUID(a["id"], b["id"])
	case "SubStatement":
		if top {
			return eqStatement(a, b, false)
		}
	}
	return eqJSON(a, b)
}

func eqUUID(x, y any) bool {
	a, okA := x.(string)
	b, okB := y.(string)
	if okA && okB {
		return strings.EqualFold(a, b)
	}
	return eqJSON(x, y)
}

func eqResult(x, y any) bool {
	a, okA := x.(map[string]any)
	b, okB := y.(map[string]any)
	if !okA || !okB {
		return eqJSON(x, y)
	}
	if !eqOtherKeys(a, b, map[string]bool{"duration": true}) {
		return false
	}
	return eqPresent(a, b, "duration", func(x, y any) bool {
		da, okA := x.(string)
		db, okB := y.(string)
		if okA && okB {
			return truncateDuration(da) == truncateDuration(db)
		}
		return eqJSON(x, y)
	})
}

// truncateDuration drops digits of the seconds fraction beyond hundredths.
func truncateDuration(d string) string {
	if !strings.HasSuffix(d, "S") {
		return d
	}
	i := len(d) - 1
	j := i
	for j > 0 && isDigit(d[j-1]) {
		j--
	}
	if j > 0 && (d[j-1] == '.' || d[j-1] == ',') {
		frac := d[j:i]
		if len(frac) > 2 {
			frac = frac[:2]
		}
		frac = strings.TrimRight(frac, "0")
		if frac == "" {
			return d[:j-1] + "S"
		}
		return d[:j] + frac + "S"
	}
	return d
}

func eqContext(x, y any) bool {
	a, okA := x.(map[string]any)
	b, okB := y.(map[string]any)
	if !okA || !okB {
		return eqJSON(x, y)
	}
	skip := map[string]bool{"registration": true, "instructor": true, "team": true, "contextActivities": true, "statement": true, "contextAgents": true, "contextGroups": true}
	if !eqOtherKeys(a, b, skip) {
		return false
	}
	return eqPresent(a, b, "registration", eqUUID) &&
		eqPresent(a, b, "instructor", eqActor) &&
		eqPresent(a, b, "team", eqActor) &&
		eqPresent(a, b, "statement", func(x, y any) bool { return eqObject(x, y, false) }) &&
		eqPresent(a, b, "contextActivities", eqContextActivities) &&
		eqPresent(a, b, "contextAgents", func(x, y any) bool { return eqContextActors(x, y, "agent") }) &&
		eqPresent(a, b, "contextGroups", func(x, y any) bool { return eqContextActors(x, y, "group") })
}

func eqContextActivities(x, y any) bool {
	a, okA := x.(map[string]any)
	b, okB := y.(map[string]any)
	if !okA || !okB {
		return eqJSON(x, y)
	}
	ids := func(v any) []string {
		var out []string
		for _, m := range activityList(v) {
			id, _ := m["id"].(string)
			out = append(out, id)
		}
		sort.Strings(out)
		return out
	}
	if len(nonEmptyKeys(a)) != len(nonEmptyKeys(b)) {
		return false
	}
	for k, v := range a {
		ia, ib := ids(v), ids(b[k])
		if len(ia) != len(ib) {
			return false
		}
		for i := range ia {
			if ia[i] != ib[i] {
				return false
			}
		}
	}
	return true
}

// nonEmptyKeys lists keys whose value is not an empty list (an empty list equals absence).
func nonEmptyKeys(m map[string]any) []string {
	var out []string
	for k, v := range m {
		if len(activityList(v)) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// eqContextActors compares contextAgents/contextGroups lists in order.
func eqContextActors(x, y any, actorKey string) bool {
	a, okA := x.([]any)
	b, okB := y.([]any)
	if !okA || !okB || len(a) != len(b) {
		return eqJSON(x, y)
	}
	for i := range a {
		ma, okA := a[i].(map[string]any)
		mb, okB := b[i].(map[string]any)
		if !okA || !okB {
			if !eqJSON(a[i], b[i]) {
				return false
			}
			continue
		}
		if !eqOtherKeys(ma, mb, map[string]bool{actorKey: true}) || !eqPresent(ma, mb, actorKey, eqActor) {
			return false
		}
	}
	return true
}

// eqJSON deep-compares decoded JSON values; numbers compare by value.
func eqJSON(x, y any) bool {
	switch a := x.(type) {
	case map[string]any:
		b, ok := y.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !eqJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		b, ok := y.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !eqJSON(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number, float64, int, int64:
		if n, ok := x.(json.Number); ok {
			if m, ok := y.(json.Number); ok && n == m {
				return true
			}
		}
		fa, okA := toFloat(x)
		fb, okB := toFloat(y)
		return okA && okB && fa == fb
	case string:
		b, ok := y.(string)
		return ok && a == b
	case bool:
		b, ok := y.(bool)
		return ok && a == b
	case nil:
		return y == nil
	}
	return false
}
