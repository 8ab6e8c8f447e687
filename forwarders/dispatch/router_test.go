package dispatch

// Internal test (package dispatch): the wake-up test registers a waiter
// with Dispatcher.waker, the way Run's workers do. Everything here uses
// real compiled rules and no database.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/rules"
)

// routerTargets are the configured (ordinary) targets of these tests;
// "personal" is always known to rules.Compile.
var routerTargets = []string{"archive", "webhook", "lake"}

func compileRouterRules(t *testing.T, rs ...rules.Rule) *rules.Engine {
	t.Helper()
	e, err := rules.Compile(rs, routerTargets, "")
	if err != nil {
		t.Fatalf("rules.Compile: %v", err)
	}
	return e
}

// Actors and their agent keys (xapi.AgentKey).
var (
	ann            = map[string]any{"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.org"}
	annKey         = "mbox::mailto:ann@example.org"
	bob            = map[string]any{"objectType": "Agent", "name": "Bob", "mbox": "mailto:bob@example.org"}
	bobKey         = "mbox::mailto:bob@example.org"
	carol          = map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "https://moodle.example.org", "name": "42"}}
	carolKey       = "account::https://moodle.example.org::42"
	anonymousGroup = map[string]any{"objectType": "Group", "member": []any{ann, bob}} // no IFI: no agent key
	adlVerb        = "http://adlnet.gov/expapi/verbs/"
)

var routerStmtSeq int

// routerStatement is a minimal statement by actor with an ADL verb
// ("completed", "attempted", ...). edit, when not nil, changes it further.
func routerStatement(verb string, actor map[string]any, edit ...func(map[string]any)) map[string]any {
	routerStmtSeq++
	s := map[string]any{
		"id":     fmt.Sprintf("00000000-0000-4000-8000-%012d", routerStmtSeq),
		"actor":  actor,
		"verb":   map[string]any{"id": adlVerb + verb, "display": map[string]any{"en": verb}},
		"object": map[string]any{"objectType": "Activity", "id": "https://moodle.example.org/mod/quiz/view.php?id=7"},
	}
	for _, f := range edit {
		f(s)
	}
	return s
}

// fakePersonal is a PersonalLookup holding a fixed set of registrations
// and recording what it is asked.
type fakePersonal struct {
	registered map[int64][]string // store id -> agent keys

	mu    sync.Mutex
	asked []personalQuery
}

type personalQuery struct {
	StoreID  int64
	AgentKey string
}

func (f *fakePersonal) Has(storeID int64, agentKey string) bool {
	f.mu.Lock()
	f.asked = append(f.asked, personalQuery{storeID, agentKey})
	f.mu.Unlock()
	for _, k := range f.registered[storeID] {
		if k == agentKey {
			return true
		}
	}
	return false
}

func (f *fakePersonal) queries() []personalQuery {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]personalQuery(nil), f.asked...)
}

func checkDeliveries(t *testing.T, got, want []lrs.Delivery) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("deliveries:\n got  %+v\n want %+v", got, want)
	}
}

// One delivery per (rule, target) match, with Target and Rule set and no
// PersonalKey; none for a statement no rule matches.
func TestRouterRoute(t *testing.T) {
	e := compileRouterRules(t,
		rules.Rule{Name: "completions", When: `verbIs("completed")`, Targets: []string{"archive", "webhook"}},
		rules.Rule{Name: "attempts", When: `verbIs("attempted")`, Targets: []string{"webhook"}},
		rules.Rule{Name: "passed", When: `verbIs("passed") && result.success`, Targets: []string{"lake"}},
	)
	r := NewRouter(e, &fakePersonal{}, nil, nil, nil)
	tests := []struct {
		name string
		stmt map[string]any
		want []lrs.Delivery
	}{
		{"one rule, two targets", routerStatement("completed", ann), []lrs.Delivery{
			{Target: "archive", Rule: "completions"},
			{Target: "webhook", Rule: "completions"},
		}},
		{"another rule", routerStatement("attempted", bob), []lrs.Delivery{
			{Target: "webhook", Rule: "attempts"},
		}},
		{"condition on the result", routerStatement("passed", carol, func(s map[string]any) {
			s["result"] = map[string]any{"success": true}
		}), []lrs.Delivery{
			{Target: "lake", Rule: "passed"},
		}},
		{"condition false", routerStatement("passed", carol, func(s map[string]any) {
			s["result"] = map[string]any{"success": false}
		}), nil},
		{"no rule matches", routerStatement("experienced", ann), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Route(1, tc.stmt)
			checkDeliveries(t, got, tc.want)
			for _, d := range got {
				if d.PersonalKey != "" {
					t.Errorf("delivery to %q has PersonalKey %q, want none", d.Target, d.PersonalKey)
				}
			}
			if all := r.RouteRule(1, tc.stmt, ""); !reflect.DeepEqual(all, got) {
				t.Errorf("RouteRule(\"\") = %+v, Route = %+v", all, got)
			}
		})
	}
}

