package rules

import (
	"maps"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// statementHelpers are the helpers that read the current statement. In an
// expression they are written without it (verbIs("completed")); envArg
// passes the environment as a hidden first argument at compile time, so the
// compiled program stays safe for concurrent use.
var statementHelpers = map[string]bool{
	"has": true, "verbIs": true, "activityType": true, "isActivityType": true,
	"inParent": true, "inGrouping": true, "inCategory": true, "inOther": true, "inContext": true,
}

type envArg struct{}

func (envArg) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok || !statementHelpers[id.Value] {
		return
	}
	if len(call.Arguments) > 0 {
		if a, ok := call.Arguments[0].(*ast.IdentifierNode); ok && a.Value == "$env" {
			return // already patched
		}
	}
	env := &ast.IdentifierNode{Value: "$env"}
	env.SetLocation(call.Location())
	call.Arguments = append([]ast.Node{env}, call.Arguments...)
}

// helperNames lists every helper, for "did you mean" suggestions.
var helperNames = []string{"has", "verbIs", "activityType", "isActivityType", "inParent", "inGrouping",
	"inCategory", "inOther", "inContext", "extension", "lang"}

func helperOptions() []expr.Option {
	envOf := func(p any) *Env {
		e, _ := p.(*Env)
		if e == nil {
			e = &Env{}
		}
		return e
	}
	strArg := func(p any) string {
		s, _ := p.(string)
		return s
	}
	in := func(name string, list func(*Env) []Activity) expr.Option {
		return expr.Function(name, func(p ...any) (any, error) {
			return hasActivity(list(envOf(p[0])), strArg(p[1])), nil
		}, new(func(*Env, string) bool))
	}
	return []expr.Option{
		expr.Patch(envArg{}),
		expr.Function("has", func(p ...any) (any, error) {
			e := envOf(p[0])
			_, ok := lookup(e.raw, splitPath(strArg(p[1])))
			return ok, nil
		}, new(func(*Env, string) bool)),
		expr.Function("verbIs", func(p ...any) (any, error) {
			return iriIs(envOf(p[0]).Verb.ID, strArg(p[1])), nil
		}, new(func(*Env, string) bool)),
		expr.Function("activityType", func(p ...any) (any, error) {
			return envOf(p[0]).Object.Definition.Type, nil
		}, new(func(*Env) string)),
		expr.Function("isActivityType", func(p ...any) (any, error) {
			return iriIs(envOf(p[0]).Object.Definition.Type, strArg(p[1])), nil
		}, new(func(*Env, string) bool)),
		in("inParent", func(e *Env) []Activity { return e.Context.ContextActivities.Parent }),
		in("inGrouping", func(e *Env) []Activity { return e.Context.ContextActivities.Grouping }),
		in("inCategory", func(e *Env) []Activity { return e.Context.ContextActivities.Category }),
		in("inOther", func(e *Env) []Activity { return e.Context.ContextActivities.Other }),
		expr.Function("inContext", func(p ...any) (any, error) {
			ca := envOf(p[0]).Context.ContextActivities
			iri := strArg(p[1])
			return hasActivity(ca.Parent, iri) || hasActivity(ca.Grouping, iri) ||
				hasActivity(ca.Category, iri) || hasActivity(ca.Other, iri), nil
		}, new(func(*Env, string) bool)),
		expr.Function("extension", func(p ...any) (any, error) {
			m, _ := p[0].(map[string]any)
			return m[strArg(p[1])], nil
		}, new(func(map[string]any, string) any)),
		expr.Function("lang", func(p ...any) (any, error) {
			m, _ := p[0].(map[string]string)
			return bestLang(m, strArg(p[1])), nil
		}, new(func(map[string]string, string) string)),
	}
}

// iriIs reports whether id equals want, or, when want is a bare word (no ':'),
// whether id's last path segment is want: iriIs("http://adlnet.gov/expapi/verbs/completed", "completed").
func iriIs(id, want string) bool {
	if want == "" {
		return id == ""
	}
	if strings.Contains(want, ":") {
		return id == want
	}
	return len(id) > len(want) && strings.HasSuffix(id, want) &&
		(id[len(id)-len(want)-1] == '/' || id[len(id)-len(want)-1] == '#')
}

func hasActivity(list []Activity, iri string) bool {
	for i := range list {
		if list[i].ID == iri {
			return true
		}
	}
	return false
}

// bestLang picks the entry of a language map for tag: the exact tag
// (case-insensitive), else the first (in sorted order) entry of the same
// primary language ("en" matches "en-US" and "en-US" matches "en-GB"), else
// "und", else the first entry in sorted order; "" for an empty map.
func bestLang(m map[string]string, tag string) string {
	if len(m) == 0 {
		return ""
	}
	if s, ok := m[tag]; ok {
		return s
	}
	keys := slices.Sorted(maps.Keys(m))
	for _, k := range keys {
		if strings.EqualFold(k, tag) {
			return m[k]
		}
	}
	primary := func(t string) string {
		if i := strings.IndexByte(t, '-'); i >= 0 {
			t = t[:i]
		}
		return strings.ToLower(t)
	}
	if tag != "" {
		p := primary(tag)
		for _, k := range keys {
			if primary(k) == p {
				return m[k]
			}
		}
	}
	if s, ok := m["und"]; ok {
		return s
	}
	return m[keys[0]]
}
