package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
	"github.com/xapibridge/bridge/rules"
)

// Router turns rule matches into outbox deliveries: it is the lrs.Router
// the statement service asks, inside ingest, where each statement goes.
// The store writes the deliveries it returns to the outbox in the
// statement's transaction; Routed then wakes the dispatcher.
type Router struct {
	rules      *rules.Engine
	personal   PersonalLookup
	dispatcher *Dispatcher
	names      *storeNames
	log        *slog.Logger
	warns      ruleWarnings
}

// StoreRefs lists the stores by the names rules give them (the store
// implements it): "name" in the default organisation, "org/name" in others.
type StoreRefs interface {
	StoreRefs(ctx context.Context) (map[int64]string, error)
}

// PersonalLookup says whether a learner (by agent key) has a personal LRS
// registered in a store (Personal implements it).
type PersonalLookup interface {
	Has(storeID int64, agentKey string) bool
}

// NewRouter routes with engine's rules. personal, when not nil, resolves
// the "personal" target: a match yields a delivery only when the actor has
// a personal LRS. d, when not nil, is woken after routed statements commit.
// stores names the stores for rules (`stores: [name]`, `store == "name"`);
// nil names store 1 "default" and the others by their id.
func NewRouter(engine *rules.Engine, personal PersonalLookup, d *Dispatcher, stores StoreRefs, log *slog.Logger) *Router {
	if log == nil {
		log = slog.Default()
	}
	if p, ok := personal.(*Personal); ok && p == nil {
		personal = nil // a nil *Personal would be a non-nil interface
	}
	return &Router{rules: engine, personal: personal, dispatcher: d, names: &storeNames{src: stores, log: log}, log: log}
}

// storeNames caches the store references rules see. Routing runs inside
// ingest, so it reads a map; the map is reloaded when a statement comes
// from a store it does not know (created since) and at most every
// storeNamesTTL otherwise (a rename).
type storeNames struct {
	src StoreRefs
	log *slog.Logger

	mu     sync.RWMutex
	names  map[int64]string
	loaded time.Time
}

const storeNamesTTL = 10 * time.Second

func (s *storeNames) name(id int64) string {
	s.mu.RLock()
	n, ok := s.names[id]
	fresh := time.Since(s.loaded) < storeNamesTTL
	s.mu.RUnlock()
	if s.src != nil && (!ok || !fresh) {
		if refs, err := s.reload(!ok); err != nil {
			s.log.Warn("reading store names for rules", "error", err)
		} else if r, found := refs[id]; found {
			n, ok = r, true
		}
	}
	if ok {
		return n
	}
	if id == 1 {
		return "default"
	}
	return strconv.FormatInt(id, 10)
}

