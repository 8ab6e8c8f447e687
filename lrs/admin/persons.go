package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// maxAgentKey is the longest agent key person_agents holds.
const maxAgentKey = 512

// PersonAgents validates agents (each an Agent or Identified Group with
// exactly one IFI, as JSON) and returns them keyed by IFI. field names the
// list in error messages ("agents").
func PersonAgents(field string, agents []json.RawMessage) ([]lrs.PersonAgent, error) {
	if len(agents) == 0 {
		return nil, lrs.Errorf(lrs.EINVALID, "%s: give at least one agent, e.g. {\"mbox\":\"mailto:ann@example.org\"}", field)
	}
	out := make([]lrs.PersonAgent, 0, len(agents))
	for i, raw := range agents {
		path := fmt.Sprintf("%s[%d]", field, i)
		v, err := xapi.DecodeJSON(raw)
		if err != nil {
			return nil, lrs.Errorf(lrs.EINVALID, "%s: not valid JSON: %v", path, err)
		}
		if err := xapi.ValidateAgentParam(v, xapi.V200); err != nil {
			var xe *xapi.Error
			if errors.As(err, &xe) && (xe.Path == "agent" || strings.HasPrefix(xe.Path, "agent.")) {
				return nil, lrs.Errorf(lrs.EINVALID, "%s%s: %s", path, strings.TrimPrefix(xe.Path, "agent"), xe.Msg)
			}
			return nil, lrs.Errorf(lrs.EINVALID, "%s: %v", path, err)
		}
		m := v.(map[string]any)
		key, _ := xapi.AgentKey(m)
		if len(key) > maxAgentKey {
			return nil, lrs.Errorf(lrs.EINVALID, "%s: the identifier is too long (at most %d characters)", path, maxAgentKey)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, lrs.Errorf(lrs.EINVALID, "%s: %v", path, err)
		}
		out = append(out, lrs.PersonAgent{Key: key, Agent: b})
	}
	return out, nil
}

func checkPersonName(name string) error {
	if len(name) > 255 {
		return lrs.Errorf(lrs.EINVALID, "name: at most 255 bytes")
	}
	return nil
}

// CreatePerson creates a person with agents in a store; an agent that
// belongs to another person of the store is ECONFLICT.
func (a *Admin) CreatePerson(ctx context.Context, storeID int64, name string, agents []json.RawMessage) (*lrs.Person, error) {
	if _, err := a.Tenants.GetStore(ctx, storeID); err != nil {
		return nil, err
	}
	if err := checkPersonName(name); err != nil {
		return nil, err
	}
	pa, err := PersonAgents("agents", agents)
	if err != nil {
		return nil, err
	}
	return a.Persons.CreatePerson(ctx, storeID, name, pa)
}

// GetPerson returns a person of a store.
func (a *Admin) GetPerson(ctx context.Context, storeID, id int64) (*lrs.Person, error) {
	return a.Persons.GetPerson(ctx, storeID, id)
}

// ListPersons lists the persons of a store with id > after, by id, and
// whether more follow.
func (a *Admin) ListPersons(ctx context.Context, storeID, after int64, limit int) ([]*lrs.Person, bool, error) {
	if _, err := a.Tenants.GetStore(ctx, storeID); err != nil {
		return nil, false, err
	}
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		limit = 1000
	}
	ps, err := a.Persons.ListPersons(ctx, storeID, after, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(ps) > limit
	if more {
		ps = ps[:limit]
	}
	return ps, more, nil
}

// AddPersonAgents adds agents to a person and returns it.
func (a *Admin) AddPersonAgents(ctx context.Context, storeID, id int64, agents []json.RawMessage) (*lrs.Person, error) {
	pa, err := PersonAgents("agents", agents)
	if err != nil {
		return nil, err
	}
	if err := a.Persons.AddPersonAgents(ctx, storeID, id, pa); err != nil {
		return nil, err
	}
	return a.Persons.GetPerson(ctx, storeID, id)
}

// MergePersons moves the agents of person from into person into, deletes
// from, and returns into.
func (a *Admin) MergePersons(ctx context.Context, storeID, into, from int64) (*lrs.Person, error) {
	if from == 0 {
		return nil, lrs.Errorf(lrs.EINVALID, "from: give the id of the person to merge")
	}
	if err := a.Persons.MergePersons(ctx, storeID, into, from); err != nil {
		return nil, err
	}
	return a.Persons.GetPerson(ctx, storeID, into)
}

// AttachAgentSets makes each set's agents one person of the store: the
// person any of them belongs to (persons merged if they belong to several),
// or a new one with the set's name. All sets in one transaction; an adapter
// (Moodle) attaches a batch's new users with it.
func (a *Admin) AttachAgentSets(ctx context.Context, storeID int64, sets []lrs.AgentSet) error {
	return a.Persons.AttachAgentSets(ctx, storeID, sets)
}

// DeletePerson deletes a person (the grouping, not its statements).
func (a *Admin) DeletePerson(ctx context.Context, storeID, id int64) error {
	return a.Persons.DeletePerson(ctx, storeID, id)
}

// PersonStatements returns the statements of any of a person's agents, newest
// first (oldest first with q.Ascending), and whether more follow. q carries
// the other filters and the keyset position (q.After) as for GET /statements;
// q.Limit defaults to 100 and is at most 1000.
func (a *Admin) PersonStatements(ctx context.Context, storeID, personID int64, q lrs.Query) ([]lrs.StoredStatement, bool, error) {
	p, err := a.Persons.GetPerson(ctx, storeID, personID)
	if err != nil {
		return nil, false, err
	}
	if len(p.Agents) == 0 {
		return []lrs.StoredStatement{}, false, nil
	}
	q.Agents = make([]string, len(p.Agents))
	for i, ag := range p.Agents {
		q.Agents[i] = ag.Key
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 1000 {
		q.Limit = 1000
	}
	return a.Statements.QueryStatements(ctx, storeID, q)
}
