package rules

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/xapibridge/bridge/internal/suggest"
)

// Personal is the special target meaning "the personal LRS registered for the
// statement's actor"; the caller resolves it.
const Personal = "personal"

// Rule is one forwarding rule as written in config.
type Rule struct {
	Name      string
	Stores    []string // store names it applies to; empty = every store
	When      string   // expr-lang expression over the statement; empty = always
	Targets   []string // target names; "personal" = the personal LRS of the statement's actor
	Transform Transform
}

// Transform modifies a copy of the statement before it is sent to the rule's targets.
// Drop is applied before Hash, each in the order given.
type Transform struct {
	Drop []string // property paths to remove, e.g. "actor.name", "context.instructor", "result.response", "authority"
	Hash []string // property paths to pseudonymise, e.g. "actor.mbox", "actor.account.name", "actor.name"
}

// Match is one (rule, target) a statement should go to.
type Match struct{ Rule, Target string }

// Engine holds compiled rules. It is safe for concurrent use.
type Engine struct {
	rules   []*compiled
	byName  map[string]*compiled
	salt    string
	needRaw bool // some rule reads `statement`
	budget  int  // steps per rule per statement; 0: no limit
	vms     sync.Pool
}

type compiled struct {
	name    string
	stores  map[string]bool // nil: every store
	prog    *vm.Program     // nil: always
	targets []string
	ops     []op
}

