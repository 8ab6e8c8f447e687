package moodle

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Statement ids.
//
// A statement's id is derived from the name "wwwroot#logid#index" (the
// site, the log row and the statement's index among the row's), so a row
// read again (after a crash, a rewind) gives the ids of the statements it
// gave before, which the store recognises and skips. Derived with a public
// namespace (UUIDv5, the scheme before keys, "legacy" ids), anyone could
// compute the id of a row to come and take it first: the store then skipped
// the real row as stored already. So ids are keyed:
//
//	HMAC-SHA256(the source's key, name)[:16], version 8, RFC 9562 variant
//
// (version 8 is RFC 9562's "custom" UUID: the honest label for a keyed
// hash; the store and xAPI only need a valid UUID). The key is 32 random
// bytes per source, created on first use and kept in the bridge's database
// (store.DB.SourceKey), so every bridge on it gives a row the same ids.
//
// A source that synced before it had a key keeps the public ids of the rows
// it had read: the key records the log id it had reached (legacyThrough,
// see legacyBoundary), and a row up to it whose public id is stored by the
// source keeps that id. Any other row, and every row of a source keyed
// from the start, gets its keyed id.
//
// Conflicts: the store skips an id that exists whatever its content, so
// before a batch is stored its ids are looked up (one query, see
// StatementLookup) and an id taken by a statement that is not the source's
// (another authority) or that differs from what the row maps to now is a
// Conflict: counted in Status.Conflicts, listed (RecentConflicts), logged,
// never skipped silently.

// KeyStore keeps each source's id key: the bridge's database
// (store.DB.SourceKey). A Sink must implement it for a source to sync.
type KeyStore interface {
	// SourceKey returns the source's key and the log id through which its
	// rows keep their legacy ids, creating them if it has none (with
	// legacyThrough, ignored otherwise); every caller gets the key stored
	// first.
	SourceKey(ctx context.Context, source string, legacyThrough int64) (secret []byte, through int64, err error)
}

// Existing is a stored statement a lookup found: who stored it (the key
// of its authority, xapi.AgentKey) and its body as stored.
type Existing struct {
	AuthorityKey string
	Body         []byte
}

// StatementLookup is a Sink that can say which of a batch's ids are stored
// already (store.DB.ExistingStatements). Without it a sync cannot tell a
// conflict from a statement it stored before.
type StatementLookup interface {
	ExistingStatements(ctx context.Context, storeID int64, ids []string) (map[string]Existing, error)
}

// The reasons of a Conflict.
const (
	// ConflictAuthority: the id is taken by a statement of another
	// authority (another credential of the store); the row's statement is
	// not stored.
	ConflictAuthority = "another authority"
	// ConflictContent: the id holds the source's statement with other
	// content than the row maps to now (the mapping or the source's options
	// changed since, or the row did); statements are immutable, the stored
	// one stays.
	ConflictContent = "different content"
	// ConflictLegacy: the public (legacy) id of a row synced before the
	// source had a key is taken by a statement of another authority; the
	// row is stored under its keyed id.
	ConflictLegacy = "legacy id taken by another authority"
)

// Conflict is a statement id of the source found taken (see the reasons).
type Conflict struct {
	ID     string    `json:"id"`
	LogID  int64     `json:"log_id"`
	Index  int       `json:"index"` // the statement's index among its row's
	Reason string    `json:"reason"`
	Found  time.Time `json:"found"`
}

// RecentConflicts is how many conflicts a status keeps (the newest).
const RecentConflicts = 10

// String is "log id 25 #0: <id> (another authority)".
func (c Conflict) String() string {
	return fmt.Sprintf("log id %d #%d: %s (%s)", c.LogID, c.Index, c.ID, c.Reason)
}

// idName is what a statement's id is derived from.
func idName(dst []byte, wwwroot string, logID int64, index int) []byte {
	dst = append(dst, strings.TrimSuffix(wwwroot, "/")...)
	dst = append(dst, '#')
	dst = strconv.AppendInt(dst, logID, 10)
	dst = append(dst, '#')
	return strconv.AppendInt(dst, int64(index), 10)
}

// legacyNamespace is the public namespace of legacy ids.
var legacyNamespace = uuid.MustParse("6b2a1f0e-7d3c-5e9a-8f41-2c6d0b9e7a53")