// The "personal" target yields a delivery only for an actor with a
// personal LRS in the statement's store, keyed by the actor's agent key.
func TestRouterPersonal(t *testing.T) {
	e := compileRouterRules(t,
		rules.Rule{Name: "mine", Targets: []string{PersonalTarget, "archive"}}, // no `when`: every statement
	)
	archive := lrs.Delivery{Target: "archive", Rule: "mine"}
	personal := func(key string) lrs.Delivery {
		return lrs.Delivery{Target: PersonalTarget, Rule: "mine", PersonalKey: key}
	}
	tests := []struct {
		name  string
		store int64
		actor map[string]any
		want  []lrs.Delivery
		asked []personalQuery // nil: the lookup is not asked
	}{
		{"registered mbox", 1, ann, []lrs.Delivery{personal(annKey), archive}, []personalQuery{{1, annKey}}},
		{"registered account", 1, carol, []lrs.Delivery{personal(carolKey), archive}, []personalQuery{{1, carolKey}}},
		{"not registered", 1, bob, []lrs.Delivery{archive}, []personalQuery{{1, bobKey}}},
		{"registered in another store only", 3, ann, []lrs.Delivery{archive}, []personalQuery{{3, annKey}}},
		{"registered in that store", 3, bob, []lrs.Delivery{personal(bobKey), archive}, []personalQuery{{3, bobKey}}},
		{"actor without an IFI", 1, anonymousGroup, []lrs.Delivery{archive}, nil},
		{"no actor", 1, nil, []lrs.Delivery{archive}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakePersonal{registered: map[int64][]string{1: {annKey, carolKey}, 3: {bobKey}}}
			r := NewRouter(e, f, nil, nil, nil)
			stmt := routerStatement("completed", tc.actor)
			if tc.actor == nil {
				delete(stmt, "actor")
			}
			checkDeliveries(t, r.Route(tc.store, stmt), tc.want)
			if got := f.queries(); !reflect.DeepEqual(got, tc.asked) {
				t.Errorf("lookup asked %+v, want %+v", got, tc.asked)
			}
		})
	}

	t.Run("nil lookup", func(t *testing.T) {
		r := NewRouter(e, nil, nil, nil, nil)
		for _, actor := range []map[string]any{ann, bob, carol} {
			checkDeliveries(t, r.Route(1, routerStatement("completed", actor)), []lrs.Delivery{archive})
		}
	})
}

