package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// bigStatement is the Moodle statement with n extra grouping activities
// (about 105 bytes of JSON each: n = 3000 gives a ~320 KB statement, the
// size of the one in issue 15), re-encoded and decoded the way ingest
// decodes it.
func bigStatement(t testing.TB, n int) (map[string]any, int) {
	t.Helper()
	s := statement(t)
	ca := s["context"].(map[string]any)["contextActivities"].(map[string]any)
	grouping := ca["grouping"].([]any)
	for i := 0; i < n; i++ {
		grouping = append(grouping, map[string]any{
			"id":         fmt.Sprintf("https://moodle.example.org/mod/page/view.php?id=%d&forceview=1", 100000+i),
			"objectType": "Activity",
		})
	}
	ca["grouping"] = grouping
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := xapi.DecodeJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any), len(data)
}

// nestedAny is the rule of issue 15: for each grouping activity, scan all
// of them again (3,000 × 3,000 = 9,000,000 predicate evaluations).
const nestedAny = `any(context.contextActivities.grouping, any(context.contextActivities.grouping, .id == "https://example.org/none"))`

// Issue 15: a nested any over a 320 KB statement ran for 32 s inside
// ingest. The rule must stop at its budget, be reported by name with the
// budget and the statement, and not hold up the other rules.
func TestBudgetNestedAnyOverruns(t *testing.T) {
	e, err := Compile([]Rule{
		{Name: "completions", When: `verbIs("completed")`, Targets: []string{"analytics"}},
		{Name: "nested", When: nestedAny, Targets: []string{"webhook"}},
		{Name: "course-42", When: `inGrouping("` + courseIRI + `")`, Targets: []string{"archive"}},
	}, targets, "")
	if err != nil {
		t.Fatal(err)
	}
	s, size := bigStatement(t, 3000)
	start := time.Now()
	got, err := e.Match("moodle", s)
	t.Logf("Match on a %d-byte statement with 3,002 grouping activities took %v", size, time.Since(start))
	if want := []Match{{"completions", "analytics"}, {"course-42", "archive"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Match = %v, want %v", got, want)
	}
	want := fmt.Sprintf("overran its budget of 100000 steps on statement %s", s["id"])
	if err == nil || !strings.Contains(err.Error(), `rule "nested"`) || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want rule \"nested\" ... %s", err, want)
	}
	if strings.Contains(err.Error(), "completions") || strings.Contains(err.Error(), "course-42") {
		t.Errorf("err blames a rule that did not overrun: %v", err)
	}
}

// The overrun is a *RuleError naming the rule, wrapping a *BudgetError
// (errors.Is ErrBudget); MatchRule reports it too.
func TestBudgetErrorTypes(t *testing.T) {
	e, err := Compile([]Rule{{Name: "nested", When: nestedAny, Targets: []string{"webhook"}}}, targets, "", WithBudget(1000))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := bigStatement(t, 100) // 102 × 102 = 10,404 steps
	for name, match := range map[string]func() ([]Match, error){
		"Match":     func() ([]Match, error) { return e.Match("moodle", s) },
		"MatchRule": func() ([]Match, error) { return e.MatchRule("moodle", s, "nested") },
	} {
		got, err := match()
		if got != nil {
			t.Errorf("%s = %v, want no match", name, got)
		}
		var re *RuleError
		var be *BudgetError
		if !errors.As(err, &re) || re.Rule != "nested" || !errors.Is(err, ErrBudget) || !errors.As(err, &be) {
			t.Fatalf("%s: err = %#v, want a *RuleError for nested wrapping a *BudgetError", name, err)
		}
		if be.Budget != 1000 || be.Statement != s["id"] {
			t.Errorf("%s: BudgetError = %+v", name, be)
		}
		// The innermost predicate (the one evaluated most) is the one that
		// overruns: column 81 of nestedAny.
		want := `rule "nested": when: line 1, column 81: overran its budget of 1000 steps on statement ` + s["id"].(string)
		if err.Error() != want {
			t.Errorf("%s: err = %q\nwant %q", name, err, want)
		}
	}
}

