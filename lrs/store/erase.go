package store

import (
	"bytes"
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// ErasedHomePage is the account homePage of the pseudonymous Agent that
// replaces an erased agent in the statements of others.
const ErasedHomePage = "urn:bridge:erased"

// eraseBatch is how many candidate statements are read at once.
const eraseBatch = 200

// expandAgentKeys adds, for every mbox key, the mbox_sha1sum key of the same
// mailbox: a statement may name the person either way.
func expandAgentKeys(keys []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	for _, k := range keys {
		add(k)
		if mbox, ok := strings.CutPrefix(k, "mbox::"); ok {
			sum := sha1.Sum([]byte(mbox))
			add("mbox_sha1sum::" + hex.EncodeToString(sum[:]))
		}
	}
	return out
}

// EraseAgents implements admin.Eraser, in one transaction:
//
//   - statements whose actor is one of the agents are deleted, with their
//     index rows and deliveries;
//   - in every other statement that names one of them (object, authority,
//     instructor, team, group members, contextAgents, contextGroups, the
//     same inside a SubStatement), the agent is replaced by a pseudonymous
//     Agent {"account": {"homePage": "urn:bridge:erased", "name": <uuid>}},
//     one uuid per erasure; the statement's index rows of the erased agents
//     move to the pseudonym;
//   - their State and Agent Profile documents, personal LRS registrations,
//     deliveries to their personal LRS and person_agents rows are deleted;
//     the person row stays (its name cleared) so the erasure record points
//     somewhere;
//   - the erasure is recorded with counts only.
//
// Attachment contents that only deleted statements used are deleted too.
func (db *DB) EraseAgents(ctx context.Context, storeID, personID int64, agentKeys []string, requestedBy string) (*lrs.Erasure, error) {
	if len(agentKeys) == 0 {
		return nil, lrs.Errorf(lrs.EINVALID, "no agents to erase")
	}
	keys := expandAgentKeys(agentKeys)
	erased := make(map[string]bool, len(keys))
	hashes := make([]any, 0, len(keys))
	for _, k := range keys {
		erased[k] = true
		hashes = append(hashes, keyHash(k))
	}
	pseudoName := uuid.NewString()
	pseudoKey := "account::" + ErasedHomePage + "::" + pseudoName

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, &lrs.Error{Code: lrs.EUNAVAILABLE, Message: "database unavailable", Cause: err}
	}
	defer tx.Rollback()

	// 1. Candidates: every statement that names one of the agents anywhere
	// (related agents), including what references inherited.
	args := append([]any{storeID, kindRelatedAgent}, hashes...)
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT stmt_pk FROM statement_index WHERE store_id = ? AND kind = ? AND hash IN "+
		inList(len(hashes))+" ORDER BY stmt_pk", args...)
	if err != nil {
		return nil, lrs.Internal(err, "finding the agents' statements")
	}
	var cands []int64
	for rows.Next() {
		var pk int64
		if err := rows.Scan(&pk); err != nil {
			rows.Close()
			return nil, lrs.Internal(err, "finding the agents' statements")
		}
		cands = append(cands, pk)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, lrs.Internal(err, "finding the agents' statements")
	}

	e := &lrs.Erasure{StoreID: storeID, PersonID: personID, Agents: len(agentKeys), RequestedBy: requestedBy, CreatedAt: time.Now().UTC()}
	pseudo := func(objectType string) map[string]any {
		return map[string]any{"objectType": objectType, "account": map[string]any{"homePage": ErasedHomePage, "name": pseudoName}}
	}
	var deleted []int64
	attachments := map[string]bool{} // sha2 of attachments of deleted statements

	// 2. Each candidate: delete (actor) or redact (anywhere else).
	for start := 0; start < len(cands); start += eraseBatch {
		part := cands[start:min(start+eraseBatch, len(cands))]
		bodies, err := bodiesByPK(ctx, tx, storeID, part)
		if err != nil {
			return nil, err
		}
		for _, pk := range part {
			body, ok := bodies[pk]
			if !ok {
				continue
			}
			v, err := xapi.DecodeJSON(body)
			st, _ := v.(map[string]any)
			if err != nil || st == nil {
				return nil, lrs.Internal(err, "decoding a stored statement")
			}
			if actor, _ := st["actor"].(map[string]any); actor != nil {
				if k, ok := xapi.AgentKey(actor); ok && erased[k] {
					deleted = append(deleted, pk)
					collectAttachments(st, attachments)
					continue
				}
			}
			if redactStatement(st, erased, pseudo) > 0 {
				nb, err := marshalStatement(st)
				if err != nil {
					return nil, lrs.Internal(err, "encoding a redacted statement")
				}
				if _, err := tx.ExecContext(ctx, "UPDATE statements SET body = ? WHERE store_id = ? AND pk = ?", nb, storeID, pk); err != nil {
					return nil, lrs.Internal(err, "redacting a statement")
				}
			}
			if err := moveIndexRows(ctx, tx, db.d, storeID, pk, hashes, keyHash(pseudoKey)); err != nil {
				return nil, err
			}
			e.StatementsRedacted++
		}
	}
	for start := 0; start < len(deleted); start += chunk {
		part := int64Args(deleted[start:min(start+chunk, len(deleted))])
		a := append([]any{storeID}, part...)
		for _, q := range []string{
			"DELETE FROM statement_index WHERE store_id = ? AND stmt_pk IN " + inList(len(part)),
			"DELETE FROM deliveries WHERE store_id = ? AND stmt_pk IN " + inList(len(part)),
			"DELETE FROM statements WHERE store_id = ? AND pk IN " + inList(len(part)),
		} {
			if _, err := tx.ExecContext(ctx, q, a...); err != nil {
				return nil, lrs.Internal(err, "deleting the agents' statements")
			}
		}
	}
	e.StatementsDeleted = len(deleted)
	if err := deleteOrphanAttachments(ctx, tx, storeID, attachments); err != nil {
		return nil, err
	}

	// 3. Documents, personal LRSs, outbox rows to them, person links.
	keyArgs := make([]any, 0, len(keys)+1)
	keyArgs = append(keyArgs, storeID)
	for _, k := range keys {
		keyArgs = append(keyArgs, k)
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM documents WHERE store_id = ? AND kind IN (1, 3) AND agent_key IN "+inList(len(keys)), keyArgs...)
	if err != nil {
		return nil, lrs.Internal(err, "deleting the agents' documents")
	}
	nd, _ := res.RowsAffected()
	e.DocumentsDeleted = int(nd)
	for _, q := range []string{
		"DELETE FROM personal_lrs WHERE store_id = ? AND agent_key IN " + inList(len(keys)),
		"DELETE FROM deliveries WHERE store_id = ? AND personal_key IN " + inList(len(keys)),
		"DELETE FROM person_agents WHERE store_id = ? AND agent_key IN " + inList(len(keys)),
	} {
		if _, err := tx.ExecContext(ctx, q, keyArgs...); err != nil {
			return nil, lrs.Internal(err, "deleting the agents' data")
		}
	}
	if personID > 0 {
		if _, err := tx.ExecContext(ctx, "DELETE FROM person_agents WHERE store_id = ? AND person_id = ?", storeID, personID); err != nil {
			return nil, lrs.Internal(err, "deleting the person's agents")
		}
		if _, err := tx.ExecContext(ctx, "UPDATE persons SET name = '' WHERE store_id = ? AND id = ?", storeID, personID); err != nil {
			return nil, lrs.Internal(err, "clearing the person's name")
		}
	}

	// 4. The record, counts only.
	res, err = tx.ExecContext(ctx, "INSERT INTO erasures (store_id, person_id, agents, statements_deleted, statements_redacted, documents_deleted, requested_by, created_us) VALUES "+placeholders(1, 8),
		storeID, personID, e.Agents, e.StatementsDeleted, e.StatementsRedacted, e.DocumentsDeleted, clipName(requestedBy), e.CreatedAt.UnixMicro())
	if err != nil {
		return nil, lrs.Internal(err, "recording the erasure")
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return nil, lrs.Internal(err, "recording the erasure")
	}
	if err := tx.Commit(); err != nil {
		return nil, lrs.Internal(err, "committing the erasure")
	}
	e.CreatedAt = time.UnixMicro(e.CreatedAt.UnixMicro()).UTC()
	return e, nil
}

