package lrs

import (
	"context"
	"time"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// NewStatement is a validated, completed statement ready to be stored.
type NewStatement struct {
	ID           string         // lowercase UUID
	Stored       time.Time      // set by the LRS
	Body         []byte         // the JSON the LRS returns for it (format=exact)
	Statement    map[string]any // decoded Body, for the immutability comparison and the activity merge (for a source's statements, only what the merge reads)
	Refs         xapi.Refs      // what query filters index
	AuthorityKey string         // IFI key of the authority, for statements/read/mine
	// Deliveries are the forwarding targets the rules chose for it, stored
	// in the same transaction as the statement (the outbox).
	Deliveries []Delivery
}

// Delivery says a statement must be forwarded to a target by a rule.
type Delivery struct {
	Target string
	Rule   string
	// PersonalKey is the actor's IFI key when Target is the learner's
	// personal LRS ("personal"), empty otherwise.
	PersonalKey string
}

// Router decides where a statement is forwarded (forwarders/dispatch
// implements it over the rules).
type Router interface {
	// Route returns the deliveries of a statement about to be stored in
	// store storeID. It must be fast and pure: it runs inside ingest.
	Route(storeID int64, stmt map[string]any) []Delivery
	// Routed is told after statements with deliveries were committed, so
	// the dispatcher can send them without waiting for its next poll.
	Routed()
}

// StoredStatement is a statement as read back from a store.
type StoredStatement struct {
	PK     int64 // insert order; the keyset paging cursor
	ID     string
	Stored time.Time
	Voided bool
	Body   []byte
}

// Query is a GET /statements filter, already parsed and validated.
// Agent and Activity hold keys (xapi.AgentKey, activity IRI).
type Query struct {
	Agent string
	// Agents, when set, matches statements of any of these agents (a
	// person's); RelatedAgents applies to it as to Agent.
	Agents            []string
	RelatedAgents     bool
	Verb              string
	Activity          string
	RelatedActivities bool
	Registration      string
	Since, Until      *time.Time
	Limit             int
	Ascending         bool
	// AuthorityKey restricts results to statements stored by this
	// authority (statements/read/mine); empty means no restriction.
	AuthorityKey string
	// After is the keyset cursor: only statements strictly past this PK in
	// the query's order. Zero means from the start.
	After int64
	// MaxBytes, when positive, ends a page once its statement bodies reach
	// this size (a page holds at least one statement); more is then set.
	MaxBytes int64
}

// StatementStore persists statements. Implementations must be safe for
// concurrent use.
type StatementStore interface {
	// InsertStatements stores stmts atomically in store storeID, in order:
	// all or none. A statement whose id already exists and whose content is
	// equivalent (xapi.Equivalent) is skipped; a different one fails the
	// whole call with ECONFLICT naming the id. It returns the number newly
	// stored. Voiding statements mark their target voided; statements that
	// reference others (StatementRef) match the filters their targets match.
	// Attachment contents are stored in the same transaction, once per hash.
	InsertStatements(ctx context.Context, storeID int64, stmts []*NewStatement, atts []Attachment) (int, error)
	// GetStatement returns one statement by id, voided or not, or ENOTFOUND.
	GetStatement(ctx context.Context, storeID int64, id string) (*StoredStatement, error)
	// QueryStatements returns up to q.Limit statements that are not voided,
	// newest first (or oldest first when q.Ascending), and whether more follow.
	QueryStatements(ctx context.Context, storeID int64, q Query) ([]StoredStatement, bool, error)
	// GetAttachments returns the stored attachment contents with the given
	// hashes; hashes with no stored content are left out.
	GetAttachments(ctx context.Context, storeID int64, sha2s []string) ([]Attachment, error)
}

// Credential is an xAPI client credential as stored: the secret only as a
// salted hash.
type Credential struct {
	Key        string
	StoreID    int64
	Name       string
	Scopes     []string
	SecretSalt []byte
	SecretHash []byte
	Source     string // "config" (from the config file) or "generated"
	CreatedAt  time.Time
}

// CredentialStore persists credentials.
type CredentialStore interface {
	// GetCredential returns the credential with key, or ENOTFOUND.
	GetCredential(ctx context.Context, key string) (*Credential, error)
	// PutCredential inserts or replaces the credential with c.Key.
	PutCredential(ctx context.Context, c *Credential) error
	// ListCredentials returns every credential.
	ListCredentials(ctx context.Context) ([]*Credential, error)
	// DeleteCredential removes the credential with key (no error if absent).
	DeleteCredential(ctx context.Context, key string) error
}

// Checkpoint is how far a source (a Moodle site) has been read, stored in
// the same transaction as the statements the reading produced.
type Checkpoint struct {
	Source   string
	Position int64  // e.g. the last logstore_standard_log id done
	Status   []byte // JSON the source keeps with its cursor (counts, last error)
	Updated  time.Time
}

// CheckpointStore stores statements together with a source's cursor.
type CheckpointStore interface {
	InsertStatementsAt(ctx context.Context, storeID int64, stmts []*NewStatement, cp *Checkpoint) (int, error)
	SyncCursor(ctx context.Context, source string) (*Checkpoint, error)
}
