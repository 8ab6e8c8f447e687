package lrs

import (
	"context"
	"encoding/json"
	"time"
)

// Organisation owns stores.
type Organisation struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created"`
}

// Store is an isolated LRS: its statements, documents, attachments,
// credentials and persons are invisible to every other store.
type Store struct {
	ID    int64  `json:"id"`
	OrgID int64  `json:"org_id"`
	Name  string `json:"name"`
	// Retention, when positive, is the age after which statements are
	// archived to NDJSON files and removed.
	Retention time.Duration `json:"-"`
	CreatedAt time.Time     `json:"created"`
}

// StoreStats describes what a store holds.
type StoreStats struct {
	StoreID         int64      `json:"store_id"`
	Statements      int64      `json:"statements"`
	Voided          int64      `json:"voided"`
	Documents       int64      `json:"documents"`
	Activities      int64      `json:"activities"`
	Attachments     int64      `json:"attachments"`
	AttachmentBytes int64      `json:"attachment_bytes"`
	Credentials     int64      `json:"credentials"`
	Persons         int64      `json:"persons"`
	PendingForwards int64      `json:"pending_forwards"`
	FirstStored     *time.Time `json:"first_stored,omitempty"`
	LastStored      *time.Time `json:"last_stored,omitempty"`
}

// PersonAgent is one agent (identified by its IFI) of a person.
type PersonAgent struct {
	Key   string          `json:"key"`   // xapi.AgentKey
	Agent json.RawMessage `json:"agent"` // the Agent object
}

// Person groups the agents of one human in a store (a persona).
type Person struct {
	ID        int64         `json:"id"`
	StoreID   int64         `json:"store_id"`
	Name      string        `json:"name"`
	Agents    []PersonAgent `json:"agents"`
	CreatedAt time.Time     `json:"created"`
}

// Erasure records that a person was erased from a store, without the
// erased data.
type Erasure struct {
	ID                 int64     `json:"id"`
	StoreID            int64     `json:"store_id"`
	PersonID           int64     `json:"person_id"`
	Agents             int       `json:"agents"`
	StatementsDeleted  int       `json:"statements_deleted"`
	StatementsRedacted int       `json:"statements_redacted"`
	DocumentsDeleted   int       `json:"documents_deleted"`
	RequestedBy        string    `json:"requested_by"`
	CreatedAt          time.Time `json:"created"`
}

// TenantStore persists organisations and stores.
type TenantStore interface {
	CreateOrganisation(ctx context.Context, name string) (*Organisation, error) // ECONFLICT on a taken name
	ListOrganisations(ctx context.Context) ([]*Organisation, error)
	GetOrganisation(ctx context.Context, id int64) (*Organisation, error)
	RenameOrganisation(ctx context.Context, id int64, name string) error
	DeleteOrganisation(ctx context.Context, id int64) error // ECONFLICT while it has stores
	CreateStore(ctx context.Context, orgID int64, name string) (*Store, error)
	ListStores(ctx context.Context, orgID int64) ([]*Store, error) // orgID 0: every store
	GetStore(ctx context.Context, id int64) (*Store, error)
	// FindStore resolves "name" (in the default organisation) or "org/name".
	FindStore(ctx context.Context, ref string) (*Store, error)
	UpdateStore(ctx context.Context, s *Store) error // name and retention
	// DeleteStore removes a store and everything in it.
	DeleteStore(ctx context.Context, id int64) error
	StoreStats(ctx context.Context, id int64) (*StoreStats, error)
}

// PersonStore persists personas.
type PersonStore interface {
	// CreatePerson creates a person with agents; ECONFLICT when an agent
	// already belongs to another person of the store.
	CreatePerson(ctx context.Context, storeID int64, name string, agents []PersonAgent) (*Person, error)
	GetPerson(ctx context.Context, storeID, id int64) (*Person, error)
	ListPersons(ctx context.Context, storeID int64, afterID int64, limit int) ([]*Person, error)
	AddPersonAgents(ctx context.Context, storeID, personID int64, agents []PersonAgent) error
	// MergePersons moves every agent of from into into and deletes from.
	MergePersons(ctx context.Context, storeID, into, from int64) error
	DeletePerson(ctx context.Context, storeID, id int64) error
	// PersonOfAgent returns the person an agent belongs to, or ENOTFOUND.
	PersonOfAgent(ctx context.Context, storeID int64, agentKey string) (*Person, error)
	// AttachAgents makes agents one person: the existing person of any of
	// them (merging if they belong to several), or a new one named name.
	AttachAgents(ctx context.Context, storeID int64, name string, agents []PersonAgent) (*Person, error)
	// AttachAgentSets does what AttachAgents does for each set, in one
	// transaction; a set whose agents all belong to one person already
	// costs no write. For adapters attaching many users at once.
	AttachAgentSets(ctx context.Context, storeID int64, sets []AgentSet) error
}

// AgentSet is the agents of one person and the name a new person gets.
type AgentSet struct {
	Name   string
	Agents []PersonAgent
}

// Admin is the organisation, store, credential and persona management
// behind the admin API and the CLI. Its methods are spread over the files
// that implement each area (tenants, persons, export, erasure, retention).
type Admin struct {
	Tenants     TenantStore
	Persons     PersonStore
	Credentials CredentialStore
	Statements  StatementStore
	// Eraser and Exporter are implemented by the SQL store.
	Eraser   Eraser
	Exporter Exporter
	// BaseURL is the homePage of credential authorities.
	BaseURL string
	// Forget drops a credential from the authentication cache after it
	// changes (rotation, deletion).
	Forget func(key string)
}

// Eraser removes a person's data from a store.
type Eraser interface {
	// EraseAgents deletes the statements whose actor is one of agentKeys,
	// the documents (state, agent profiles) of those agents, and replaces
	// those agents wherever else they appear in statements of others; it
	// records the erasure (counts only) and returns it.
	EraseAgents(ctx context.Context, storeID, personID int64, agentKeys []string, requestedBy string) (*Erasure, error)
	ListErasures(ctx context.Context, storeID int64) ([]*Erasure, error)
}

// Exporter streams a store's statements.
type Exporter interface {
	// ScanStatements calls fn for every statement of the store matching q
	// (its filters, and Since/Until), oldest first, reading in pages so
	// memory stays constant; Limit is ignored. Voided statements are
	// included when withVoided.
	ScanStatements(ctx context.Context, storeID int64, q Query, withVoided bool, fn func(StoredStatement) error) error
	// DeleteStatementsUpTo removes the statements of a store with pk <= maxPK
	// (and their index rows, deliveries and documents-free data), for
	// retention; it returns how many it removed.
	DeleteStatementsUpTo(ctx context.Context, storeID, maxPK int64) (int64, error)
}
