package xapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

func encodedSize(t *testing.T, v any) int {
	t.Helper()
	b, err := EncodeJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// Under the limits, Canonical merges exactly as MergeActivity does, and
// the size it keeps is the encoded size of the definition.
func TestCanonicalMatchesMergeActivity(t *testing.T) {
	defs := []map[string]any{
		{"name": map[string]any{"en": "Course"}},
		{"name": map[string]any{"en": "Course (renamed)", "fr": "Cours \"x\""}},
		{"type": "http://adlnet.gov/expapi/activities/course", "moreInfo": "http://x.test/more"},
		{"description": map[string]any{"en": "About\n<b>"}, "extensions": map[string]any{"http://x.test/e": []any{1.0, "a"}}},
		{"extensions": map[string]any{"http://x.test/e": []any{json.Number("1.50"), "b"}, "http://x.test/f": map[string]any{"k": nil}}},
		{"interactionType": "choice", "choices": []any{map[string]any{"id": "a", "description": map[string]any{"en": "A"}}}},
		{"interactionType": "true-false", "correctResponsesPattern": []any{"true"}},
		{"name": map[string]any{}},
		{"extensions": map[string]any{"http://x.test/ü": "ü"}},
	}
	r := rand.New(rand.NewSource(2))
	for round := 0; round < 500; round++ {
		var want map[string]any
		var stored map[string]any
		if r.Intn(2) == 0 {
			stored = MergeActivity(nil, map[string]any{"id": "http://x.test/a", "definition": defs[r.Intn(len(defs))]})
			want = stored
		}
		c := NewCanonical("http://x.test/a", stored, DefinitionLimits{})
		for i := 0; i < 1+r.Intn(6); i++ {
			d := defs[r.Intn(len(defs))]
			want = MergeActivity(want, map[string]any{"id": "http://x.test/a", "definition": d})
			if err := c.Merge(d); err != nil {
				t.Fatal(err)
			}
			got := c.Activity()
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round %d: %v, want %v", round, got, want)
			}
			size := 2
			if def, ok := got["definition"]; ok {
				size = encodedSize(t, def)
			}
			if c.Size() != size {
				t.Fatalf("round %d: Size() = %d, encoded %d: %v", round, c.Size(), size, got)
			}
		}
	}
	// Merging never modifies the definitions merged.
	in := map[string]any{"name": map[string]any{"en": "a"}}
	c := NewCanonical("http://x.test/a", nil, DefinitionLimits{})
	c.Merge(in)
	c.Merge(map[string]any{"name": map[string]any{"fr": "b"}})
	if len(in["name"].(map[string]any)) != 1 {
		t.Errorf("input modified: %v", in)
	}
}

func TestCanonicalLimits(t *testing.T) {
	l := DefinitionLimits{MaxBytes: 1000, MaxLanguageEntries: 3, MaxExtensions: 2}
	lang := func(n int, prefix string) map[string]any {
		m := map[string]any{}
		for i := 0; i < n; i++ {
			m[fmt.Sprintf("%s%d", prefix, i)] = "x"
		}
		return m
	}
	cases := []struct {
		name string
		defs []map[string]any
		want string // over which limit the last one is
	}{
		{"bytes", []map[string]any{{"extensions": map[string]any{"http://x/a": strings.Repeat("a", 600)}},
			{"extensions": map[string]any{"http://x/b": strings.Repeat("b", 600)}}}, "bytes encoded"},
		{"bytes at once", []map[string]any{{"description": map[string]any{"en": strings.Repeat("d", 1000)}}}, "bytes encoded"},
		{"languages merged", []map[string]any{{"name": lang(2, "a")}, {"name": lang(2, "b")}}, "name has 4 languages"},
		{"languages at once", []map[string]any{{"description": lang(4, "a")}}, "description has 4 languages"},
		{"extensions", []map[string]any{{"extensions": map[string]any{"http://x/1": 1}}, {"extensions": map[string]any{"http://x/2": 2, "http://x/3": 3}}}, "extensions has 3 entries"},
		{"component descriptions", []map[string]any{{"interactionType": "choice", "choices": []any{map[string]any{"id": "a", "description": lang(4, "c")}}}}, "choices[0].description has 4 languages"},
	}
	for _, c := range cases {
		can := NewCanonical("http://x.test/a", nil, l)
		for _, d := range c.defs[:len(c.defs)-1] {
			if err := can.Merge(d); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		before := can.Activity()
		beforeSize := can.Size()
		err := can.Merge(c.defs[len(c.defs)-1])
		var le *LimitError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a LimitError saying %q", c.name, err, c.want)
		}
		if !reflect.DeepEqual(can.Activity(), before) || can.Size() != beforeSize {
			t.Errorf("%s: a refused merge changed the definition: %v", c.name, can.Activity())
		}
	}
	// Exactly at the limit is within it.
	can := NewCanonical("http://x.test/a", nil, l)
	def := map[string]any{"name": map[string]any{"en": ""}}
	pad := l.MaxBytes - encodedSize(t, def)
	def["name"] = map[string]any{"en": strings.Repeat("p", pad)}
	if err := can.Merge(def); err != nil || can.Size() != l.MaxBytes {
		t.Errorf("a definition of exactly MaxBytes: %v (size %d)", err, can.Size())
	}
}

