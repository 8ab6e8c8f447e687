package moodle

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"testing"
)

// eventNameRE is a Moodle event class name: \component\event\name.
var eventNameRE = regexp.MustCompile(`^\\[a-z][a-z0-9_]*\\event\\[a-z][a-z0-9_]*$`)

// TestMapperTable: every entry of the table has a mapper and is named by an
// event class. (Two entries for one event do not compile.)
func TestMapperTable(t *testing.T) {
	if len(mappers) == 0 {
		t.Fatal("no mappers")
	}
	for name, m := range mappers {
		if m == nil {
			t.Errorf("%s: nil mapper", name)
		}
		if !eventNameRE.MatchString(name) {
			t.Errorf("%q is not an event class name (\\component\\event\\name)", name)
		}
	}
	ev := Events()
	if len(ev) != len(mappers) || !slices.IsSorted(ev) {
		t.Errorf("Events() lists %d names (sorted: %v), the table has %d", len(ev), slices.IsSorted(ev), len(mappers))
	}
	for name := range anonymisedEvents {
		if !Mapped(name) {
			t.Errorf("anonymised event %s has no mapper", name)
		}
	}
}

// TestPersonAgentKey: personAgent's key, now xapi.AgentKey's, is the one
// it used to build by hand, byte for byte.
func TestPersonAgentKey(t *testing.T) {
	// handKey is how personAgent built the key before it used xapi.AgentKey.
	handKey := func(a map[string]any) string {
		if acc, ok := a["account"].(map[string]any); ok {
			return "account::" + fmt.Sprint(acc["homePage"]) + "::" + fmt.Sprint(acc["name"])
		}
		return "mbox::" + fmt.Sprint(a["mbox"])
	}
	for _, tc := range []struct {
		agent map[string]any
		want  string
	}{
		{map[string]any{"account": map[string]any{"homePage": "https://moodle.example.org", "name": "42"}},
			"account::https://moodle.example.org::42"},
		{map[string]any{"account": map[string]any{"homePage": "https://moodle.example.org/sub/", "name": "jean.dupont"}},
			"account::https://moodle.example.org/sub/::jean.dupont"},
		{map[string]any{"account": map[string]any{"homePage": "", "name": "a::b|c"}},
			"account::::a::b|c"},
		{map[string]any{"account": map[string]any{"homePage": "https://m.example.org", "name": "Zoë Ünïcode"}},
			"account::https://m.example.org::Zoë Ünïcode"},
		{map[string]any{"mbox": "mailto:Jean.Dupont@Example.org"}, "mbox::mailto:Jean.Dupont@Example.org"},
		{map[string]any{"mbox": "mailto:a+b@x.y"}, "mbox::mailto:a+b@x.y"},
	} {
		hand := handKey(tc.agent)
		pa := personAgent(tc.agent)
		if pa.Key != hand || pa.Key != tc.want {
			t.Errorf("%v: key %q, by hand %q, want %q", tc.agent, pa.Key, hand, tc.want)
		}
		var back map[string]any
		if err := json.Unmarshal(pa.Agent, &back); err != nil || back["objectType"] != "Agent" {
			t.Errorf("%v: agent %s (%v)", tc.agent, pa.Agent, err)
		}
	}
}