// Match evaluates every rule on one Env: each rule starts with the whole
// budget, and a rule may use exactly its budget.
func TestBudgetPerRule(t *testing.T) {
	e, err := Compile([]Rule{
		{Name: "five-a", When: `count(1..5, true) == 5`, Targets: []string{"archive"}},
		{Name: "five-b", When: `count(1..5, true) == 5`, Targets: []string{"analytics"}},
		{Name: "six", When: `count(1..6, true) == 6`, Targets: []string{"webhook"}},
		{Name: "five-c", When: `map(1..5, #) == [1, 2, 3, 4, 5]`, Targets: []string{"webhook"}},
	}, targets, "", WithBudget(5))
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Match("moodle", statement(t))
	if want := []Match{{"five-a", "archive"}, {"five-b", "analytics"}, {"five-c", "webhook"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Match = %v, want %v", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), `rule "six"`) || !strings.Contains(err.Error(), "budget of 5 steps") ||
		strings.Contains(err.Error(), "five") {
		t.Errorf("err = %v, want only six's overrun", err)
	}
	if e.Budget() != 5 {
		t.Errorf("Budget() = %d, want 5", e.Budget())
	}
}

// WithBudget(0) is the default; a negative budget removes the limit.
func TestBudgetOption(t *testing.T) {
	rs := []Rule{{Name: "nested", When: nestedAny, Targets: []string{"webhook"}}}
	s, _ := bigStatement(t, 400) // 402 × 402 = 161,604 steps
	for _, tc := range []struct {
		opts    []CompileOption
		budget  int
		overrun bool
	}{
		{nil, DefaultBudget, true},
		{[]CompileOption{WithBudget(0)}, DefaultBudget, true},
		{[]CompileOption{WithBudget(200_000)}, 200_000, false},
		{[]CompileOption{WithBudget(-1)}, 0, false},
	} {
		e, err := Compile(rs, targets, "", tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Match("moodle", s)
		if e.Budget() != tc.budget || errors.Is(err, ErrBudget) != tc.overrun || !tc.overrun && err != nil {
			t.Errorf("budget %d: Budget() = %d, err = %v, want overrun %v", tc.budget, e.Budget(), err, tc.overrun)
		}
	}
}

// A statement as big as a real Moodle one gets (50 array elements) does
// not come close to the default budget, even with a rule comparing every
// context activity with every other one.
func TestBudgetRealisticStatementFits(t *testing.T) {
	s, _ := bigStatement(t, 46) // 2 + 46 grouping, 1 parent, 1 category: 50 elements
	const all = `concat(context.contextActivities.parent, context.contextActivities.grouping, context.contextActivities.category)`
	env := newEnv("moodle", s, false)
	env.budget = DefaultBudget
	prog, err := expr.Compile(`any(`+all+`, {let a = #; any(`+all+`, .id != a.id && .id == a.id)})`, whenOptions(true)...)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := expr.Run(prog, env); err != nil || res != false {
		t.Fatalf("Run = %v, %v", res, err)
	}
	if env.steps != 50+50*50 || env.steps*35 > DefaultBudget {
		t.Errorf("steps = %d, want 2,550 (< DefaultBudget / 35)", env.steps)
	}
}

// Concurrent Matches count on their own Env (go test -race).
func TestBudgetConcurrentMatch(t *testing.T) {
	e, err := Compile([]Rule{
		{Name: "nested", When: nestedAny, Targets: []string{"webhook"}},
		{Name: "fits", When: `count(context.contextActivities.grouping, true) == 52`, Targets: []string{"archive"}},
	}, targets, "", WithBudget(2000))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := bigStatement(t, 50) // nested: 52 × 52 = 2,704 steps; fits: 52
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				got, err := e.Match("moodle", s)
				if !reflect.DeepEqual(got, []Match{{"fits", "archive"}}) || !errors.Is(err, ErrBudget) {
					t.Errorf("Match = %v, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// budgetExprs uses every builtin that takes a predicate (expr's
// builtin/builtin.go and parser.go's predicates table), with and without
// their optional arguments, in the forms the optimizer rewrites (filter+map,
// filter()[0], len(filter()), count() > 0, all() && all(), sum(map()), …),
// nested, with helpers, `let`, pointers (#, #index, #acc), pipes and the
// untyped `statement`. steps is the number of predicate evaluations
// (-1: not checked).
var budgetExprs = []struct {
	src   string
	steps int
}{
	{`all(context.contextActivities.grouping, .objectType == "Activity")`, 2},
	{`all(context.contextActivities.grouping, .id == "x")`, 1},
	{`none(context.contextActivities.grouping, .id == "x")`, 2},
	{`any(context.contextActivities.grouping, .definition.type endsWith "/course")`, 2},
	{`any(actor.member, .mbox == "x")`, 0},
	{`one(context.contextActivities.grouping, .id == "` + courseIRI + `")`, 2},
	{`filter(context.contextActivities.grouping, .definition.type endsWith "/course")`, 2},
	{`filter(1..20, # % 3 == 0)`, 20},
	{`map(context.contextActivities.grouping, .id)`, 2},
	{`map(context.contextActivities.grouping, #index)`, 2},
	{`map(context.contextActivities.grouping, .definition.name)`, 2},
	{`map(1..3, # > 1 ? "big" : nil)`, 3},
	{`map([timestamp, stored], #.Year())`, 2},
	{`map(context.contextActivities.grouping, {let t = .definition.type; t + "!"})`, 2},
	{`find(context.contextActivities.grouping, .id == "` + courseIRI + `")`, 2},
	{`find(context.contextActivities.grouping, .id == "x")`, 2},
	{`find(1..3, # > 5) ?? "none"`, 3},
	{`findIndex(context.contextActivities.grouping, .id == "` + courseIRI + `")`, 2},
	{`findIndex(1..5, # == 9)`, 5},
	{`findLast(1..5, # < 3)`, 4},
	{`findLast(1..5, # > 9)`, 5},
	{`findLastIndex(1..5, # < 3)`, 4},
	{`count(context.contextActivities.grouping, .id != "")`, 2},
	{`count([true, false, true])`, 0},
	{`count(1..10, # > 3 && # < 8)`, 10},
	{`count(1..10, # > 2) >= 3`, -1}, // threshold: stops early
	{`count(1..10, # > 5) > 0`, -1},  // rewritten to any
	{`sum(1..10, # * 2)`, -1},
	{`sum([1.5, 2.5])`, 0},
	{`sum(context.contextActivities.grouping, len(.id))`, 2},
	{`sum(map(context.contextActivities.grouping, len(.id)))`, -1},
	{`groupBy(context.contextActivities.grouping, .definition.type)`, 2},
	{`groupBy(1..10, # % 3)[1]`, 10},
	{`sortBy(context.contextActivities.grouping, .id)`, 2},
	{`sortBy(context.contextActivities.grouping, .id, "desc")`, 2},
	{`sortBy(map(context.contextActivities.grouping, .id), len(#))`, 4},
	{`reduce(1..5, #acc + #)`, 4},
	{`reduce(1..5, #acc + #, 10)`, 5},
	{`reduce(1..4, #acc + #index, 0)`, 4},
	{`reduce(map(context.contextActivities.grouping, .id), #acc + "," + #, "")`, 4},
	// (filter(list of activities, p)[0].id does not compile, budget or not:
	// expr v1.17.8's compiler panics on the field of the rewritten find.)
	{`filter(context.contextActivities.grouping, .id != "")[0]`, -1},
	{`filter(context.contextActivities.grouping, .id != "")[-1]`, -1},
	{`find(context.contextActivities.grouping, .id != "").id`, 1},
	{`first(filter(1..9, # > 4))`, -1},
	{`last(filter(1..9, # < 4))`, -1},
	{`len(filter(context.contextActivities.grouping, true))`, 2},
	{`map(filter(context.contextActivities.grouping, .id contains "course"), .id)`, 3},
	{`all(context.contextActivities.grouping, .id != "") && all(context.contextActivities.grouping, .objectType == "Activity")`, 4},
	{`any(1..5, # == 2) || any(1..5, # == 4)`, -1},
	{`filter(filter(1..20, # % 2 == 0), # % 3 == 0)`, -1},
	{`map(context.contextActivities.grouping, map(context.contextActivities.category, .id + string(#index)))`, 4},
	{`any(context.contextActivities.grouping, {let g = #; any(context.contextActivities.grouping, .id == g.id)})`, 1 + 1},
	{`all(context.contextActivities.grouping, {let g = #; one(context.contextActivities.grouping, .id == g.id)})`, 2 + 2*2},
	{`any(context.contextActivities.grouping, verbIs("completed") && inGrouping(.id))`, 1},
	{`any(statement.context.contextActivities.grouping, .id == "` + courseIRI + `")`, 2},
	{`map(statement.context.contextActivities.grouping, .definition?.type ?? "")`, 2},
	{`context.contextActivities.grouping | map(.id) | filter(# endsWith "42")`, 4},
	{`join(sort(uniq(map(context.contextActivities.grouping, .objectType))), ",")`, 2},
	{`"` + courseIRI + `" in map(context.contextActivities.grouping, .id)`, 2},
}

// Every builtin gives the same result with the budget as without it, and
// its predicate evaluations are counted.
func TestBudgetBuiltinsUnchanged(t *testing.T) {
	for _, tc := range budgetExprs {
		t.Run(tc.src, func(t *testing.T) {
			plain, err := expr.Compile(tc.src, exprOptions(false)...)
			if err != nil {
				t.Fatal(err)
			}
			budgeted, err := expr.Compile(tc.src, exprOptions(true)...)
			if err != nil {
				t.Fatalf("budgeted: %v", err)
			}
			s := statement(t)
			want, err := expr.Run(plain, newEnv("moodle", s, true))
			if err != nil {
				t.Fatal(err)
			}
			env := newEnv("moodle", s, true)
			env.budget = DefaultBudget
			got, err := expr.Run(budgeted, env)
			if err != nil {
				t.Fatalf("budgeted: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("budgeted = %#v\nwant %#v", got, want)
			}
			if tc.steps >= 0 && env.steps != tc.steps || tc.steps < 0 && env.steps == 0 {
				t.Errorf("steps = %d, want %d", env.steps, tc.steps)
			}
		})
	}
}

// Bad rules with predicates get the errors they got before the budget,
// and the budget's instrumentation alone would not change them either.
func TestBudgetCompileErrorsUnchanged(t *testing.T) {
	bad := []string{
		`any(context.contextActivities.grouping, .idd == "x")`,
		`any(context.contextActivities.grouping, .id)`,
		`all(context.contextActivities.grouping, 1)`,
		`filter(context.contextActivities.grouping, .id) == nil`,
		`len(map(context.contextActivities.grouping, .nope)) > 0`,
		`count(context.contextActivities.grouping, "x") > 0`,
		`map(context.contextActivities.grouping, .id)`,
		`sum(context.contextActivities.grouping, .id) > 0`,
		`all(verb.id, true)`,
		`any(context.contextActivities.grouping, verbIss("x"))`,
		`any(context.contextActivities.grouping, {let x = .id; x > 1})`,
		`any(context.contextActivities.grouping, any(context.contextActivities.category, .ids == ""))`,
		`reduce(context.contextActivities.grouping) != nil`,
		`find(context.contextActivities.grouping, .id == 1).id == ""`,
		`sortBy(context.contextActivities.grouping, .id, 1) != nil`,
		`any(context.contextActivities.grouping, .id == "x"`,
		`groupBy(context.contextActivities.grouping, .id)`,
	}
	for _, src := range bad {
		t.Run(src, func(t *testing.T) {
			_, plainErr := expr.Compile(src, whenOptions(false)...)
			if plainErr == nil {
				t.Fatal("compiles without the budget")
			}
			want := whenError("r", plainErr, src).Error()
			_, budgetedErr := expr.Compile(src, whenOptions(true)...)
			if budgetedErr == nil || whenError("r", budgetedErr, src).Error() != want {
				t.Errorf("with the budget's instrumentation: %v\nwant %s", budgetedErr, want)
			}
			_, err := Compile([]Rule{{Name: "r", When: src, Targets: []string{"archive"}}}, targets, "")
			if err == nil || err.Error() != want {
				t.Errorf("Compile: %v\nwant %s", err, want)
			}
		})
	}
}
