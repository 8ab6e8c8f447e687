package xapi

import (
	"math/rand"
	"reflect"
	"testing"
)

// CollectActivities skips a definition equal to the one it merged last for
// the same id; the result must still be every occurrence merged in order.
func TestCollectActivitiesMatchesMergingEveryOccurrence(t *testing.T) {
	defs := []map[string]any{
		nil,
		{"name": map[string]any{"en": "Course"}},
		{"name": map[string]any{"en": "Course (renamed)"}},
		{"name": map[string]any{"fr": "Cours"}, "type": "http://adlnet.gov/expapi/activities/course"},
		{"description": map[string]any{"en": "About"}, "extensions": map[string]any{"http://x.test/e": []any{1.0, "a"}}},
		{"extensions": map[string]any{"http://x.test/e": []any{1.0, "b"}}},
	}
	ids := []string{"http://x.test/a", "http://x.test/b"}
	activity := func(id string, def map[string]any) map[string]any {
		a := map[string]any{"objectType": "Activity", "id": id}
		if def != nil {
			a["definition"] = def
		}
		return a
	}
	r := rand.New(rand.NewSource(1))
	for round := 0; round < 200; round++ {
		var stmts []map[string]any
		want := map[string]map[string]any{}
		merge := func(a map[string]any) {
			id := a["id"].(string)
			want[id] = MergeActivity(want[id], a)
		}
		for i := 0; i < 1+r.Intn(8); i++ {
			// Repeats are likely: two ids, six definitions.
			obj := activity(ids[r.Intn(2)], defs[r.Intn(len(defs))])
			parent := activity(ids[r.Intn(2)], defs[r.Intn(len(defs))])
			st := map[string]any{"object": obj, "context": map[string]any{"contextActivities": map[string]any{"parent": []any{parent}}}}
			stmts = append(stmts, st)
			merge(obj)
			merge(parent)
		}
		got, acts := CollectActivities(stmts)
		if len(got) != len(want) {
			t.Fatalf("round %d: ids %v, want %d", round, got, len(want))
		}
		for id, w := range want {
			if !reflect.DeepEqual(acts[id], w) {
				t.Fatalf("round %d: %s merged to %v, want %v", round, id, acts[id], w)
			}
		}
	}
}

func TestSameJSON(t *testing.T) {
	a := map[string]any{"n": map[string]any{"en": "x"}, "l": []any{1.0, "y", nil, true}}
	b := map[string]any{"n": map[string]any{"en": "x"}, "l": []any{1.0, "y", nil, true}}
	if !sameJSON(a, b) {
		t.Fatal("equal values reported different")
	}
	for _, c := range []any{
		map[string]any{"n": map[string]any{"en": "z"}, "l": []any{1.0, "y", nil, true}},
		map[string]any{"n": map[string]any{"en": "x"}, "l": []any{1.0, "y", nil, false}},
		map[string]any{"n": map[string]any{"en": "x"}},
		map[string]any{"n": map[string]any{"en": "x"}, "l": []any{1.0, "y", nil}},
		nil,
	} {
		if sameJSON(a, c) {
			t.Fatalf("%v reported equal to %v", c, a)
		}
	}
}
