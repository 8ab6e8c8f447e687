package store

import (
	"context"
	"encoding/json"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// ExistingStatement is a stored statement ExistingStatements found.
type ExistingStatement struct {
	// AuthorityKey is the xapi.AgentKey of its authority ("" when it has
	// none the key can be made of).
	AuthorityKey string
	Body         []byte // as stored (format=exact)
}

// existingChunk is how many ids one ExistingStatements query looks up: a
// Moodle batch (1000 rows by default, so 1000 to 2000 ids) in one query,
// within SQLite's 32766 parameters and MySQL's max_allowed_packet (the
// ids are interpolated, about 40 bytes each).
const existingChunk = 10000

// ExistingStatements returns, of ids, those stored in store storeID, with
// who stored each (its authority) and its body: what an adapter source needs
// to tell a statement it stored before from one that took its id (a
// conflict) before it stores a batch, whose ids the insert would skip
// whatever their content. One query on the (store_id, id) unique index per
// existingChunk ids; only ids that exist cost more than an index probe.
// Malformed ids are left out.
func (db *DB) ExistingStatements(ctx context.Context, storeID int64, ids []string) (map[string]ExistingStatement, error) {
	out := map[string]ExistingStatement{}
	for start := 0; start < len(ids); start += existingChunk {
		part := ids[start:min(start+existingChunk, len(ids))]
		args := make([]any, 1, len(part)+1)
		args[0] = storeID
		for _, id := range part {
			if b := uuidBytes(id); b != nil {
				args = append(args, b)
			}
		}
		if len(args) == 1 {
			continue
		}
		rows, err := db.r.QueryContext(ctx, "SELECT id, body FROM statements WHERE store_id = ? AND id IN "+inList(len(args)-1), args...)
		if err != nil {
			return nil, lrs.Internal(err, "looking up statement ids")
		}
		for rows.Next() {
			var id, body []byte
			if err := rows.Scan(&id, &body); err != nil {
				rows.Close()
				return nil, lrs.Internal(err, "looking up statement ids")
			}
			out[uuidString(id)] = ExistingStatement{AuthorityKey: bodyAuthorityKey(body), Body: body}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, lrs.Internal(err, "looking up statement ids")
		}
	}
	return out, nil
}

// bodyAuthorityKey is the AgentKey of a stored statement's authority.
func bodyAuthorityKey(body []byte) string {
	var st struct {
		Authority map[string]any `json:"authority"`
	}
	if json.Unmarshal(body, &st) != nil {
		return ""
	}
	k, _ := xapi.AgentKey(st.Authority)
	return k
}
