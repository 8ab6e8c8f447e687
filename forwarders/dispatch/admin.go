package dispatch

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"time"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Admin is what operators do with forwarding, for the admin API and the
// CLI alike.
type Admin struct {
	Outbox   lrs.Outbox
	Store    lrs.PersonalStore
	Personal *Personal // may be nil in the CLI; then Sealer must be set
	Sealer   *Sealer
	// Router evaluates the rules for back-fills.
	Router   *Router
	Breakers map[string]*forwarders.Breaker
	// Dispatcher, when set (in `bridge serve`), is woken after a replay or
	// a back-fill.
	Dispatcher *Dispatcher
}

func (a *Admin) wake() {
	if a.Dispatcher != nil {
		a.Dispatcher.Wake()
	}
}

// TargetStatus is one target's queue and breaker.
type TargetStatus struct {
	Target  string `json:"target"`
	Pending int64  `json:"pending"`
	Dead    int64  `json:"dead"`
	Breaker string `json:"breaker,omitempty"`
}

// Status lists every configured target and any target that still has
// deliveries.
func (a *Admin) Status(ctx context.Context) ([]TargetStatus, error) {
	stats, err := a.Outbox.OutboxStats(ctx)
	if err != nil {
		return nil, err
	}
	var out []TargetStatus
	seen := map[string]bool{}
	for _, s := range stats {
		seen[s.Target] = true
		out = append(out, TargetStatus{Target: s.Target, Pending: s.Pending, Dead: s.Dead})
	}
	for name := range a.Breakers {
		if !seen[name] {
			out = append(out, TargetStatus{Target: name})
		}
	}
	for i := range out {
		if b, ok := a.Breakers[out[i].Target]; ok {
			out[i].Breaker = b.State()
		}
	}
	return out, nil
}

// DeadLetter is a dead delivery as operators see it.
type DeadLetter struct {
	ID          int64           `json:"id"`
	Target      string          `json:"target"`
	Rule        string          `json:"rule"`
	PersonalKey string          `json:"personal_agent,omitempty"`
	StatementID string          `json:"statement_id"`
	Attempts    int             `json:"attempts"`
	Stored      time.Time       `json:"stored"`
	LastStatus  int             `json:"last_status,omitempty"`
	LastError   string          `json:"last_error"`
	Statement   json.RawMessage `json:"statement,omitempty"`
}

// Dead lists dead letters.
func (a *Admin) Dead(ctx context.Context, f lrs.DeadFilter, withStatements bool) ([]DeadLetter, error) {
	items, err := a.Outbox.ListDead(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(items))
	for _, it := range items {
		d := DeadLetter{ID: it.ID, Target: it.Target, Rule: it.Rule, PersonalKey: it.PersonalKey, StatementID: it.StatementID,
			Attempts: it.Attempts, Stored: it.CreatedAt, LastStatus: it.LastStatus, LastError: it.LastError}
		if withStatements {
			d.Statement = it.Statement
		}
		out = append(out, d)
	}
	return out, nil
}

// Replay makes dead letters pending again.
func (a *Admin) Replay(ctx context.Context, f lrs.DeadFilter) (int64, error) {
	n, err := a.Outbox.ReplayDead(ctx, f, time.Now())
	a.wake()
	return n, err
}

// Discard deletes dead letters.
func (a *Admin) Discard(ctx context.Context, f lrs.DeadFilter) (int64, error) {
	return a.Outbox.DiscardDead(ctx, f)
}

// Backfill runs one rule over the statements of a store stored since a time
// and records the deliveries it chooses, then wakes the dispatcher.
func (a *Admin) Backfill(ctx context.Context, storeID int64, rule string, since time.Time) (int64, error) {
	if a.Router == nil || !slices.Contains(a.Router.Rules(), rule) {
		return 0, lrs.Errorf(lrs.EINVALID, "rule: no rule named %q in the config", rule)
	}
	n, err := a.Outbox.Backfill(ctx, storeID, since, func(stmt map[string]any) []lrs.Delivery {
		return a.Router.RouteRule(storeID, stmt, rule)
	})
	if err == nil {
		a.wake()
	}
	return n, err
}