func clipName(s string) string {
	if len(s) > 255 {
		s = s[:255]
	}
	return strings.ToValidUTF8(s, "?")
}

func bodiesByPK(ctx context.Context, tx *sql.Tx, storeID int64, pks []int64) (map[int64][]byte, error) {
	rows, err := tx.QueryContext(ctx, "SELECT pk, body FROM statements WHERE store_id = ? AND pk IN "+inList(len(pks)),
		append([]any{storeID}, int64Args(pks)...)...)
	if err != nil {
		return nil, lrs.Internal(err, "reading the agents' statements")
	}
	defer rows.Close()
	out := make(map[int64][]byte, len(pks))
	for rows.Next() {
		var pk int64
		var body []byte
		if err := rows.Scan(&pk, &body); err != nil {
			return nil, lrs.Internal(err, "reading the agents' statements")
		}
		out[pk] = body
	}
	if err := rows.Err(); err != nil {
		return nil, lrs.Internal(err, "reading the agents' statements")
	}
	return out, nil
}

// moveIndexRows replaces the index rows of statement pk with the erased
// hashes by rows of the same kinds with the pseudonym's hash, so queries by
// the erased agents no longer find the statement.
func moveIndexRows(ctx context.Context, tx *sql.Tx, d dialect, storeID, pk int64, hashes []any, pseudo []byte) error {
	args := append([]any{storeID, pk}, hashes...)
	rows, err := tx.QueryContext(ctx, "SELECT DISTINCT kind FROM statement_index WHERE store_id = ? AND stmt_pk = ? AND hash IN "+inList(len(hashes)), args...)
	if err != nil {
		return lrs.Internal(err, "reading statement index")
	}
	var kinds []int
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return lrs.Internal(err, "reading statement index")
		}
		kinds = append(kinds, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return lrs.Internal(err, "reading statement index")
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM statement_index WHERE store_id = ? AND stmt_pk = ? AND hash IN "+inList(len(hashes)), args...); err != nil {
		return lrs.Internal(err, "deleting statement index")
	}
	for _, k := range kinds {
		if _, err := tx.ExecContext(ctx, d.insertIgnore+" INTO statement_index (store_id, kind, hash, stmt_pk) VALUES (?,?,?,?)", storeID, k, pseudo, pk); err != nil {
			return lrs.Internal(err, "indexing redacted statement")
		}
	}
	return nil
}

