package rules

import (
	"errors"
	"testing"

	"github.com/expr-lang/expr"
)

// closureRules is a typical rule set that uses expr's closure builtins
// (any, all, none, count, filter, map): the rules the step budget
// instruments. BenchmarkMatch's rule set uses none.
var closureRules = []Rule{
	{Name: "completions", When: `verbIs("completed") && result.completion`, Targets: []string{"analytics"}},
	{Name: "course-type", When: `any(context.contextActivities.grouping, .definition.type endsWith "/course")`, Targets: []string{"archive"}},
	{Name: "course-42", When: `"` + courseIRI + `" in map(context.contextActivities.grouping, .id)`, Targets: []string{"webhook"}},
	{Name: "lms", When: `count(context.contextActivities.grouping, .definition.type contains "/lms") >= 2`, Targets: []string{"analytics"}},
	{Name: "moodle-source", When: `all(context.contextActivities.category, .id startsWith "http://moodle.org")`, Targets: []string{"archive"}},
	{Name: "no-teacher", When: `none(actor.member, .mbox == "mailto:teacher@example.org")`, Targets: []string{"webhook"}},
	{Name: "section", When: `len(filter(context.contextActivities.parent, .id contains "/section.php")) == 1`, Targets: []string{"analytics"}},
	{Name: "nested", When: `any(context.contextActivities.grouping, {let g = #; any(context.contextActivities.category, .id == g.id)})`, Targets: []string{"archive"}},
	{Name: "passed", When: `result.success && result.score.scaled >= 0.8`, Targets: []string{"archive"}},
	{Name: "other-store", Stores: []string{"h5p"}, When: `any(context.contextActivities.grouping, .id == "x")`, Targets: []string{"analytics"}},
}

// BenchmarkMatchClosures is BenchmarkMatch for closureRules, with the
// default step budget: compare it with BenchmarkMatchClosuresUnbudgeted
// (the same programs without the budget's instrumentation).
func BenchmarkMatchClosures(b *testing.B) {
	benchmarkMatch(b, closureRules)
}

func BenchmarkMatchClosuresUnbudgeted(b *testing.B) {
	benchmarkMatch(b, closureRules, WithBudget(-1))
}

// BenchmarkMatchUnbudgeted is BenchmarkMatch without the budget.
func BenchmarkMatchUnbudgeted(b *testing.B) {
	benchmarkMatch(b, benchRules, WithBudget(-1))
}

// BenchmarkMatchOverrun is the issue 15 rule on its 3,000-activity
// statement: the time a rule takes to spend the default budget.
func BenchmarkMatchOverrun(b *testing.B) {
	e, err := Compile([]Rule{{Name: "nested", When: nestedAny, Targets: []string{"webhook"}}}, targets, "")
	if err != nil {
		b.Fatal(err)
	}
	s, _ := bigStatement(b, 3000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Match("moodle", s); !errors.Is(err, ErrBudget) {
			b.Fatalf("err = %v, want ErrBudget", err)
		}
	}
}

// benchRules is BenchmarkMatch's rule set (rules_test.go).
var benchRules = []Rule{
	{Name: "completions", When: `verbIs("completed") && result.completion`, Targets: []string{"analytics"}},
	{Name: "passed", When: `result.success && result.score.scaled >= 0.8`, Targets: []string{"archive"}},
	{Name: "course-42", When: `inGrouping("` + courseIRI + `")`, Targets: []string{"webhook"}},
	{Name: "quizzes", Stores: []string{"moodle"}, When: `isActivityType("assessment")`, Targets: []string{"personal"}},
	{Name: "recent", When: `timestamp > date("2025-01-01")`, Targets: []string{"archive"}},
	{Name: "event", When: `extension(context.extensions, "http://lrs.learninglocker.net/define/extensions/info")["event_function"] == "attempt_submitted"`, Targets: []string{"webhook"}},
	{Name: "platform", When: `context.platform == "Moodle" && actor.account.homePage startsWith "https://moodle."`, Targets: []string{"analytics"}},
	{Name: "attempts", When: `(extension(result.extensions, "http://example.org/attempt") ?? 0) > 2`, Targets: []string{"archive"}},
	{Name: "instructor", When: `context.instructor.mbox endsWith "@example.org" && lang(verb.display, "en") == "completed"`, Targets: []string{"webhook"}},
	{Name: "other-store", Stores: []string{"h5p"}, When: `verbIs("answered")`, Targets: []string{"analytics"}},
}

func benchmarkMatch(b *testing.B, rs []Rule, opts ...CompileOption) {
	e, err := Compile(rs, targets, "salt", opts...)
	if err != nil {
		b.Fatal(err)
	}
	s := statement(b)
	if m, err := e.Match("moodle", s); err != nil || len(m) < 3 {
		b.Fatalf("Match = %v, %v", m, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Match("moodle", s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSteps is the cost of a step: one rule whose predicate is
// evaluated 1,000 times (a statement with 1,000 grouping activities).
func BenchmarkSteps(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []CompileOption
	}{{"budgeted", nil}, {"unbudgeted", []CompileOption{WithBudget(-1)}}} {
		b.Run(bc.name, func(b *testing.B) {
			e, err := Compile([]Rule{{Name: "r", When: `count(context.contextActivities.grouping, .objectType == "Activity") > 1000`, Targets: []string{"archive"}}}, targets, "", bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			s, _ := bigStatement(b, 998)
			env := e.newEnv("moodle", s)
			prog := e.rules[0].prog
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				env.steps = 0
				if res, err := expr.Run(prog, env); err != nil || res != false {
					b.Fatal(res, err)
				}
			}
		})
	}
}
