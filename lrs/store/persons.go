package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// Persons (personas) group the agents of one human in a store. Every query
// names the store: a person of another store is ENOTFOUND.

func beginPersons(ctx context.Context, db *DB) (*sql.Tx, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "database unavailable", Cause: err}
	}
	return tx, nil
}

// uniquePersonAgents drops repeated keys, keeping the first.
func uniquePersonAgents(agents []lrs.PersonAgent) []lrs.PersonAgent {
	seen := map[string]bool{}
	out := make([]lrs.PersonAgent, 0, len(agents))
	for _, a := range agents {
		if !seen[a.Key] {
			seen[a.Key] = true
			out = append(out, a)
		}
	}
	return out
}

// agentOwners returns the person of each agent key that belongs to one.
func agentOwners(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, storeID int64, keys []string) (map[string]int64, error) {
	out := map[string]int64{}
	for start := 0; start < len(keys); start += chunk {
		part := keys[start:min(start+chunk, len(keys))]
		args := make([]any, 0, len(part)+1)
		args = append(args, storeID)
		for _, k := range part {
			args = append(args, k)
		}
		rows, err := q.QueryContext(ctx, "SELECT agent_key, person_id FROM person_agents WHERE store_id = ? AND agent_key IN "+inList(len(part)), args...)
		if err != nil {
			return nil, lrs.Internal(err, "reading person agents")
		}
		for rows.Next() {
			var k string
			var id int64
			if err := rows.Scan(&k, &id); err != nil {
				rows.Close()
				return nil, lrs.Internal(err, "reading person agents")
			}
			out[k] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, lrs.Internal(err, "reading person agents")
		}
	}
	return out, nil
}

func personAgentKeys(agents []lrs.PersonAgent) []string {
	keys := make([]string, len(agents))
	for i, a := range agents {
		keys[i] = a.Key
	}
	return keys
}

// personInStore checks, inside tx, that person id is in store storeID.
func personInStore(ctx context.Context, tx *sql.Tx, storeID, id int64) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM persons WHERE store_id = ? AND id = ?", storeID, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return lrs.Errorf(lrs.ENOTFOUND, "no person %d in store %d", id, storeID)
	}
	if err != nil {
		return lrs.Internal(err, "reading person")
	}
	return nil
}

// addPersonAgentsTx gives person id the agents that are not its own yet; an agent
// of another person is ECONFLICT.
func addPersonAgentsTx(ctx context.Context, tx *sql.Tx, storeID, id int64, agents []lrs.PersonAgent) error {
	agents = uniquePersonAgents(agents)
	owners, err := agentOwners(ctx, tx, storeID, personAgentKeys(agents))
	if err != nil {
		return err
	}
	var args []any
	n := 0
	for _, a := range agents {
		if other, ok := owners[a.Key]; ok {
			if other != id {
				return lrs.Errorf(lrs.ECONFLICT, "agents: %s belongs to person %d already (merge the persons instead)", a.Key, other)
			}
			continue
		}
		args = append(args, storeID, a.Key, id, string(a.Agent))
		n++
	}
	if n == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO person_agents (store_id, agent_key, person_id, agent) VALUES "+placeholders(n, 4), args...)
	if isDuplicate(err) {
		return lrs.Errorf(lrs.ECONFLICT, "agents: one of the agents was given to another person meanwhile")
	}
	if err != nil {
		return lrs.Internal(err, "storing person agents")
	}
	return nil
}

func insertPerson(ctx context.Context, tx *sql.Tx, storeID int64, name string, now int64) (int64, error) {
	res, err := tx.ExecContext(ctx, "INSERT INTO persons (store_id, name, created_us) VALUES (?, ?, ?)", storeID, name, now)
	if err != nil {
		return 0, lrs.Internal(err, "creating person")
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, lrs.Internal(err, "creating person")
	}
	return id, nil
}

// CreatePerson implements admin.PersonStore.
func (db *DB) CreatePerson(ctx context.Context, storeID int64, name string, agents []lrs.PersonAgent) (*lrs.Person, error) {
	tx, err := beginPersons(ctx, db)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	id, err := insertPerson(ctx, tx, storeID, name, time.Now().UnixMicro())
	if err != nil {
		return nil, err
	}
	if err := addPersonAgentsTx(ctx, tx, storeID, id, agents); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, lrs.Internal(err, "creating person")
	}
	return db.GetPerson(ctx, storeID, id)
}

