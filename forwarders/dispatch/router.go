package dispatch

import (
	"fmt"
	"log/slog"

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
	log        *slog.Logger
}

// PersonalLookup says whether a learner (by agent key) has a personal LRS
// registered in a store (Personal implements it).
type PersonalLookup interface {
	Has(storeID int64, agentKey string) bool
}

// NewRouter routes with engine's rules. personal, when not nil, resolves
// the "personal" target: a match yields a delivery only when the actor has
// a personal LRS. d, when not nil, is woken after routed statements commit.
func NewRouter(engine *rules.Engine, personal PersonalLookup, d *Dispatcher, log *slog.Logger) *Router {
	if log == nil {
		log = slog.Default()
	}
	return &Router{rules: engine, personal: personal, dispatcher: d, log: log}
}

// storeName names a store for rules. Until stores can be created (admin
// API) every credential writes to store 1, "default".
func storeName(id int64) string {
	if id == 1 {
		return "default"
	}
	return fmt.Sprint(id)
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
// only is empty), for back-fills.
func (r *Router) RouteRule(storeID int64, stmt map[string]any, only string) []lrs.Delivery {
	matches, err := r.rules.Match(storeName(storeID), stmt)
	if err != nil {
		r.log.Warn("a rule failed on a statement", "statement", stmt["id"], "error", err)
	}
	var out []lrs.Delivery
	for _, m := range matches {
		if only != "" && m.Rule != only {
			continue
		}
		if m.Target != PersonalTarget {
			out = append(out, lrs.Delivery{Target: m.Target, Rule: m.Rule})
			continue
		}
		actor, _ := stmt["actor"].(map[string]any)
		key, ok := xapi.AgentKey(actor)
		if ok && r.personal != nil && r.personal.Has(storeID, key) {
			out = append(out, lrs.Delivery{Target: m.Target, Rule: m.Rule, PersonalKey: key})
		}
	}
	return out
}

// Rules names the rules the router evaluates, in config order.
func (r *Router) Rules() []string { return r.rules.Rules() }