// redactStatement replaces every erased agent in st (and its SubStatement)
// with a pseudonym, in place, and returns how many it replaced. The actor
// of the top-level statement is never erased here (such statements are
// deleted), but a member of an actor Group may be.
func redactStatement(st map[string]any, erased map[string]bool, pseudo func(string) map[string]any) int {
	n := 0
	// actorAt redacts the Agent or Group at m[key].
	actorAt := func(m map[string]any, key string) {
		a, ok := m[key].(map[string]any)
		if !ok {
			return
		}
		if k, ok := xapi.AgentKey(a); ok && erased[k] {
			ot := "Agent"
			if a["objectType"] == "Group" {
				ot = "Group"
			}
			p := pseudo(ot)
			if mem, ok := a["member"]; ok && ot == "Group" {
				p["member"] = mem
			}
			m[key] = p
			a = p
			n++
		}
		if mem, ok := a["member"].([]any); ok {
			for i, x := range mem {
				if ma, ok := x.(map[string]any); ok {
					if k, ok := xapi.AgentKey(ma); ok && erased[k] {
						mem[i] = pseudo("Agent")
						n++
					}
				}
			}
		}
	}
	var walk func(s map[string]any, top bool)
	walk = func(s map[string]any, top bool) {
		actorAt(s, "actor")
		if top {
			actorAt(s, "authority")
		}
		if obj, ok := s["object"].(map[string]any); ok {
			switch obj["objectType"] {
			case "Agent", "Group":
				actorAt(s, "object")
			case "SubStatement":
				if top {
					walk(obj, false)
				}
			}
		}
		c, _ := s["context"].(map[string]any)
		if c == nil {
			return
		}
		actorAt(c, "instructor")
		actorAt(c, "team")
		if ca, ok := c["contextAgents"].([]any); ok {
			for _, x := range ca {
				if m, ok := x.(map[string]any); ok {
					actorAt(m, "agent")
				}
			}
		}
		if cg, ok := c["contextGroups"].([]any); ok {
			for _, x := range cg {
				if m, ok := x.(map[string]any); ok {
					actorAt(m, "group")
				}
			}
		}
	}
	walk(st, true)
	return n
}

