package dispatch

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Admin is what operators do with forwarding, for the admin API and the
// CLI alike.
type Admin struct {
	Outbox lrs.Outbox
	Store  lrs.PersonalStore
	// Stores looks the store of a registration up: RegisterPersonal refuses
	// a store that does not exist. Default: Store, when it is a StoreGetter
	// (the database is).
	Stores   StoreGetter
	Personal *Personal // may be nil in the CLI; then Sealer must be set
	Sealer   *Sealer
	// Router evaluates the rules for back-fills.
	Router *Router
	// Targets names the configured targets in config order (default: the
	// names of Breakers); "personal" is always known.
	Targets  []string
	Breakers map[string]*forwarders.Breaker
	// Health, when set, is what the serving bridges recorded about each
	// target: Status shows it (and the breakers' states from it when this
	// process does not dispatch, as in the CLI).
	Health lrs.TargetHealthStore
	// Dispatcher, when set, is woken after a replay or a back-fill; while
	// it runs (in `bridge serve`), Status shows its breakers' own states.
	Dispatcher *Dispatcher
	// Client makes CheckPersonal's requests (default: a 10s timeout, no
	// redirects followed).
	Client *http.Client
}

// StoreGetter reads a store by id (ENOTFOUND when there is none).
type StoreGetter interface {
	GetStore(ctx context.Context, id int64) (*lrs.Store, error)
}

