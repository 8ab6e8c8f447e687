package admin

import (
	"context"
	"encoding/json"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// ErasePerson erases one person from a store: every agent of the persona
// (statements where one of them is the actor are deleted, the others'
// statements that name them are redacted, their documents deleted). It
// returns the erasure record, which holds counts only. Statements are
// immutable for xAPI clients; this is an admin operation.
func (a *Admin) ErasePerson(ctx context.Context, storeID, personID int64, requestedBy string) (*lrs.Erasure, error) {
	if a.Eraser == nil {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "erasure is not available on this database")
	}
	if a.Persons == nil {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "persons are not available: erase agents one by one (erase-agent)")
	}
	p, err := a.Persons.GetPerson(ctx, storeID, personID)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(p.Agents))
	for _, ag := range p.Agents {
		if ag.Key != "" {
			keys = append(keys, ag.Key)
		}
	}
	if len(keys) == 0 {
		return nil, lrs.Errorf(lrs.ECONFLICT, "person %d has no agents to erase (already erased?)", personID)
	}
	return a.Eraser.EraseAgents(ctx, storeID, p.ID, keys, requestedBy)
}

// EraseAgent erases one bare agent (an Agent or Identified Group object)
// from a store, as ErasePerson does for each agent of a person. When the
// agent belongs to a person, the record names that person; the person's
// other agents are left alone.
func (a *Admin) EraseAgent(ctx context.Context, storeID int64, agent json.RawMessage, requestedBy string) (*lrs.Erasure, error) {
	if a.Eraser == nil {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "erasure is not available on this database")
	}
	key, err := erasureAgentKey(agent)
	if err != nil {
		return nil, err
	}
	var personID int64
	if a.Persons != nil {
		if p, err := a.Persons.PersonOfAgent(ctx, storeID, key); err == nil {
			personID = p.ID
		} else if lrs.ErrorCode(err) != lrs.ENOTFOUND {
			return nil, err
		}
	}
	return a.Eraser.EraseAgents(ctx, storeID, personID, []string{key}, requestedBy)
}

// ListErasures returns the erasures recorded for a store.
func (a *Admin) ListErasures(ctx context.Context, storeID int64) ([]*lrs.Erasure, error) {
	if a.Eraser == nil {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "erasure is not available on this database")
	}
	return a.Eraser.ListErasures(ctx, storeID)
}

// erasureAgentKey validates an Agent or Identified Group given as JSON and
// returns its key (xapi.AgentKey).
func erasureAgentKey(agent json.RawMessage) (string, error) {
	if len(agent) == 0 {
		return "", lrs.Errorf(lrs.EINVALID, "agent: required (an Agent object such as {\"mbox\": \"mailto:ann@example.org\"})")
	}
	v, err := xapi.DecodeJSON(agent)
	if err != nil {
		return "", lrs.Errorf(lrs.EINVALID, "agent: not valid JSON: %v", err)
	}
	if err := xapi.ValidateAgentParam(v, xapi.V200); err != nil {
		return "", lrs.Errorf(lrs.EINVALID, "agent: %v", err)
	}
	key, ok := xapi.AgentKey(v.(map[string]any))
	if !ok {
		return "", lrs.Errorf(lrs.EINVALID, "agent: must identify an Agent or Group by mbox, mbox_sha1sum, openid or account")
	}
	return key, nil
}