// Compile compiles every rule once and checks the configuration: names unique
// and non-empty, every target in knownTargets (or "personal"), every `when` a
// valid boolean expression over Env, and every transform path valid. hashSalt
// is prepended to values hashed with SHA-256; it must not be empty when a rule
// hashes anything but an mbox.
//
// Each rule may take at most DefaultBudget steps on a statement (see
// WithBudget); a rule that overruns fails on that statement with a
// *BudgetError.
func Compile(rs []Rule, knownTargets []string, hashSalt string, options ...CompileOption) (*Engine, error) {
	cfg := compileConfig{}
	for _, o := range options {
		o(&cfg)
	}
	switch {
	case cfg.budget == 0:
		cfg.budget = DefaultBudget
	case cfg.budget < 0:
		cfg.budget = 0
	}
	known := make(map[string]bool, len(knownTargets)+1)
	for _, t := range knownTargets {
		known[t] = true
	}
	known[Personal] = true
	e := &Engine{byName: make(map[string]*compiled, len(rs)), salt: hashSalt, budget: cfg.budget}
	e.vms.New = func() any { return new(vm.VM) }
	opts := whenOptions(false)
	var budgeted []expr.Option
	if e.budget > 0 {
		budgeted = whenOptions(true)
	}
	var errs []error
	for i, r := range rs {
		name := strings.TrimSpace(r.Name)
		if name == "" {
			errs = append(errs, fmt.Errorf("rule #%d: name is empty", i+1))
			continue
		}
		if _, dup := e.byName[name]; dup {
			errs = append(errs, fmt.Errorf("rule %q: duplicate rule name", name))
			continue
		}
		c := &compiled{name: name}
		e.byName[name] = c
		e.rules = append(e.rules, c)
		if len(r.Stores) > 0 {
			c.stores = make(map[string]bool, len(r.Stores))
			for _, s := range r.Stores {
				c.stores[s] = true
			}
		}
		if len(r.Targets) == 0 {
			errs = append(errs, fmt.Errorf("rule %q: no targets", name))
		}
		for _, t := range r.Targets {
			if !known[t] {
				errs = append(errs, fmt.Errorf("rule %q: unknown target %q%s", name, t, didYouMean(t, slices.Sorted(maps.Keys(known)))))
				continue
			}
			if !slices.Contains(c.targets, t) {
				c.targets = append(c.targets, t)
			}
		}
		if strings.TrimSpace(r.When) != "" {
			// The expression as written decides whether the rule is valid
			// and what its errors say; the program run is the budgeted one,
			// which type-checks whenever the expression does.
			prog, err := expr.Compile(r.When, opts...)
			if err != nil {
				errs = append(errs, whenError(name, err, r.When))
			} else {
				if budgeted != nil {
					if prog, err = expr.Compile(r.When, budgeted...); err != nil {
						errs = append(errs, fmt.Errorf("rule %q: when: cannot count the steps of this expression (please report this bug): %w", name, err))
					}
				}
				c.prog = prog
				if readsStatement(r.When) {
					e.needRaw = true
				}
			}
		}
		for _, p := range r.Transform.Drop {
			o, err := checkPath(opDrop, p)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: transform: %w", name, err))
				continue
			}
			c.ops = append(c.ops, o)
		}
		for _, p := range r.Transform.Hash {
			o, err := checkPath(opHash, p)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q: transform: %w", name, err))
				continue
			}
			if !o.mbox && hashSalt == "" {
				errs = append(errs, fmt.Errorf("rule %q: transform: hash %q needs a hash salt (an unsalted SHA-256 of a name is easy to reverse)", name, p))
				continue
			}
			c.ops = append(c.ops, o)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// whenOptions are the expr options of a `when`; budgeted adds the step
// budget's patcher (stepBudget).
func whenOptions(budgeted bool) []expr.Option {
	return append(exprOptions(budgeted), expr.AsBool())
}

// exprOptions are whenOptions without the boolean result.
func exprOptions(budgeted bool) []expr.Option {
	opts := append([]expr.Option{expr.Env(&Env{})}, helperOptions()...)
	if budgeted {
		opts = append(opts, budgetOptions()...)
	}
	return opts
}

// Budget returns the steps each rule may take on a statement (0: no limit).
func (e *Engine) Budget() int { return e.budget }

// Rules returns the compiled rules' names in order.
func (e *Engine) Rules() []string {
	out := make([]string, len(e.rules))
	for i, c := range e.rules {
		out[i] = c.name
	}
	return out
}

// Match evaluates every rule that applies to store against stmt and returns
// the (rule, target) pairs in rule order, de-duplicated by target (the first
// matching rule wins). A runtime error in a rule, including an overrun of its
// step budget, is returned (joined, one *RuleError per rule) in err; that
// rule does not match and the other rules are still evaluated, each with a
// budget of its own.
func (e *Engine) Match(store string, stmt map[string]any) ([]Match, error) {
	var (
		env  *Env
		out  []Match
		errs []error
		m    *vm.VM
	)
	for _, c := range e.rules {
		if c.stores != nil && !c.stores[store] {
			continue
		}
		if c.prog != nil {
			if env == nil {
				env = e.newEnv(store, stmt)
				m = e.vms.Get().(*vm.VM)
			}
			env.steps = 0
			res, err := m.Run(c.prog, env)
			if err != nil {
				errs = append(errs, ruleError(c.name, err))
				continue
			}
			if ok, _ := res.(bool); !ok {
				continue
			}
		}
	targets:
		for _, t := range c.targets {
			for _, x := range out {
				if x.Target == t {
					continue targets
				}
			}
			out = append(out, Match{Rule: c.name, Target: t})
		}
	}
	if m != nil {
		e.vms.Put(m)
	}
	return out, errors.Join(errs...)
}

// MatchRule evaluates only the rule named rule against stmt, as Match
// evaluates it (its stores, then its when), and returns its (rule, target)
// pairs in its targets' order: unlike Match, no target is dropped because
// an earlier rule matched it too. For back-fills of one rule. An unknown
// rule matches nothing (nil, nil); a runtime error is returned as Match
// returns it (a *RuleError), and the rule does not match.
func (e *Engine) MatchRule(store string, stmt map[string]any, rule string) ([]Match, error) {
	c := e.byName[rule]
	if c == nil || (c.stores != nil && !c.stores[store]) {
		return nil, nil
	}
	if c.prog != nil {
		m := e.vms.Get().(*vm.VM)
		res, err := m.Run(c.prog, e.newEnv(store, stmt))
		e.vms.Put(m)
		if err != nil {
			return nil, ruleError(c.name, err)
		}
		if ok, _ := res.(bool); !ok {
			return nil, nil
		}
	}
	out := make([]Match, 0, len(c.targets))
	for _, t := range c.targets {
		out = append(out, Match{Rule: c.name, Target: t})
	}
	return out, nil
}

// newEnv is the Env of stmt for the engine's rules.
func (e *Engine) newEnv(store string, stmt map[string]any) *Env {
	env := newEnv(store, stmt, e.needRaw)
	env.budget = e.budget
	return env
}

// HasTransform reports whether rule changes what it sends; when it does
// not, the stored statement can be sent as it is.
func (e *Engine) HasTransform(rule string) bool {
	c := e.byName[rule]
	return c != nil && len(c.ops) > 0
}

// Apply returns the statement to send for rule: a deep copy of stmt with the
// rule's transform applied. stmt is never modified. For an unknown rule name
// it returns an unmodified copy.
func (e *Engine) Apply(rule string, stmt map[string]any) map[string]any {
	out, _ := deepCopy(stmt).(map[string]any)
	if out == nil {
		return nil
	}
	if c := e.byName[rule]; c != nil {
		for _, o := range c.ops {
			o.apply(out, e.salt)
		}
	}
	return out
}

// readsStatement reports whether an expression may read the raw statement
// (the `statement` variable or $env), so Env.Statement must be filled.
func readsStatement(src string) bool {
	tree, err := parser.Parse(src)
	if err != nil {
		return true
	}
	v := &identFinder{}
	ast.Walk(&tree.Node, v)
	return v.found
}

type identFinder struct{ found bool }

func (f *identFinder) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok && (id.Value == "statement" || id.Value == "$env") {
		f.found = true
	}
}

