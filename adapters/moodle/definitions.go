package moodle

import (
	"regexp"
	"strings"
)

var (
	slugSpace = regexp.MustCompile(`[\s_]+`)
	slugOther = regexp.MustCompile(`[^a-z0-9-]`)
)

// Slugify is the plugin's slugify: interaction component ids from texts.
func Slugify(s string) string {
	s = strings.ToLower(s)
	s = slugSpace.ReplaceAllString(s, "-")
	s = slugOther.ReplaceAllString(s, "")
	return strings.Trim(s, "-")
}

// cmiCommon is the plugin's definition\cmi\common.
func cmiCommon(name string, description *string, lang string) map[string]any {
	def := map[string]any{"type": "http://adlnet.gov/expapi/activities/cmi.interaction", "name": map[string]any{lang: name}}
	if description != nil {
		def["description"] = map[string]any{lang: *description}
	}
	return def
}

// CMIChoice is the plugin's definition\cmi\choice: choices (and a correct
// responses pattern) only when response choices are sent.
func (c *Ctx) CMIChoice(name string, description *string, choices []string, lang string, right []string) map[string]any {
	def := cmiCommon(name, description, lang)
	def["interactionType"] = "choice"
	if !c.Opt.SendResponseChoices || len(choices) == 0 {
		return def
	}
	comps := make([]any, 0, len(choices))
	ids := make([]string, 0, len(choices))
	for _, ch := range choices {
		id := Slugify(ch)
		comps = append(comps, map[string]any{"id": id, "description": map[string]any{lang: ch}})
		ids = append(ids, id)
	}
	if len(right) > 0 {
		ids = ids[:0]
		for _, r := range right {
			ids = append(ids, Slugify(r))
		}
	}
	def["correctResponsesPattern"] = []any{strings.Join(ids, "[,]")}
	def["choices"] = comps
	return def
}