// GetPerson implements admin.PersonStore.
func (db *DB) GetPerson(ctx context.Context, storeID, id int64) (*lrs.Person, error) {
	p := &lrs.Person{StoreID: storeID}
	var us int64
	err := db.r.QueryRowContext(ctx, "SELECT id, name, created_us FROM persons WHERE store_id = ? AND id = ?", storeID, id).
		Scan(&p.ID, &p.Name, &us)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "no person %d in store %d", id, storeID)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading person")
	}
	p.CreatedAt = time.UnixMicro(us).UTC()
	if err := db.loadAgents(ctx, storeID, []*lrs.Person{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// loadAgents fills the Agents of persons (all of store storeID).
func (db *DB) loadAgents(ctx context.Context, storeID int64, persons []*lrs.Person) error {
	byID := make(map[int64]*lrs.Person, len(persons))
	for _, p := range persons {
		p.Agents = []lrs.PersonAgent{}
		byID[p.ID] = p
	}
	for start := 0; start < len(persons); start += chunk {
		part := persons[start:min(start+chunk, len(persons))]
		args := make([]any, 0, len(part)+1)
		args = append(args, storeID)
		for _, p := range part {
			args = append(args, p.ID)
		}
		rows, err := db.r.QueryContext(ctx, "SELECT person_id, agent_key, agent FROM person_agents WHERE store_id = ? AND person_id IN "+
			inList(len(part))+" ORDER BY agent_key", args...)
		if err != nil {
			return lrs.Internal(err, "reading person agents")
		}
		for rows.Next() {
			var id int64
			var key, agent string
			if err := rows.Scan(&id, &key, &agent); err != nil {
				rows.Close()
				return lrs.Internal(err, "reading person agents")
			}
			if p := byID[id]; p != nil {
				p.Agents = append(p.Agents, lrs.PersonAgent{Key: key, Agent: []byte(agent)})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return lrs.Internal(err, "reading person agents")
		}
	}
	return nil
}

// ListPersons implements admin.PersonStore: persons with id > afterID, by id.
func (db *DB) ListPersons(ctx context.Context, storeID int64, afterID int64, limit int) ([]*lrs.Person, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, "SELECT id, name, created_us FROM persons WHERE store_id = ? AND id > ? ORDER BY id LIMIT ?",
		storeID, afterID, limit)
	if err != nil {
		return nil, lrs.Internal(err, "listing persons")
	}
	out := []*lrs.Person{}
	for rows.Next() {
		p := &lrs.Person{StoreID: storeID}
		var us int64
		if err := rows.Scan(&p.ID, &p.Name, &us); err != nil {
			rows.Close()
			return nil, lrs.Internal(err, "listing persons")
		}
		p.CreatedAt = time.UnixMicro(us).UTC()
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, lrs.Internal(err, "listing persons")
	}
	if err := db.loadAgents(ctx, storeID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddPersonAgents implements admin.PersonStore.
func (db *DB) AddPersonAgents(ctx context.Context, storeID, personID int64, agents []lrs.PersonAgent) error {
	tx, err := beginPersons(ctx, db)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := personInStore(ctx, tx, storeID, personID); err != nil {
		return err
	}
	if err := addPersonAgentsTx(ctx, tx, storeID, personID, agents); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return lrs.Internal(err, "storing person agents")
	}
	return nil
}

func mergePersonsTx(ctx context.Context, tx *sql.Tx, storeID, into, from int64) error {
	if _, err := tx.ExecContext(ctx, "UPDATE person_agents SET person_id = ? WHERE store_id = ? AND person_id = ?", into, storeID, from); err != nil {
		return lrs.Internal(err, "merging persons")
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM persons WHERE store_id = ? AND id = ?", storeID, from); err != nil {
		return lrs.Internal(err, "merging persons")
	}
	return nil
}

// MergePersons implements admin.PersonStore.
func (db *DB) MergePersons(ctx context.Context, storeID, into, from int64) error {
	if into == from {
		return lrs.Errorf(lrs.EINVALID, "from: cannot merge person %d into itself", into)
	}
	tx, err := beginPersons(ctx, db)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := personInStore(ctx, tx, storeID, into); err != nil {
		return err
	}
	if err := personInStore(ctx, tx, storeID, from); err != nil {
		return err
	}
	if err := mergePersonsTx(ctx, tx, storeID, into, from); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return lrs.Internal(err, "merging persons")
	}
	return nil
}

// DeletePerson implements admin.PersonStore. It removes the grouping only,
// not the statements of its agents.
func (db *DB) DeletePerson(ctx context.Context, storeID, id int64) error {
	tx, err := beginPersons(ctx, db)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := personInStore(ctx, tx, storeID, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM person_agents WHERE store_id = ? AND person_id = ?", storeID, id); err != nil {
		return lrs.Internal(err, "deleting person")
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM persons WHERE store_id = ? AND id = ?", storeID, id); err != nil {
		return lrs.Internal(err, "deleting person")
	}
	if err := tx.Commit(); err != nil {
		return lrs.Internal(err, "deleting person")
	}
	return nil
}

// PersonOfAgent implements admin.PersonStore.
func (db *DB) PersonOfAgent(ctx context.Context, storeID int64, agentKey string) (*lrs.Person, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, "SELECT person_id FROM person_agents WHERE store_id = ? AND agent_key = ?", storeID, agentKey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "agent %s belongs to no person in store %d", agentKey, storeID)
	}
	if err != nil {
		return nil, lrs.Internal(err, "reading person agents")
	}
	return db.GetPerson(ctx, storeID, id)
}