// whenError formats an expr error as `rule "x": when: line L, column C: message`
// (column 1-based). At compile time (src != "") it adds suggestions for
// misspelt names; errors without a position (a non-boolean result) point at
// the start of the expression.
func whenError(rule string, err error, src string) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		if src == "" {
			return fmt.Errorf("rule %q: when: %w", rule, err)
		}
		line, col := 1, 1
		for _, r := range src {
			if r == '\n' {
				line, col = line+1, 1
			} else if r == ' ' || r == '\t' || r == '\r' {
				col++
			} else {
				break
			}
		}
		return fmt.Errorf("rule %q: when: line %d, column %d: %s", rule, line, col, friendlier(err.Error()))
	}
	msg := strings.TrimSpace(fe.Message)
	if src != "" {
		msg = friendlier(msg)
	}
	return fmt.Errorf("rule %q: when: line %d, column %d: %s", rule, fe.Line, fe.Column+1, msg)
}

var (
	reUnknownName = regexp.MustCompile(`^unknown name (\S+)$`)
	reNoField     = regexp.MustCompile(`^type \*?rules\.(\w+) has no field (\S+)$`)
	reExpected    = regexp.MustCompile(`^expected bool, but got (.+)$`)
)

// friendlier rewrites expr's checker messages in the vocabulary of the
// environment and adds "did you mean" suggestions.
func friendlier(msg string) string {
	if m := reUnknownName.FindStringSubmatch(msg); m != nil {
		names := append(fieldNames(reflect.TypeOf(Env{})), helperNames...)
		for _, b := range builtin.Builtins {
			names = append(names, b.Name)
		}
		return msg + didYouMean(m[1], names)
	}
	if m := reNoField.FindStringSubmatch(msg); m != nil {
		t, ok := envTypes[m[1]]
		if !ok {
			return msg
		}
		fields := fieldNames(t.typ)
		s := fmt.Sprintf("unknown field %s of %s", m[2], t.name)
		if hint := didYouMean(m[2], fields); hint != "" {
			return s + hint
		}
		return s + " (fields: " + strings.Join(fields, ", ") + ")"
	}
	if m := reExpected.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("the expression must be a condition (true or false) but it is a %s; compare it, e.g. verb.id == \"…\"", m[1])
	}
	return msg
}

type envType struct {
	name string
	typ  reflect.Type
}

var envTypes = map[string]envType{
	"Env":               {"the statement", reflect.TypeOf(Env{})},
	"Agent":             {"an agent", reflect.TypeOf(Agent{})},
	"Account":           {"account", reflect.TypeOf(Account{})},
	"Verb":              {"verb", reflect.TypeOf(Verb{})},
	"Definition":        {"definition", reflect.TypeOf(Definition{})},
	"Activity":          {"an activity", reflect.TypeOf(Activity{})},
	"Object":            {"object", reflect.TypeOf(Object{})},
	"Score":             {"result.score", reflect.TypeOf(Score{})},
	"Result":            {"result", reflect.TypeOf(Result{})},
	"ContextActivities": {"context.contextActivities", reflect.TypeOf(ContextActivities{})},
	"Context":           {"context", reflect.TypeOf(Context{})},
}

func fieldNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("expr"); tag != "" {
			out = append(out, tag)
		}
	}
	return out
}

// didYouMean returns " (did you mean X?)" for the closest candidate, or "".
func didYouMean(s string, candidates []string) string {
	if best, ok := suggest.Closest(s, candidates); ok {
		return " (did you mean " + best + "?)"
	}
	return ""
}