// RouteRule keeps only the named rule's deliveries; "" keeps every rule's.
func TestRouterRouteRule(t *testing.T) {
	e := compileRouterRules(t,
		rules.Rule{Name: "r1", When: `verbIs("completed")`, Targets: []string{"archive"}},
		rules.Rule{Name: "r2", When: `verbIs("completed")`, Targets: []string{"webhook", "lake"}},
		rules.Rule{Name: "r3", When: `verbIs("completed")`, Targets: []string{PersonalTarget}},
		rules.Rule{Name: "r4", When: `verbIs("attempted")`, Targets: []string{"lake"}},
	)
	r := NewRouter(e, &fakePersonal{registered: map[int64][]string{1: {annKey}}}, nil, nil, nil)
	stmt := routerStatement("completed", ann)
	tests := []struct {
		only string
		want []lrs.Delivery
	}{
		{"r1", []lrs.Delivery{{Target: "archive", Rule: "r1"}}},
		{"r2", []lrs.Delivery{{Target: "webhook", Rule: "r2"}, {Target: "lake", Rule: "r2"}}},
		{"r3", []lrs.Delivery{{Target: PersonalTarget, Rule: "r3", PersonalKey: annKey}}},
		{"r4", nil}, // does not match this statement
		{"no-such-rule", nil},
		{"", []lrs.Delivery{
			{Target: "archive", Rule: "r1"},
			{Target: "webhook", Rule: "r2"},
			{Target: "lake", Rule: "r2"},
			{Target: PersonalTarget, Rule: "r3", PersonalKey: annKey},
		}},
	}
	for _, tc := range tests {
		name := tc.only
		if name == "" {
			name = "every rule"
		}
		t.Run(name, func(t *testing.T) {
			checkDeliveries(t, r.RouteRule(1, stmt, tc.only), tc.want)
		})
	}
}

// Rules lists the rules in config order.
func TestRouterRules(t *testing.T) {
	e := compileRouterRules(t,
		rules.Rule{Name: "b", Targets: []string{"archive"}},
		rules.Rule{Name: "a", Targets: []string{"webhook"}},
	)
	if got, want := NewRouter(e, nil, nil, nil, nil).Rules(), []string{"b", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Rules() = %q, want %q", got, want)
	}
}

func woken(c chan struct{}) bool {
	select {
	case <-c:
		return true
	case <-time.After(100 * time.Millisecond):
		return false
	}
}

// Routed wakes every worker of the dispatcher; Route itself does not (it
// runs inside the statement's transaction, before the deliveries commit).
func TestRouterRoutedWakesDispatcher(t *testing.T) {
	e := compileRouterRules(t, rules.Rule{Name: "all", Targets: []string{"archive"}})
	d := &Dispatcher{}
	w1, w2 := d.waker(), d.waker() // as Run's workers register
	r := NewRouter(e, nil, d, nil, nil)

	if got := r.Route(1, routerStatement("completed", ann)); len(got) != 1 {
		t.Fatalf("Route = %+v, want one delivery", got)
	}
	if woken(w1) || woken(w2) {
		t.Fatal("Route woke the dispatcher; only Routed should")
	}

	r.Routed()
	if !woken(w1) || !woken(w2) {
		t.Fatal("Routed did not wake every waiter")
	}

	// Wake-ups do not block when a worker has not consumed the last one,
	// and pending ones coalesce into one.
	done := make(chan struct{})
	go func() {
		r.Routed()
		r.Routed()
		r.Routed()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Routed blocked on a worker that is busy")
	}
	if !woken(w1) {
		t.Fatal("no wake-up pending after Routed")
	}
	if woken(w1) {
		t.Error("more than one wake-up pending: they should coalesce")
	}
}

func TestRouterRoutedNilDispatcher(t *testing.T) {
	e := compileRouterRules(t, rules.Rule{Name: "all", Targets: []string{"archive"}})
	NewRouter(e, nil, nil, nil, nil).Routed() // must not panic
}

// Rules that name stores see store 1 as "default", in `stores` and in the
// `store` variable of expressions, also without a store list.
func TestRouterStoreNames(t *testing.T) {
	e := compileRouterRules(t,
		rules.Rule{Name: "default-only", Stores: []string{"default"}, Targets: []string{"archive"}},
		rules.Rule{Name: "elsewhere", Stores: []string{"moodle"}, Targets: []string{"webhook"}},
		rules.Rule{Name: "by-expression", When: `store == "default"`, Targets: []string{"lake"}},
		rules.Rule{Name: "not-default", When: `store != "default"`, Targets: []string{PersonalTarget}},
	)
	f := &fakePersonal{registered: map[int64][]string{1: {annKey}}}
	r := NewRouter(e, f, nil, nil, nil)
	got := r.Route(1, routerStatement("completed", ann))
	checkDeliveries(t, got, []lrs.Delivery{
		{Target: "archive", Rule: "default-only"},
		{Target: "lake", Rule: "by-expression"},
	})
	if q := f.queries(); len(q) != 0 {
		t.Errorf("personal lookup asked %+v; the personal rule should not have matched", q)
	}
}