// LegacyStatementID is the public id the index-th statement of a log row
// had before ids were keyed: UUIDv5(a public namespace, wwwroot#logid#index).
// Anyone can compute it; only rows a source read before it had a key keep
// it.
func LegacyStatementID(wwwroot string, logID int64, index int) string {
	return uuid.NewSHA1(legacyNamespace, idName(nil, wwwroot, logID, index)).String()
}

// KeyedStatementID is the id the index-th statement of a log row has under
// key: HMAC-SHA256(key, wwwroot#logid#index), 16 bytes with the version (8)
// and variant bits of RFC 9562.
func KeyedStatementID(key []byte, wwwroot string, logID int64, index int) string {
	return newIDMaker(key).keyed(wwwroot, logID, index)
}

// idMaker makes keyed ids, reusing its HMAC (not safe for concurrent use).
type idMaker struct {
	mac  hash.Hash
	name []byte
	sum  []byte
}

func newIDMaker(key []byte) *idMaker { return &idMaker{mac: hmac.New(sha256.New, key)} }

func (m *idMaker) keyed(wwwroot string, logID int64, index int) string {
	m.name = idName(m.name[:0], wwwroot, logID, index)
	m.mac.Reset()
	m.mac.Write(m.name)
	m.sum = m.mac.Sum(m.sum[:0])
	var u uuid.UUID
	copy(u[:], m.sum)
	u[6] = u[6]&0x0f | 0x80 // version 8
	u[8] = u[8]&0x3f | 0x80 // variant 10 (RFC 9562)
	return u.String()
}

// idKey is a source's key as a sync uses it. It never prints its secret.
type idKey struct {
	secret []byte
	// legacyThrough is the log id through which rows may keep their legacy
	// ids (0: none).
	legacyThrough int64
}

func (k *idKey) String() string   { return "[moodle id key]" }
func (k *idKey) GoString() string { return k.String() }