func marshalStatement(st map[string]any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(st); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// collectAttachments adds the sha2 of st's attachments (and its
// SubStatement's) to into.
func collectAttachments(st map[string]any, into map[string]bool) {
	for _, s := range []map[string]any{st, subStatementOf(st)} {
		atts, _ := s["attachments"].([]any)
		for _, a := range atts {
			if m, ok := a.(map[string]any); ok {
				if h, ok := m["sha2"].(string); ok && h != "" {
					into[h] = true
				}
			}
		}
	}
}

func subStatementOf(st map[string]any) map[string]any {
	obj, _ := st["object"].(map[string]any)
	if obj["objectType"] == "SubStatement" {
		return obj
	}
	return nil
}

// deleteOrphanAttachments deletes the contents of attachments that no
// remaining statement of the store mentions. Erasure is rare and this only
// runs when a deleted statement had attachments, so the body scan is fine.
func deleteOrphanAttachments(ctx context.Context, tx *sql.Tx, storeID int64, sha2s map[string]bool) error {
	for h := range sha2s {
		if strings.ContainsAny(h, `%_\"`) {
			continue
		}
		var one int
		err := tx.QueryRowContext(ctx, "SELECT 1 FROM statements WHERE store_id = ? AND body LIKE ? LIMIT 1", storeID, `%"`+h+`"%`).Scan(&one)
		if err == nil {
			continue
		}
		if err != sql.ErrNoRows {
			return lrs.Internal(err, "checking attachment use")
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM attachments WHERE store_id = ? AND sha2 = ?", storeID, h); err != nil {
			return lrs.Internal(err, "deleting attachment")
		}
	}
	return nil
}

// ListErasures implements admin.Eraser: the store's erasures, oldest first.
func (db *DB) ListErasures(ctx context.Context, storeID int64) ([]*lrs.Erasure, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT id, store_id, person_id, agents, statements_deleted, statements_redacted, documents_deleted, requested_by, created_us "+
		"FROM erasures WHERE store_id = ? ORDER BY id", storeID)
	if err != nil {
		return nil, lrs.Internal(err, "listing erasures")
	}
	defer rows.Close()
	out := []*lrs.Erasure{}
	for rows.Next() {
		var e lrs.Erasure
		var us int64
		if err := rows.Scan(&e.ID, &e.StoreID, &e.PersonID, &e.Agents, &e.StatementsDeleted, &e.StatementsRedacted, &e.DocumentsDeleted, &e.RequestedBy, &us); err != nil {
			return nil, lrs.Internal(err, "listing erasures")
		}
		e.CreatedAt = time.UnixMicro(us).UTC()
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, lrs.Internal(err, "listing erasures")
	}
	return out, nil
}