// reload reads the store list again, unless (for an expired list, not a
// missing store) another caller just did. Credentials exist only for stores
// that exist, so a missing store is one created since the last read.
func (s *storeNames) reload(missing bool) (map[int64]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !missing && time.Since(s.loaded) < storeNamesTTL && s.names != nil {
		return s.names, nil // another caller just reloaded
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	refs, err := s.src.StoreRefs(ctx)
	if err != nil {
		return nil, err
	}
	s.names, s.loaded = refs, time.Now()
	return refs, nil
}

// Route implements lrs.Router.
func (r *Router) Route(storeID int64, stmt map[string]any) []lrs.Delivery {
	return r.RouteRule(storeID, stmt, "")
}

// Routed implements lrs.Router: it wakes the dispatcher.
func (r *Router) Routed() {
	if r.dispatcher != nil {
		r.dispatcher.Wake()
	}
}

// RouteRule is Route restricted to the rule named only (every rule when
// only is empty), for back-fills. The rule is evaluated alone
// (rules.Engine.MatchRule): Match keeps the first matching rule per
// target, so filtering its result to a later rule would lose the targets
// an earlier rule shares with it.
func (r *Router) RouteRule(storeID int64, stmt map[string]any, only string) []lrs.Delivery {
	var matches []rules.Match
	var err error
	if only == "" {
		matches, err = r.rules.Match(r.names.name(storeID), stmt)
	} else {
		matches, err = r.rules.MatchRule(r.names.name(storeID), stmt, only)
	}
	if err != nil {
		r.warnRuleErrors(stmt, err)
	}
	var out []lrs.Delivery
	for _, m := range matches {
		if m.Target != PersonalTarget {
			out = append(out, lrs.Delivery{Target: m.Target, Rule: m.Rule})
			continue
		}
		if d, ok := r.personalDelivery(storeID, stmt, m); ok {
			out = append(out, d)
		}
	}
	return out
}

// warnRuleErrors logs the rules that failed on stmt (err is what Match or
// MatchRule returned), each rule rate-limited on its own: a rule that
// fails on every statement (a `when` that overruns its budget, or reads a
// missing property) is logged on its first failure and then at most once
// per ruleWarnInterval, with the number of failures not logged since.
func (r *Router) warnRuleErrors(stmt map[string]any, err error) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok { // errors.Join, one per rule
		errs = j.Unwrap()
	}
	for _, e := range errs {
		rule := ""
		var re *rules.RuleError
		if errors.As(e, &re) {
			rule = re.Rule
		}
		ok, suppressed := r.warns.admit(rule)
		if !ok {
			continue
		}
		attrs := []any{"rule", rule, "statement", stmt["id"], "error", e}
		if suppressed > 0 {
			attrs = append(attrs, "suppressed", suppressed)
		}
		r.log.Warn("a rule failed on a statement", attrs...)
	}
}

// ruleWarnInterval is how often a rule that keeps failing is logged.
const ruleWarnInterval = time.Minute

// ruleWarnings rate-limits the warnings of failing rules, per rule name
// (a bounded set: the configured rules). The zero value is ready to use.
type ruleWarnings struct {
	now func() time.Time // nil: time.Now

	mu    sync.Mutex
	rules map[string]*ruleWarning
}

type ruleWarning struct {
	logged     time.Time // when the rule's last warning was logged
	suppressed int       // failures since then, not logged
}

// admit records a failure of rule and says whether to log it, and how
// many failures of rule were not logged since its last warning.
func (w *ruleWarnings) admit(rule string) (ok bool, suppressed int) {
	now := time.Now
	if w.now != nil {
		now = w.now
	}
	t := now()
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.rules[rule]
	if !ok {
		if w.rules == nil {
			w.rules = make(map[string]*ruleWarning)
		}
		w.rules[rule] = &ruleWarning{logged: t}
		return true, 0
	}
	if t.Sub(s.logged) < ruleWarnInterval {
		s.suppressed++
		return false, 0
	}
	suppressed = s.suppressed
	s.logged, s.suppressed = t, 0
	return true, suppressed
}

// Rules names the rules the router evaluates, in config order.
func (r *Router) Rules() []string { return r.rules.Rules() }

// personalDelivery is m's delivery to the personal target: to the personal
// LRS of the statement's actor, when the actor has one registered in the
// store and, when the lookup is also an AuthorityTrust (Personal is), the
// statement's authority may trigger personal forwarding (by default Moodle
// sources and credentials marked trusted; see AuthorityTrust).
func (r *Router) personalDelivery(storeID int64, stmt map[string]any, m rules.Match) (lrs.Delivery, bool) {
	if r.personal == nil {
		return lrs.Delivery{}, false
	}
	actor, _ := stmt["actor"].(map[string]any)
	key, ok := xapi.AgentKey(actor)
	if !ok || !r.personal.Has(storeID, key) {
		return lrs.Delivery{}, false
	}
	if trust, ok := r.personal.(AuthorityTrust); ok {
		authority, _ := stmt["authority"].(map[string]any)
		if !trust.MayForwardPersonal(authority) {
			return lrs.Delivery{}, false
		}
	}
	return lrs.Delivery{Target: m.Target, Rule: m.Rule, PersonalKey: key}, true
}
