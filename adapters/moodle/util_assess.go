package moodle

// Helpers shared by the assessment-like modules (quiz, lesson, scorm,
// feedback, questionnaire, survey): the plugin's cmi interaction
// definitions, its score utils, the usual module context, and the few PHP
// conversions whose quirks show in the statements.

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

// assessCMIFillIn is the plugin's definition\cmi\fill_in: a correct
// responses pattern only when correct answers are given (even none).
func assessCMIFillIn(name string, description *string, lang string, correct []string) map[string]any {
	def := cmiCommon(name, description, lang)
	def["interactionType"] = "fill-in"
	if correct != nil {
		def["correctResponsesPattern"] = []any{strings.Join(correct, "[,]")}
	}
	return def
}

// assessCMILongFillIn is the plugin's definition\cmi\long_fill_in.
func assessCMILongFillIn(name string, description *string, lang string) map[string]any {
	def := cmiCommon(name, description, lang)
	def["interactionType"] = "long-fill-in"
	return def
}

// assessCMIMatching is the plugin's definition\cmi\matching: source and
// target items paired in order (PHP's array_map over two arrays pads the
// shorter one with nulls, hence the empty ids).
func assessCMIMatching(name string, description *string, source, target []string, lang string) map[string]any {
	items := func(texts []string) []any {
		out := make([]any, 0, len(texts))
		for _, t := range texts {
			out = append(out, map[string]any{"id": Slugify(t), "description": map[string]any{lang: t}})
		}
		return out
	}
	n := max(len(source), len(target))
	pairs := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var s, t string
		if i < len(source) {
			s = Slugify(source[i])
		}
		if i < len(target) {
			t = Slugify(target[i])
		}
		pairs = append(pairs, s+"[.]"+t)
	}
	def := cmiCommon(name, description, lang)
	def["interactionType"] = "matching"
	def["correctResponsesPattern"] = []any{strings.Join(pairs, "[,]")}
	def["source"] = items(source)
	def["target"] = items(target)
	return def
}

// assessCMINumeric is the plugin's definition\cmi\numeric: the exact value
// when given, else "min[:]max" (nil bounds print as nothing, as in PHP).
func assessCMINumeric(name string, description *string, min, max, exact *string, lang string) map[string]any {
	def := cmiCommon(name, description, lang)
	def["interactionType"] = "numeric"
	pattern := ""
	if exact != nil {
		pattern = *exact
	} else {
		if min != nil {
			pattern = *min
		}
		pattern += "[:]"
		if max != nil {
			pattern += *max
		}
	}
	def["correctResponsesPattern"] = []any{pattern}
	return def
}

// assessCMISequencing is the plugin's definition\cmi\sequencing: a choice
// definition with another interaction type.
func (c *Ctx) assessCMISequencing(name string, description *string, choices []string, lang string, right []string) map[string]any {
	def := c.CMIChoice(name, description, choices, lang, right)
	def["interactionType"] = "sequencing"
	return def
}

// assessCMITrueFalse is the plugin's definition\cmi\true_false.
func assessCMITrueFalse(name string, description *string, lang string, correct *bool) map[string]any {
	def := cmiCommon(name, description, lang)
	def["interactionType"] = "true-false"
	if correct != nil {
		v := "false"
		if *correct {
			v = "true"
		}
		def["correctResponsesPattern"] = []any{v}
	}
	return def
}

// assessStrip is the plugin's get_string_html_removed of a column (NULL
// gives "").
func assessStrip(r Row, col string) string { return StripHTML(r.Str(col)) }

func assessPtr(s string) *string { return &s }

// assessCapRaw is the plugin's cap_raw_score.
func assessCapRaw(raw, min, max float64) float64 { return math.Max(math.Min(raw, max), min) }

// assessPluginScaled is the plugin's get_scaled_score, kept as it is:
// (raw-min)/(max-min)*2-1, i.e. -1..1 for a raw score within min..max (a
// half score gives 0), and 0 when max equals min.
func assessPluginScaled(raw, min, max float64) float64 {
	if max == min {
		return 0
	}
	return (raw-min)/(max-min)*2 - 1
}

// assessFloatCol is PHP's floatval($row->col ?: 0).
func assessFloatCol(r Row, col string) float64 {
	switch v := r[col].(type) {
	case nil:
		return 0
	case string:
		return assessPHPFloatval(v)
	case []byte:
		return assessPHPFloatval(string(v))
	}
	f, _ := r.Float(col)
	return f
}

// assessContext is the usual context of a module event: the plugin's
// get_context_base plus contextActivities {parent: before... then
// get_parent(cmid, includeModule), category: [site]}.
func (c *Ctx) assessContext(ev Row, lang string, cmid int64, includeModule bool, before ...any) (map[string]any, error) {
	parent, err := c.Parent(cmid, includeModule)
	if err != nil {
		return nil, err
	}
	site, err := c.Site()
	if err != nil {
		return nil, err
	}
	ctx := c.ContextBase(ev, lang)
	ctx["contextActivities"] = map[string]any{
		"parent":   append(append([]any{}, before...), parent...),
		"category": []any{site},
	}
	return ctx, nil
}

// assessClone deep-copies statement parts (maps and slices), so that
// statements built from the same pieces share nothing.
func assessClone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = assessClone(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = assessClone(x)
		}
		return out
	case []string:
		return append([]string(nil), t...)
	}
	return v
}

// --- PHP conversions ---

var (
	assessNumericRE = regexp.MustCompile(`^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$`)
	assessLeadNumRE = regexp.MustCompile(`^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?`)
)

// assessPHPIsNumeric is PHP 8's is_numeric of a string.
func assessPHPIsNumeric(s string) bool { return assessNumericRE.MatchString(s) }

// assessPHPFloatval is PHP's floatval of a string: its leading number, or 0.
func assessPHPFloatval(s string) float64 {
	m := assessLeadNumRE.FindString(s)
	if m == "" {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.TrimSpace(m), 64)
	return f
}

// assessPHPIntval is PHP's intval of a string: its leading integer, or 0.
func assessPHPIntval(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.ParseInt(s[:end], 10, 64)
	return n
}

// assessPHPFloatString is PHP's (string) of a float (precision 14):
// 5.0 -> "5", 0.1+0.2 -> "0.3", 1e15 -> "1.0E+15".
func assessPHPFloatString(f float64) string {
	if math.IsInf(f, 0) {
		if f > 0 {
			return "INF"
		}
		return "-INF"
	}
	if math.IsNaN(f) {
		return "NAN"
	}
	s := strconv.FormatFloat(f, 'G', 14, 64)
	mant, exp, hasExp := strings.Cut(s, "E")
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	if !hasExp {
		return mant
	}
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := exp[0]
	digits := strings.TrimLeft(exp[1:], "0")
	if digits == "" {
		digits = "0"
	}
	return mant + "E" + string(sign) + digits
}

// assessPHPLooseEq is PHP 8's == between two nullable strings (x and y
// are nil or string): numeric strings compare as numbers, NULL as "".
func assessPHPLooseEq(x, y any) bool {
	xs, _ := x.(string)
	ys, _ := y.(string)
	if x != nil && y != nil && assessPHPIsNumeric(xs) && assessPHPIsNumeric(ys) {
		return assessPHPFloatval(xs) == assessPHPFloatval(ys)
	}
	return xs == ys
}

// assessNullableStr is a column as a string, or nil when NULL or absent.
func assessNullableStr(r Row, col string) any {
	if r[col] == nil {
		return nil
	}
	return r.Str(col)
}