// PersonalRegistration is a request to register a learner's personal LRS.
type PersonalRegistration struct {
	Agent    map[string]any `json:"agent"`
	Endpoint string         `json:"endpoint"`
	Version  string         `json:"version"`
	PersonalCredentials
}

// PersonalView is a registration without its credentials.
type PersonalView struct {
	StoreID  int64           `json:"store_id"`
	AgentKey string          `json:"agent_key"`
	Agent    json.RawMessage `json:"agent"`
	Endpoint string          `json:"endpoint"`
	Version  string          `json:"version"`
	Created  time.Time       `json:"created"`
}

// RegisterPersonal validates and stores a registration (replacing an
// earlier one for the same learner). Credentials are encrypted.
func (a *Admin) RegisterPersonal(ctx context.Context, storeID int64, r PersonalRegistration) (*PersonalView, error) {
	if r.Agent == nil {
		return nil, lrs.Errorf(lrs.EINVALID, "agent: required (the learner's xAPI Agent)")
	}
	if err := xapi.ValidateAgentParam(r.Agent, xapi.V200); err != nil {
		return nil, lrs.Errorf(lrs.EINVALID, "agent: %v", err)
	}
	key, ok := xapi.AgentKey(r.Agent)
	if !ok {
		return nil, lrs.Errorf(lrs.EINVALID, "agent: must have an mbox, mbox_sha1sum, openid or account")
	}
	u, err := url.Parse(r.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, lrs.Errorf(lrs.EINVALID, "endpoint: must be an http(s) URL such as https://my-lrs.example/xapi, got %q", r.Endpoint)
	}
	if r.Version == "" {
		r.Version = "1.0.3"
	}
	if r.Version != "1.0.3" && r.Version != "2.0.0" {
		return nil, lrs.Errorf(lrs.EINVALID, "version: must be 1.0.3 or 2.0.0, got %q", r.Version)
	}
	if r.Token != "" && (r.Username != "" || r.Password != "") {
		return nil, lrs.Errorf(lrs.EINVALID, "token: use either username/password or token, not both")
	}
	plain, _ := json.Marshal(r.PersonalCredentials)
	agent, _ := json.Marshal(r.Agent)
	p := &lrs.PersonalLRS{StoreID: storeID, AgentKey: key, Agent: agent, Endpoint: r.Endpoint, Version: r.Version,
		Credentials: a.sealer().Seal(plain), CreatedAt: time.Now().UTC()}
	if err := a.Store.PutPersonalLRS(ctx, p); err != nil {
		return nil, err
	}
	if a.Personal != nil {
		a.Personal.Refresh(ctx)
	}
	return view(p), nil
}

func (a *Admin) sealer() *Sealer {
	if a.Personal != nil {
		return a.Personal.Sealer
	}
	return a.Sealer
}

func view(p *lrs.PersonalLRS) *PersonalView {
	return &PersonalView{StoreID: p.StoreID, AgentKey: p.AgentKey, Agent: p.Agent, Endpoint: p.Endpoint, Version: p.Version, Created: p.CreatedAt}
}

// ListPersonal lists registrations (storeID 0: all stores).
func (a *Admin) ListPersonal(ctx context.Context, storeID int64) ([]*PersonalView, error) {
	all, err := a.Store.ListPersonalLRS(ctx, storeID)
	if err != nil {
		return nil, err
	}
	out := make([]*PersonalView, 0, len(all))
	for _, p := range all {
		out = append(out, view(p))
	}
	return out, nil
}

// DeletePersonal removes the registration of agent.
func (a *Admin) DeletePersonal(ctx context.Context, storeID int64, agent map[string]any) error {
	key, ok := xapi.AgentKey(agent)
	if !ok {
		return lrs.Errorf(lrs.EINVALID, "agent: must have an mbox, mbox_sha1sum, openid or account")
	}
	if _, err := a.Store.GetPersonalLRS(ctx, storeID, key); err != nil {
		return err
	}
	if err := a.Store.DeletePersonalLRS(ctx, storeID, key); err != nil {
		return err
	}
	if a.Personal != nil {
		a.Personal.Refresh(ctx)
	}
	return nil
}