// checkStore fails unless the store exists (when there is a way to look
// it up).
func (a *Admin) checkStore(ctx context.Context, storeID int64) error {
	if storeID <= 0 {
		return lrs.Errorf(lrs.EINVALID, "store: %d is not a store id", storeID)
	}
	g := a.Stores
	if g == nil {
		g, _ = a.Store.(StoreGetter)
	}
	if g == nil {
		return nil
	}
	_, err := g.GetStore(ctx, storeID)
	return err
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
	// Breaker is "closed", "open" or "half-open"; empty for the personal
	// target (each personal LRS has its own) and for a target no longer in
	// the config.
	Breaker      string     `json:"breaker,omitempty"`
	BreakerSince *time.Time `json:"breaker_since,omitempty"`
	BreakerCause string     `json:"breaker_cause,omitempty"`
	// Retrying counts the pending deliveries that have failed at least once.
	Retrying int64 `json:"retrying"`
	// OldestPending is when the oldest pending delivery was recorded (its
	// statement stored, or replayed), and OldestPendingSeconds its age.
	OldestPending        *time.Time `json:"oldest_pending,omitempty"`
	OldestPendingSeconds float64    `json:"oldest_pending_seconds,omitempty"`
	// LastError is the error of the most recent failed attempt (through any
	// bridge sharing the database), LastStatus its HTTP status (0: no
	// answer), LastErrorAt when it failed.
	LastError   string     `json:"last_error,omitempty"`
	LastStatus  int        `json:"last_status,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// configured is the configured targets' names in config order, then
// "personal".
func (a *Admin) configured() []string {
	names := slices.Clone(a.Targets)
	if names == nil {
		names = slices.Sorted(maps.Keys(a.Breakers))
	}
	return append(names, PersonalTarget)
}

// Status lists every configured target, "personal", and any other target
// that still has deliveries (one removed from the config), in that order.
func (a *Admin) Status(ctx context.Context) ([]TargetStatus, error) {
	stats, err := a.Outbox.OutboxDetails(ctx)
	if err != nil {
		return nil, err
	}
	health := map[string]lrs.TargetHealth{}
	if a.Health != nil {
		hs, err := a.Health.TargetHealth(ctx)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			health[h.Target] = h
		}
	}
	byName := map[string]lrs.TargetStats{}
	names := a.configured()
	var others []string
	for _, st := range stats {
		byName[st.Target] = st
		if !slices.Contains(names, st.Target) {
			others = append(others, st.Target)
		}
	}
	slices.Sort(others)
	now := time.Now()
	live := a.Dispatcher != nil && a.Dispatcher.Running()
	out := make([]TargetStatus, 0, len(names)+len(others))
	for _, name := range append(names, others...) {
		st := byName[name]
		s := TargetStatus{Target: name, Pending: st.Pending, Dead: st.Dead, Retrying: st.Retrying}
		if !st.OldestPending.IsZero() {
			s.OldestPending = timePtr(st.OldestPending)
			s.OldestPendingSeconds = math.Round(max(now.Sub(st.OldestPending).Seconds(), 0)*1000) / 1000
		}
		h := health[name]
		if h.LastError != "" || !h.LastErrorAt.IsZero() {
			s.LastError, s.LastStatus = h.LastError, h.LastStatus
			s.LastErrorAt = timePtr(h.LastErrorAt)
		}
		if b, ok := a.Breakers[name]; ok {
			var info forwarders.BreakerInfo
			switch {
			case live:
				info = b.Info()
			case h.Breaker != "":
				info = recorded(h, b.OpenFor(), now)
			default: // no bridge has recorded a transition
				info = forwarders.BreakerInfo{State: forwarders.StateClosed}
			}
			s.Breaker, s.BreakerCause = info.State, info.Cause
			if !info.Since.IsZero() {
				s.BreakerSince = timePtr(info.Since)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// recorded is a breaker as a bridge recorded it: open until openFor has
// passed, then half-open, as Breaker.State reports it.
func recorded(h lrs.TargetHealth, openFor time.Duration, now time.Time) forwarders.BreakerInfo {
	if h.Breaker == forwarders.StateOpen && openFor > 0 && now.After(h.BreakerSince.Add(openFor)) {
		return forwarders.BreakerInfo{State: forwarders.StateHalfOpen, Since: h.BreakerSince.Add(openFor),
			Cause: "open for " + openFor.String() + ": the next delivery is the probe"}
	}
	return forwarders.BreakerInfo{State: h.Breaker, Since: h.BreakerSince, Cause: h.BreakerCause}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// checkTarget fails unless name is empty or names a target: a configured
// one, "personal", or one that still has deliveries (a target removed from
// the config keeps its dead letters until they are discarded). A typo must
// not look like a target with nothing dead.
func (a *Admin) checkTarget(ctx context.Context, name string) error {
	known := a.configured()
	if name == "" || slices.Contains(known, name) {
		return nil
	}
	stats, err := a.Outbox.OutboxStats(ctx)
	if err != nil {
		return err
	}
	for _, st := range stats {
		if st.Target == name {
			return nil
		}
		if !slices.Contains(known, st.Target) {
			known = append(known, st.Target)
		}
	}
	slices.Sort(known)
	return lrs.Errorf(lrs.EINVALID, "target: no target %q (the targets are %s)", name, strings.Join(known, ", "))
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

// Dead lists dead letters. A filter naming a target that does not exist is
// an error that lists the targets.
func (a *Admin) Dead(ctx context.Context, f lrs.DeadFilter, withStatements bool) ([]DeadLetter, error) {
	if err := a.checkTarget(ctx, f.Target); err != nil {
		return nil, err
	}
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

// Replay makes dead letters pending again (as Dead, a filter must name a
// target that exists).
func (a *Admin) Replay(ctx context.Context, f lrs.DeadFilter) (int64, error) {
	if err := a.checkTarget(ctx, f.Target); err != nil {
		return 0, err
	}
	n, err := a.Outbox.ReplayDead(ctx, f, time.Now())
	a.wake()
	return n, err
}

// Discard deletes dead letters (as Dead, a filter must name a target that
// exists).
func (a *Admin) Discard(ctx context.Context, f lrs.DeadFilter) (int64, error) {
	if err := a.checkTarget(ctx, f.Target); err != nil {
		return 0, err
	}
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

// PersonalView is a registration without its credentials (Endpoint without
// userinfo, query or fragment, were one stored before they were refused).
type PersonalView struct {
	StoreID  int64           `json:"store_id"`
	AgentKey string          `json:"agent_key"`
	Agent    json.RawMessage `json:"agent"`
	Endpoint string          `json:"endpoint"`
	Version  string          `json:"version"`
	Created  time.Time       `json:"created"`
}

// validatePersonal checks a registration (and defaults its version) and
// returns the learner's agent key.
func validatePersonal(r *PersonalRegistration) (string, error) {
	if r.Agent == nil {
		return "", lrs.Errorf(lrs.EINVALID, "agent: required (the learner's xAPI Agent)")
	}
	if err := xapi.ValidateAgentParam(r.Agent, xapi.V200); err != nil {
		return "", lrs.Errorf(lrs.EINVALID, "agent: %v", err)
	}
	key, ok := xapi.AgentKey(r.Agent)
	if !ok {
		return "", lrs.Errorf(lrs.EINVALID, "agent: must have an mbox, mbox_sha1sum, openid or account")
	}
	if err := checkPersonalEndpoint(r.Endpoint); err != nil {
		return "", err
	}
	if r.Version == "" {
		r.Version = "1.0.3"
	}
	if r.Version != "1.0.3" && r.Version != "2.0.0" {
		return "", lrs.Errorf(lrs.EINVALID, "version: must be 1.0.3 or 2.0.0, got %q", r.Version)
	}
	if r.Token != "" && (r.Username != "" || r.Password != "") {
		return "", lrs.Errorf(lrs.EINVALID, "token: use either username/password or token, not both")
	}
	if err := checkPersonalCredentials(r.PersonalCredentials); err != nil {
		return "", err
	}
	return key, nil
}

// checkPersonalEndpoint accepts an http(s) URL with a host and nothing that
// would carry a credential into logs, listings and error messages: no
// userinfo (user:password@), no query string and no fragment. The error
// never repeats the endpoint (it may hold a credential).
func checkPersonalEndpoint(endpoint string) error {
	const example = "an http(s) URL such as https://my-lrs.example/xapi"
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return lrs.Errorf(lrs.EINVALID, "endpoint: must be %s", example)
	case u.User != nil:
		return lrs.Errorf(lrs.EINVALID, "endpoint: must not contain a user name or password (user:password@): give them as username and password, or a token")
	case u.RawQuery != "" || u.ForceQuery:
		return lrs.Errorf(lrs.EINVALID, "endpoint: must not have a query string: it is the LRS's xAPI base URL (%s); credentials go in username and password, or token", example)
	case u.Fragment != "" || strings.Contains(endpoint, "#"):
		return lrs.Errorf(lrs.EINVALID, "endpoint: must not have a fragment (#...): it is the LRS's xAPI base URL (%s)", example)
	}
	return nil
}

// checkPersonalCredentials refuses credentials the forwarder could not send
// (forwarders.NewXAPI), so a registration cannot be accepted that would
// fail at each delivery: a ':' in a Basic user name (it separates the user
// name from the password), control characters (line breaks would split
// the Authorization header), a password without a user name. The error
// names the field, never its value.
func checkPersonalCredentials(c PersonalCredentials) error {
	if strings.Contains(c.Username, ":") {
		return lrs.Errorf(lrs.EINVALID, "username: must not contain ':' (Basic authentication separates the user name from the password with it)")
	}
	for _, f := range []struct{ name, value string }{{"username", c.Username}, {"password", c.Password}, {"token", c.Token}} {
		if strings.ContainsFunc(f.value, unicode.IsControl) {
			return lrs.Errorf(lrs.EINVALID, "%s: must not contain control characters (line breaks, tabs, NUL...)", f.name)
		}
		if !utf8.ValidString(f.value) {
			return lrs.Errorf(lrs.EINVALID, "%s: must be valid UTF-8", f.name)
		}
	}
	if c.Password != "" && c.Username == "" {
		return lrs.Errorf(lrs.EINVALID, "username: required with a password")
	}
	return nil
}

// PublicEndpoint is endpoint as it may be shown and logged: without
// userinfo, query or fragment (registrations are refused with them now;
// one stored before may have them).
func PublicEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "(an endpoint that is not a URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// CheckPersonal validates a registration as RegisterPersonal does, then
// checks that the personal LRS answers xAPI's About and takes the
// credentials (CheckPersonalLRS), without storing anything.
func (a *Admin) CheckPersonal(ctx context.Context, r PersonalRegistration) error {
	if _, err := validatePersonal(&r); err != nil {
		return err
	}
	return CheckPersonalLRS(ctx, a.Client, r.Endpoint, r.Version, r.PersonalCredentials)
}

// RegisterPersonal validates and stores a registration (replacing an
// earlier one for the same learner). Credentials are encrypted. It does not
// contact the LRS: CheckPersonal does.
func (a *Admin) RegisterPersonal(ctx context.Context, storeID int64, r PersonalRegistration) (*PersonalView, error) {
	key, err := validatePersonal(&r)
	if err != nil {
		return nil, err
	}
	if err := a.checkStore(ctx, storeID); err != nil {
		return nil, err
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
	return &PersonalView{StoreID: p.StoreID, AgentKey: p.AgentKey, Agent: p.Agent, Endpoint: PublicEndpoint(p.Endpoint), Version: p.Version, Created: p.CreatedAt}
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