// LogValue keeps the secret out of logs.
func (k *idKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// legacyBoundary is the log id through which a source that is getting its
// key may have stored statements under legacy ids: none (0) for a source
// that never read a row; else the highest log id it may have read: its
// cursor, the cursor before its last rewind, or the highest log id in
// Moodle at its last run, whichever is highest (the last one covers rows
// read before earlier rewinds too). Rows in the backlog up to it that were
// never stored are not held to legacy ids: they are looked up and get
// their keyed ids (see assignIDs).
func legacyBoundary(st *Status) int64 {
	if st.RowsRead == 0 && st.Statements == 0 && st.Cursor == 0 {
		return 0
	}
	b := max(st.Cursor, st.Latest)
	if rw := st.LastRewind; rw != nil {
		b = max(b, rw.From)
	}
	return b
}

// key returns the source's id key, created (see KeyStore) if it has none,
// with the boundary of legacy ids worked out from st.
func (s *Syncer) key(ctx context.Context, st *Status) (*idKey, error) {
	if s.preKeys {
		return &idKey{legacyThrough: 1<<63 - 1}, nil
	}
	ks, ok := s.Sink.(KeyStore)
	if !ok {
		return nil, lrs.Errorf(lrs.EINTERNAL, "moodle source %s: its sink cannot keep the source's id key", s.Source.Name)
	}
	secret, through, err := ks.SourceKey(ctx, s.Source.Name, legacyBoundary(st))
	if err != nil {
		return nil, fmt.Errorf("moodle source %s: its id key: %w", s.Source.Name, err)
	}
	if len(secret) < 32 {
		return nil, lrs.Errorf(lrs.EINTERNAL, "moodle source %s: its id key is %d bytes, want 32", s.Source.Name, len(secret))
	}
	return &idKey{secret: secret, legacyThrough: through}, nil
}

// rowRef says which row, and which of its statements, a statement is.
type rowRef struct {
	logID int64
	index int
}

// assignIDs gives each statement of stmts (refs[i] says whose it is) its
// id, and returns the conflicts found: one lookup of the batch's ids.
//
// A row up to the key's legacy boundary keeps its legacy id when the
// source's statement is stored under it (the row was read before the
// source had a key); otherwise, and for every later row, its id is the
// keyed one. Then an id that is taken by a statement of another authority,
// or by the source's own with other content, is a conflict.
func (s *Syncer) assignIDs(ctx context.Context, key *idKey, stmts []map[string]any, refs []rowRef) ([]Conflict, error) {
	www := s.Source.Options.WWWRoot
	lookup, canLook := s.Sink.(StatementLookup)
	if s.preKeys {
		canLook = false
	}
	keyed := make([]string, len(stmts))
	var legacy []string // "" for rows past the boundary
	var mk *idMaker
	if key.secret != nil {
		mk = newIDMaker(key.secret)
	}
	ids := make([]string, 0, len(stmts))
	for i, r := range refs {
		if r.logID <= key.legacyThrough {
			if legacy == nil {
				legacy = make([]string, len(stmts))
			}
			legacy[i] = LegacyStatementID(www, r.logID, r.index)
			ids = append(ids, legacy[i])
		}
		if mk != nil {
			keyed[i] = mk.keyed(www, r.logID, r.index)
			ids = append(ids, keyed[i])
		}
	}
	if !canLook || len(ids) == 0 {
		// No lookup (a sink that cannot, or the behaviour before keys):
		// rows up to the boundary keep their legacy ids.
		for i, st := range stmts {
			st["id"] = keyed[i]
			if legacy != nil && legacy[i] != "" {
				st["id"] = legacy[i]
			}
		}
		return nil, nil
	}
	existing, err := lookup.ExistingStatements(ctx, s.Source.StoreID, ids)
	if err != nil {
		return nil, fmt.Errorf("looking up statement ids: %w", err)
	}
	var conflicts []Conflict
	now := time.Now().UTC()
	conflict := func(id string, r rowRef, reason string) {
		conflicts = append(conflicts, Conflict{ID: id, LogID: r.logID, Index: r.index, Reason: reason, Found: now})
	}
	for i, st := range stmts {
		r := refs[i]
		id := keyed[i]
		if legacy != nil && legacy[i] != "" {
			if e, ok := existing[legacy[i]]; ok {
				if s.ours(e) {
					id = legacy[i]
				} else {
					conflict(legacy[i], r, ConflictLegacy)
				}
			}
		}
		st["id"] = id
		e, ok := existing[id]
		switch {
		case !ok:
		case !s.ours(e):
			conflict(id, r, ConflictAuthority)
		case !sameContent(st, e.Body):
			conflict(id, r, ConflictContent)
		}
	}
	return conflicts, nil
}

// ours reports whether a stored statement was stored by this source: its
// authority is the source's. An account authority named like the source's
// ("moodle:NAME") with another homePage is the source's too (the bridge's
// base_url changed, or bridges on one database have different ones): no
// credential can have that name (credential keys are [A-Za-z0-9._-]).
func (s *Syncer) ours(e Existing) bool {
	mine, ok := xapi.AgentKey(s.Source.Authority)
	if ok && e.AuthorityKey == mine {
		return true
	}
	name := accountName(s.Source.Authority)
	if !strings.Contains(name, ":") || !strings.HasPrefix(e.AuthorityKey, "account::") {
		return false
	}
	v, err := xapi.DecodeJSON(e.Body)
	m, _ := v.(map[string]any)
	if err != nil {
		return false
	}
	a, _ := m["authority"].(map[string]any)
	return accountName(a) == name
}

func accountName(agent map[string]any) string {
	acc, _ := agent["account"].(map[string]any)
	name, _ := acc["name"].(string)
	return name
}

// sameContent reports whether a stored statement is the one a row maps to
// now, as the LRS's immutability check compares statements (xapi.Equivalent:
// what the LRS sets, id, stored, authority and version, is left out; a
// timestamp the LRS assigned too, as st has its own). st is the statement as
// mapped, before the LRS completes it; it goes through JSON as the stored
// body did, so that Go types compare as JSON values.
func sameContent(st map[string]any, body []byte) bool {
	old, err := xapi.DecodeJSON(body)
	om, _ := old.(map[string]any)
	if err != nil || om == nil {
		return false
	}
	b, err := xapi.Marshal(st)
	if err != nil {
		return false
	}
	now, err := xapi.DecodeJSON(b)
	nm, _ := now.(map[string]any)
	if err != nil {
		return false
	}
	xapi.Normalize(nm)
	return xapi.Equivalent(nm, om)
}
