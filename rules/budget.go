package rules

import (
	"errors"
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// DefaultBudget is the number of steps a rule may take on one statement
// when Compile is not given WithBudget.
//
// A step is one evaluation of a predicate (closure) of a builtin such as
// any, all, filter, map, count or reduce: any(list, p) over n elements is
// up to n steps, any(a, any(b, p)) up to len(a) × len(b). The rest of an
// expression is evaluated once per step of the predicate it is in (or
// once), so steps are what multiplies with the size of the statement.
//
// A Moodle statement has fewer than 50 array elements in total (context
// activities, group members), so even a rule comparing every element with
// every other one (50 + 50 × 50 = 2,550 steps) stays nearly 40 times below
// the default, and so do three predicates nested over different lists of
// such a statement (at most 17 × 17 × 16 ≈ 4,600 steps). A rule that
// overruns is one that does not scale with the statements it meets (issue
// 15: a nested any over a statement with 3,000 context activities is
// 9,000,000 steps, 2 to 4 s here); the budget stops it after 100,000
// steps, in 15 to 25 ms on the same machine.
//
// What one step does is bounded by the expression, not by the budget: a
// predicate that itself scans a list without a predicate (x in list,
// count(list), sort, join, …) does that work at each step.
const DefaultBudget = 100_000

// ErrBudget is matched (errors.Is) by the error of a rule that overran its
// step budget.
var ErrBudget = errors.New("rule overran its step budget")

// BudgetError is the run-time error of a rule that overran its budget on a
// statement; Match and MatchRule return it wrapped in a *RuleError.
type BudgetError struct {
	Budget    int    // steps allowed
	Statement string // id of the statement ("" if it has none)
}

func (e *BudgetError) Error() string {
	id := e.Statement
	if id == "" {
		id = "(without id)"
	}
	return fmt.Sprintf("overran its budget of %d steps on statement %s", e.Budget, id)
}

// Is makes errors.Is(err, ErrBudget) true.
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

// RuleError is the run-time error of one rule on one statement. Match
// joins one per failing rule (errors.Join); MatchRule returns it as it is.
// Its message is `rule "name": when: line L, column C: message`.
type RuleError struct {
	Rule string // the rule's name
	Err  error  // what expr returned (errors.Is(err, ErrBudget) for an overrun)
	msg  string
}

func (e *RuleError) Error() string { return e.msg }
func (e *RuleError) Unwrap() error { return e.Err }

func ruleError(rule string, err error) *RuleError {
	return &RuleError{Rule: rule, Err: err, msg: whenError(rule, err, "").Error()}
}

// CompileOption changes how Compile compiles rules.
type CompileOption func(*compileConfig)

type compileConfig struct {
	budget int
}

// WithBudget sets the number of steps (see DefaultBudget) each rule may
// take on each statement: 0 keeps DefaultBudget, a negative number
// removes the limit.
func WithBudget(steps int) CompileOption {
	return func(c *compileConfig) { c.budget = steps }
}

// stepBudget is an ast patcher that makes every predicate count its
// evaluations against the budget: the body p of each predicate becomes
// `step($env) ? (p) : nil`, where step is budgetStep (a constant of the
// program, not a name a rule can use). step returns true, or stops the
// run with a *BudgetError once the budget of the Env of the evaluation is
// spent. The conditional has the type of p (the checker types
// `c ? x : nil` as x), so the predicate type-checks and compiles as
// before, whatever the builtin (bool predicates of any, all, filter, …;
// values of map, sortBy, groupBy, sum, reduce).
//
// Patching every *ast.PredicateNode rather than a list of builtins covers
// every builtin that takes one (builtin.go: all, none, any, one, filter,
// map, find, findIndex, findLast, findLastIndex, count, sum, groupBy,
// sortBy, reduce) and any added later. count(list) and sum(list) without
// a predicate loop once over their list and are not counted.
//
// budgetStep is a func(any) bool, one of the signatures expr calls
// directly (OpCallTyped): no reflection, and no allocation, where an
// expr.Function would have its arguments allocated on every call in a loop.
type stepBudget struct{}

func (stepBudget) Visit(node *ast.Node) {
	p, ok := (*node).(*ast.PredicateNode)
	if !ok || p.Node == nil || isStep(p.Node) {
		return
	}
	loc := p.Location()
	env := &ast.IdentifierNode{Value: "$env"}
	callee := &ast.ConstantNode{Value: budgetStep}
	call := &ast.CallNode{Callee: callee, Arguments: []ast.Node{env}}
	none := &ast.NilNode{}
	cond := &ast.ConditionalNode{Ternary: true, Cond: call, Exp1: p.Node, Exp2: none}
	for _, n := range []ast.Node{env, callee, call, none, cond} {
		n.SetLocation(loc) // an overrun is reported at the predicate
	}
	p.Node = cond
}

func isStep(n ast.Node) bool {
	c, ok := n.(*ast.ConditionalNode)
	if !ok {
		return false
	}
	call, ok := c.Cond.(*ast.CallNode)
	if !ok {
		return false
	}
	_, ok = call.Callee.(*ast.ConstantNode)
	return ok
}

// budgetStep counts a step on the Env of the evaluation (Match resets the
// count before each rule) and stops the run (vm.Run recovers the panic
// and returns it as the run's error) once the budget is spent.
func budgetStep(env any) bool {
	e, _ := env.(*Env)
	if e == nil || e.budget <= 0 {
		return true
	}
	e.steps++
	if e.steps > e.budget {
		panic(&BudgetError{Budget: e.budget, Statement: e.ID})
	}
	return true
}

// budgetOptions are the expr options that enforce the budget.
func budgetOptions() []expr.Option {
	return []expr.Option{expr.Patch(stepBudget{})}
}