// AttachAgents implements admin.PersonStore: the agents end up in one person,
// the existing person of any of them (the oldest, when they belong to
// several, which are merged into it) or a new one named name.
func (db *DB) AttachAgents(ctx context.Context, storeID int64, name string, agents []lrs.PersonAgent) (*lrs.Person, error) {
	if len(agents) == 0 {
		return nil, lrs.Errorf(lrs.EINVALID, "agents: at least one agent is required")
	}
	tx, err := beginPersons(ctx, db)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	agents = uniquePersonAgents(agents)
	owners, err := agentOwners(ctx, tx, storeID, personAgentKeys(agents))
	if err != nil {
		return nil, err
	}
	into, err := attachTx(ctx, tx, storeID, name, agents, owners)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, lrs.Internal(err, "attaching agents")
	}
	return db.GetPerson(ctx, storeID, into)
}

// attachTx makes agents (unique keys; owners maps those that belong to a
// person already) one person and returns its id.
func attachTx(ctx context.Context, tx *sql.Tx, storeID int64, name string, agents []lrs.PersonAgent, owners map[string]int64) (int64, error) {
	var ids []int64
	for _, a := range agents {
		if id, ok := owners[a.Key]; ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var into int64
	var err error
	if len(ids) == 0 {
		if into, err = insertPerson(ctx, tx, storeID, name, time.Now().UnixMicro()); err != nil {
			return 0, err
		}
	} else {
		into = ids[0]
		for _, from := range ids[1:] {
			if err := mergePersonsTx(ctx, tx, storeID, into, from); err != nil {
				return 0, err
			}
		}
	}
	if err := addPersonAgentsTx(ctx, tx, storeID, into, agents); err != nil {
		return 0, err
	}
	return into, nil
}

// AttachAgentSets implements admin.PersonStore. One query finds the current
// owners of every agent; only sets not already one person are written.
func (db *DB) AttachAgentSets(ctx context.Context, storeID int64, sets []lrs.AgentSet) error {
	var keys []string
	for i := range sets {
		sets[i].Agents = uniquePersonAgents(sets[i].Agents)
		keys = append(keys, personAgentKeys(sets[i].Agents)...)
	}
	owners, err := agentOwners(ctx, db.r, storeID, keys)
	if err != nil {
		return err
	}
	var todo []lrs.AgentSet
	for _, set := range sets {
		if len(set.Agents) > 0 && !onePerson(set.Agents, owners) {
			todo = append(todo, set)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	tx, err := beginPersons(ctx, db)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, set := range todo {
		// Earlier sets of this transaction may have changed the owners.
		owners, err := agentOwners(ctx, tx, storeID, personAgentKeys(set.Agents))
		if err != nil {
			return err
		}
		if onePerson(set.Agents, owners) {
			continue
		}
		if _, err := attachTx(ctx, tx, storeID, set.Name, set.Agents, owners); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return lrs.Internal(err, "attaching agents")
	}
	return nil
}

// onePerson reports whether every agent belongs to the same person.
func onePerson(agents []lrs.PersonAgent, owners map[string]int64) bool {
	var id int64
	for _, a := range agents {
		o, ok := owners[a.Key]
		if !ok || (id != 0 && o != id) {
			return false
		}
		id = o
	}
	return id != 0
}
