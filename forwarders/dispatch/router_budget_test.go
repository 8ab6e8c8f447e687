package dispatch

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/rules"
)

// warnLog captures the router's warnings, one text record per line.
type warnLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *warnLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// take returns the lines logged since the last call.
func (w *warnLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := strings.TrimSpace(w.buf.String())
	w.buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// fakeClock is the router's warning clock in these tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// budgetRouter routes with a rule that overruns its budget on every
// statement ("greedy": 100 steps, budget 10), one that fails on every
// statement without an extension ("broken"), and one that works ("ok").
func budgetRouter(t *testing.T) (*Router, *warnLog, *fakeClock) {
	t.Helper()
	e, err := rules.Compile([]rules.Rule{
		{Name: "greedy", When: `any(1..100, # == 0)`, Targets: []string{"lake"}},
		{Name: "broken", When: `extension(context.extensions, "http://example.org/x") > 5`, Targets: []string{"archive"}},
		{Name: "ok", When: `verbIs("completed")`, Targets: []string{"webhook"}},
	}, routerTargets, "", rules.WithBudget(10))
	if err != nil {
		t.Fatal(err)
	}
	log := &warnLog{}
	r := NewRouter(e, nil, nil, nil, slog.New(slog.NewTextHandler(log, nil)))
	clock := &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	r.warns.now = clock.now
	return r, log, clock
}

// A rule that fails on every statement is logged on its first failure,
// then at most once a minute with the number of failures not logged; each
// rule has its own limit, and routing is unaffected.
func TestRouterRuleWarningsRateLimited(t *testing.T) {
	r, log, clock := budgetRouter(t)
	route := func(n int) (last map[string]any) {
		for i := 0; i < n; i++ {
			last = routerStatement("completed", ann)
			checkDeliveries(t, r.Route(1, last), []lrs.Delivery{{Target: "webhook", Rule: "ok"}})
		}
		return last
	}
	first := route(1)
	lines := log.take()
	if len(lines) != 2 {
		t.Fatalf("first statement: logged %d lines, want one per failing rule:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, want := range [][]string{
		{"level=WARN", `msg="a rule failed on a statement"`, "rule=greedy", "statement=" + first["id"].(string),
			fmt.Sprintf("overran its budget of 10 steps on statement %s", first["id"])},
		{"level=WARN", "rule=broken", "statement=" + first["id"].(string), `rule \"broken\"`},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %q does not contain %q", lines[i], w)
			}
		}
		if strings.Contains(lines[i], "suppressed") {
			t.Errorf("first warning reports suppressed failures: %s", lines[i])
		}
	}

	route(999)
	clock.advance(59 * time.Second)
	route(100)
	if lines := log.take(); len(lines) != 0 {
		t.Fatalf("within a minute of the first warning: logged %d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}

	clock.advance(time.Second)
	later := route(1)
	lines = log.take()
	if len(lines) != 2 {
		t.Fatalf("a minute later: logged %d lines, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, rule := range []string{"greedy", "broken"} {
		for _, w := range []string{"rule=" + rule, "statement=" + later["id"].(string), "suppressed=1099"} {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %q does not contain %q", lines[i], w)
			}
		}
	}
	route(5)
	if lines := log.take(); len(lines) != 0 {
		t.Errorf("right after the minute's warning: logged %d lines", len(lines))
	}
}

// A rule that starts failing is logged at once, whatever the other rules
// did; back-fills (RouteRule) share the limits.
func TestRouterRuleWarningsPerRule(t *testing.T) {
	r, log, _ := budgetRouter(t)
	withExt := func(s map[string]any) {
		s["context"] = map[string]any{"extensions": map[string]any{"http://example.org/x": 7}}
	}
	// broken does not fail when the extension is there.
	for i := 0; i < 10; i++ {
		r.Route(1, routerStatement("completed", ann, withExt))
	}
	if lines := log.take(); len(lines) != 1 || !strings.Contains(lines[0], "rule=greedy") {
		t.Fatalf("logged %q, want greedy's first failure only", lines)
	}
	s := routerStatement("completed", ann)
	r.Route(1, s)
	if lines := log.take(); len(lines) != 1 || !strings.Contains(lines[0], "rule=broken") || !strings.Contains(lines[0], "statement="+s["id"].(string)) {
		t.Fatalf("logged %q, want broken's first failure", lines)
	}
	for i := 0; i < 3; i++ {
		checkDeliveries(t, r.RouteRule(1, routerStatement("completed", ann), "greedy"), nil)
		checkDeliveries(t, r.RouteRule(1, routerStatement("completed", ann), "ok"), []lrs.Delivery{{Target: "webhook", Rule: "ok"}})
	}
	if lines := log.take(); len(lines) != 0 {
		t.Errorf("back-fill logged %q within the minute", lines)
	}
}

// Concurrent routing shares the limits safely (go test -race) and logs
// each rule once within the minute.
func TestRouterRuleWarningsConcurrent(t *testing.T) {
	r, log, _ := budgetRouter(t)
	stmts := make([]map[string]any, 400)
	for i := range stmts {
		stmts[i] = routerStatement("completed", ann)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < len(stmts); i += 4 {
				r.Route(1, stmts[i])
			}
		}(g)
	}
	wg.Wait()
	if lines := log.take(); len(lines) != 2 {
		t.Errorf("logged %d lines, want 2 (greedy, broken):\n%s", len(lines), strings.Join(lines, "\n"))
	}
}