// A rule failing at run time on a statement is logged and does not match;
// the other rules still route it, even to the failing rule's target.
func TestRouterRuleRuntimeError(t *testing.T) {
	const ext = "http://example.org/extensions/attempts"
	e := compileRouterRules(t,
		// Comparing a missing extension (nil) with a number is a run-time error.
		rules.Rule{Name: "broken", When: fmt.Sprintf(`extension(context.extensions, %q) > 5`, ext), Targets: []string{"archive"}},
		rules.Rule{Name: "ok", When: `verbIs("completed")`, Targets: []string{"webhook"}},
		rules.Rule{Name: "also-archive", When: `verbIs("completed")`, Targets: []string{"archive"}},
	)
	withExt := func(v any) func(map[string]any) {
		return func(s map[string]any) {
			s["context"] = map[string]any{"extensions": map[string]any{ext: v}}
		}
	}
	tests := []struct {
		name   string
		stmt   map[string]any
		want   []lrs.Delivery
		logged bool
	}{
		{"extension missing", routerStatement("completed", ann), []lrs.Delivery{
			{Target: "webhook", Rule: "ok"},
			{Target: "archive", Rule: "also-archive"},
		}, true},
		{"extension present", routerStatement("completed", ann, withExt(7)), []lrs.Delivery{
			{Target: "archive", Rule: "broken"},
			{Target: "webhook", Rule: "ok"},
		}, false},
		{"extension present, false", routerStatement("completed", ann, withExt(2)), []lrs.Delivery{
			{Target: "webhook", Rule: "ok"},
			{Target: "archive", Rule: "also-archive"},
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := NewRouter(e, nil, nil, nil, slog.New(slog.NewTextHandler(&buf, nil)))
			checkDeliveries(t, r.Route(1, tc.stmt), tc.want)
			log := buf.String()
			if !tc.logged {
				if log != "" {
					t.Errorf("unexpected log: %s", log)
				}
				return
			}
			for _, want := range []string{"level=WARN", "a rule failed on a statement", `rule \"broken\"`, tc.stmt["id"].(string)} {
				if !strings.Contains(log, want) {
					t.Errorf("log %q does not contain %q", log, want)
				}
			}
			if strings.Contains(log, `rule \"ok\"`) || strings.Contains(log, `rule \"also-archive\"`) {
				t.Errorf("log blames a rule that did not fail: %s", log)
			}
		})
	}
}

// Backfill refuses a rule that is not configured before it touches the
// outbox (nil here) and does not wake the dispatcher.
func TestRouterAdminBackfillUnknownRule(t *testing.T) {
	e := compileRouterRules(t,
		rules.Rule{Name: "completions", When: `verbIs("completed")`, Targets: []string{"archive"}},
	)
	tests := []struct {
		name   string
		router *Router
		rule   string
	}{
		{"unknown rule", NewRouter(e, nil, nil, nil, nil), "completion"},
		{"empty rule name", NewRouter(e, nil, nil, nil, nil), ""}, // "" would mean every rule to RouteRule
		{"no router", nil, "completions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Dispatcher{}
			w := d.waker()
			a := &Admin{Router: tc.router, Dispatcher: d} // no Outbox: it must not be used
			n, err := a.Backfill(context.Background(), 1, tc.rule, time.Now().Add(-time.Hour))
			if err == nil {
				t.Fatalf("Backfill(%q) = %d, nil; want an error", tc.rule, n)
			}
			if n != 0 {
				t.Errorf("Backfill(%q) = %d, want 0", tc.rule, n)
			}
			if code := lrs.ErrorCode(err); code != lrs.EINVALID {
				t.Errorf("ErrorCode = %q, want %q (err: %v)", code, lrs.EINVALID, err)
			}
			if want := fmt.Sprintf("%q", tc.rule); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name the rule %s", err, want)
			}
			if woken(w) {
				t.Error("a refused back-fill woke the dispatcher")
			}
		})
	}
}

