package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/admin"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// The services the HTTP layer serves, as small interfaces declared here:
// the handlers depend on what they call, not on how the bridge is wired,
// and tests give them fakes.

// Statements is the statement service (lrs.Service).
type Statements interface {
	StoreStatements(ctx context.Context, p *lrs.Principal, v xapi.Version, stmts []map[string]any, batch bool, parts []lrs.Attachment) ([]string, error)
	GetStatement(ctx context.Context, p *lrs.Principal, id string, voided bool) (*lrs.StoredStatement, error)
	QueryStatements(ctx context.Context, p *lrs.Principal, q lrs.Query) ([]lrs.StoredStatement, bool, error)
	Attachments(ctx context.Context, p *lrs.Principal, bodies [][]byte) ([]lrs.Attachment, error)
	// ConsistentThrough is the X-Experience-API-Consistent-Through time.
	ConsistentThrough() time.Time
}

// Documents serves the State, Activity Profile and Agent Profile resources,
// Activities and Agents (lrs.Documents).
type Documents interface {
	Put(ctx context.Context, p *lrs.Principal, v xapi.Version, w *lrs.DocumentWrite) (*lrs.Document, error)
	Post(ctx context.Context, p *lrs.Principal, v xapi.Version, w *lrs.DocumentWrite) (*lrs.Document, error)
	Get(ctx context.Context, p *lrs.Principal, k lrs.DocumentKey) (*lrs.Document, error)
	List(ctx context.Context, p *lrs.Principal, k lrs.DocumentKey, since *time.Time) ([]string, time.Time, error)
	Delete(ctx context.Context, p *lrs.Principal, k lrs.DocumentKey, pc lrs.Preconditions) error
	DeleteAll(ctx context.Context, p *lrs.Principal, k lrs.DocumentKey) error
	Activity(ctx context.Context, p *lrs.Principal, id string) ([]byte, error)
	Person(p *lrs.Principal, agent map[string]any) (map[string]any, error)
}

// Authenticator checks xAPI credentials (lrs.Authenticator).
type Authenticator interface {
	Authenticate(ctx context.Context, key, secret string) (*lrs.Principal, error)
}

// Tenants manages organisations, stores, credentials and persons, and
// exports, erases and applies retention (admin.Admin).
type Tenants interface {
	CreateOrganisation(ctx context.Context, name string) (*lrs.Organisation, error)
	ListOrganisations(ctx context.Context) ([]*lrs.Organisation, error)
	GetOrganisation(ctx context.Context, id int64) (*lrs.Organisation, error)
	RenameOrganisation(ctx context.Context, id int64, name string) (*lrs.Organisation, error)
	DeleteOrganisation(ctx context.Context, id int64) error

	CreateStore(ctx context.Context, orgID int64, name string) (*lrs.Store, error)
	ListStores(ctx context.Context, orgID int64) ([]*lrs.Store, error)
	GetStore(ctx context.Context, id int64) (*lrs.Store, error)
	// ResolveStore finds a store by id, name (default organisation) or
	// org/name.
	ResolveStore(ctx context.Context, ref string) (*lrs.Store, error)
	UpdateStore(ctx context.Context, id int64, u admin.StoreUpdate) (*lrs.Store, error)
	DeleteStore(ctx context.Context, id int64, confirm string) error
	StoreStats(ctx context.Context, id int64) (*lrs.StoreStats, error)

	CreateCredential(ctx context.Context, storeID int64, spec admin.CredentialSpec) (*admin.CredentialInfo, string, error)
	ListCredentials(ctx context.Context, storeID int64) ([]*admin.CredentialInfo, error)
	GetCredential(ctx context.Context, key string) (*admin.CredentialInfo, error)
	UpdateCredential(ctx context.Context, key string, u admin.CredentialUpdate) (*admin.CredentialInfo, error)
	RotateCredential(ctx context.Context, key string) (*admin.CredentialInfo, string, error)
	DeleteCredential(ctx context.Context, key string) error

	CreatePerson(ctx context.Context, storeID int64, name string, agents []json.RawMessage) (*lrs.Person, error)
	GetPerson(ctx context.Context, storeID, id int64) (*lrs.Person, error)
	ListPersons(ctx context.Context, storeID, after int64, limit int) ([]*lrs.Person, bool, error)
	AddPersonAgents(ctx context.Context, storeID, id int64, agents []json.RawMessage) (*lrs.Person, error)
	MergePersons(ctx context.Context, storeID, into, from int64) (*lrs.Person, error)
	DeletePerson(ctx context.Context, storeID, id int64) error
	PersonStatements(ctx context.Context, storeID, personID int64, q lrs.Query) ([]lrs.StoredStatement, bool, error)

	Export(ctx context.Context, storeID int64, q lrs.Query, format string, columns []string, w io.Writer) (int64, error)
	ErasePerson(ctx context.Context, storeID, personID int64, requestedBy string) (*lrs.Erasure, error)
	EraseAgent(ctx context.Context, storeID int64, agent json.RawMessage, requestedBy string) (*lrs.Erasure, error)
	ListErasures(ctx context.Context, storeID int64) ([]*lrs.Erasure, error)
	ApplyRetention(ctx context.Context, now time.Time, archiveDir string) ([]admin.RetentionRun, error)
}

// Forwarding is what operators do with forwarding (dispatch.Admin).
type Forwarding interface {
	Status(ctx context.Context) ([]dispatch.TargetStatus, error)
	Dead(ctx context.Context, f lrs.DeadFilter, withStatements bool) ([]dispatch.DeadLetter, error)
	Replay(ctx context.Context, f lrs.DeadFilter) (int64, error)
	Discard(ctx context.Context, f lrs.DeadFilter) (int64, error)
	// Backfill records the deliveries one rule chooses for statements
	// already stored, and wakes the dispatcher.
	Backfill(ctx context.Context, storeID int64, rule string, since time.Time) (int64, error)
	RegisterPersonal(ctx context.Context, storeID int64, r dispatch.PersonalRegistration) (*dispatch.PersonalView, error)
	ListPersonal(ctx context.Context, storeID int64) ([]*dispatch.PersonalView, error)
	DeletePersonal(ctx context.Context, storeID int64, agent map[string]any) error
}

// MoodleSources reports the configured Moodle sources.
type MoodleSources interface {
	Sources(ctx context.Context) ([]moodle.SourceStatus, error)
	// Rewind sets a source's cursor back (ENOTFOUND: no such source).
	Rewind(ctx context.Context, source string, r moodle.RewindRequest) (*moodle.SourceStatus, error)
}