// A definition stored before the limits applied, over them, is kept until
// one within them arrives, which replaces it.
func TestCanonicalOversizedStored(t *testing.T) {
	l := DefinitionLimits{MaxBytes: 100}
	stored := map[string]any{"objectType": "Activity", "id": "http://x.test/a",
		"definition": map[string]any{"extensions": map[string]any{"http://x/big": strings.Repeat("b", 500)}}}
	for _, c := range []*Canonical{NewCanonical("http://x.test/a", stored, l), NewOversizedCanonical("http://x.test/a", l)} {
		if !c.Over() {
			t.Fatal("not over")
		}
		if err := c.Merge(map[string]any{"description": map[string]any{"en": strings.Repeat("d", 200)}}); err == nil {
			t.Error("an over-limit definition replaced an over-limit one")
		}
		if err := c.Merge(map[string]any{"name": map[string]any{"en": "A"}}); err != nil || c.Over() {
			t.Fatalf("%v %v", err, c.Over())
		}
		want := map[string]any{"objectType": "Activity", "id": "http://x.test/a", "definition": map[string]any{"name": map[string]any{"en": "A"}}}
		if !reflect.DeepEqual(c.Activity(), want) {
			t.Errorf("%v", c.Activity())
		}
	}
}

// CollectDefinitions gives each id its definitions in order, consecutive
// repeats once; merging them in order is what CollectActivities merges.
func TestCollectDefinitions(t *testing.T) {
	a := func(id string, def map[string]any) map[string]any {
		m := map[string]any{"objectType": "Activity", "id": id}
		if def != nil {
			m["definition"] = def
		}
		return m
	}
	d1 := map[string]any{"name": map[string]any{"en": "1"}}
	d2 := map[string]any{"name": map[string]any{"en": "2"}}
	stmts := []map[string]any{
		{"object": a("http://x/a", d1), "context": map[string]any{"contextActivities": map[string]any{"grouping": []any{a("http://x/c", nil)}}}},
		{"object": a("http://x/a", map[string]any{"name": map[string]any{"en": "1"}})},
		{"object": a("http://x/a", d2)},
		{"object": map[string]any{"objectType": "SubStatement", "object": a("http://x/a", d1)}},
	}
	ids, defs := CollectDefinitions(stmts)
	if !reflect.DeepEqual(ids, []string{"http://x/a", "http://x/c"}) {
		t.Fatalf("ids %v", ids)
	}
	if got := defs["http://x/a"]; !reflect.DeepEqual(got, []map[string]any{d1, d2, d1}) {
		t.Errorf("definitions of a: %v", got)
	}
	if got := defs["http://x/c"]; len(got) != 0 {
		t.Errorf("definitions of c: %v", got)
	}
	_, acts := CollectActivities(stmts)
	c := NewCanonical("http://x/a", nil, DefinitionLimits{})
	for _, d := range defs["http://x/a"] {
		c.Merge(d)
	}
	if !reflect.DeepEqual(c.Activity(), acts["http://x/a"]) {
		t.Errorf("%v, CollectActivities %v", c.Activity(), acts["http://x/a"])
	}
}