// fakeStores is a StoreRefs whose stores can change between calls.
type fakeStores struct {
	mu    sync.Mutex
	refs  map[int64]string
	calls int
}

func (f *fakeStores) StoreRefs(context.Context) (map[int64]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return maps.Clone(f.refs), nil
}

func (f *fakeStores) add(id int64, ref string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refs[id] = ref
}

// Rules see a store by its name ("moodle" in the default organisation,
// "org/name" in others), not its id (issue 14: a rule with stores: [moodle]
// matched nothing, since the router gave rules the id "2"); a store created
// after the router was built is named as soon as a statement comes from it.
func TestRouterStoreNamesFromStores(t *testing.T) {
	e := compileRouterRules(t,
		rules.Rule{Name: "moodle-only", Stores: []string{"moodle"}, Targets: []string{"archive"}},
		rules.Rule{Name: "acme-hr", When: `store == "acme/hr"`, Targets: []string{"webhook"}},
		rules.Rule{Name: "new-store", Stores: []string{"later"}, Targets: []string{"lake"}},
	)
	stores := &fakeStores{refs: map[int64]string{1: "default", 2: "moodle", 3: "acme/hr"}}
	r := NewRouter(e, nil, nil, stores, nil)
	checkDeliveries(t, r.Route(2, routerStatement("completed", ann)), []lrs.Delivery{{Target: "archive", Rule: "moodle-only"}})
	checkDeliveries(t, r.Route(3, routerStatement("completed", ann)), []lrs.Delivery{{Target: "webhook", Rule: "acme-hr"}})
	checkDeliveries(t, r.Route(1, routerStatement("completed", ann)), nil)
	stores.add(4, "later")
	checkDeliveries(t, r.Route(4, routerStatement("completed", ann)), []lrs.Delivery{{Target: "lake", Rule: "new-store"}})
	// Known stores are read from the cache, not the database, per statement.
	calls := stores.calls
	for range 100 {
		r.Route(2, routerStatement("completed", ann))
	}
	if stores.calls != calls {
		t.Errorf("routing 100 statements of a known store read the store list %d times", stores.calls-calls)
	}
}

// A back-fill of a rule records its deliveries to every target it names,
// also to a target an earlier rule sends the same statement to: Match
// keeps the first matching rule per target, so filtering Match to the
// back-filled rule returned nothing for such a target (issue 14 review).
// Route, for live ingest, still sends the statement once per target.
func TestRouterRouteRuleSharedTarget(t *testing.T) {
	e := compileRouterRules(t,
		rules.Rule{Name: "old", When: `verbIs("completed")`, Targets: []string{"archive"}},
		rules.Rule{Name: "new", Targets: []string{"archive", "lake"}},
		rules.Rule{Name: "learners", Stores: []string{"moodle"}, Targets: []string{PersonalTarget}},
	)
	r := NewRouter(e, &fakePersonal{registered: map[int64][]string{1: {annKey}}}, nil, nil, nil)
	stmt := routerStatement("completed", ann)
	checkDeliveries(t, r.RouteRule(1, stmt, "new"), []lrs.Delivery{{Target: "archive", Rule: "new"}, {Target: "lake", Rule: "new"}})
	checkDeliveries(t, r.RouteRule(1, stmt, "old"), []lrs.Delivery{{Target: "archive", Rule: "old"}})
	checkDeliveries(t, r.Route(1, stmt), []lrs.Delivery{{Target: "archive", Rule: "old"}, {Target: "lake", Rule: "new"}})
	// The rule alone still honours its stores and when.
	checkDeliveries(t, r.RouteRule(1, stmt, "learners"), nil)
	checkDeliveries(t, r.RouteRule(1, routerStatement("attempted", ann), "old"), nil)
	checkDeliveries(t, r.RouteRule(1, stmt, "no-such-rule"), nil)
}
