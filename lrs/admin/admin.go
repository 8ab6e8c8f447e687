// Package admin is the organisation, store, credential and persona
// management behind the admin API and the CLI: tenants, persons, export,
// erasure and retention.
package admin

import (
	"context"

	"github.com/xapibridge/bridge/lrs"
)

// TenantStore persists organisations and stores.
type TenantStore interface {
	CreateOrganisation(ctx context.Context, name string) (*lrs.Organisation, error) // lrs.ECONFLICT on a taken name
	ListOrganisations(ctx context.Context) ([]*lrs.Organisation, error)
	GetOrganisation(ctx context.Context, id int64) (*lrs.Organisation, error)
	RenameOrganisation(ctx context.Context, id int64, name string) error
	DeleteOrganisation(ctx context.Context, id int64) error // lrs.ECONFLICT while it has stores
	CreateStore(ctx context.Context, orgID int64, name string) (*lrs.Store, error)
	ListStores(ctx context.Context, orgID int64) ([]*lrs.Store, error) // orgID 0: every store
	GetStore(ctx context.Context, id int64) (*lrs.Store, error)
	// FindStore resolves "name" (in the default organisation) or "org/name".
	FindStore(ctx context.Context, ref string) (*lrs.Store, error)
	UpdateStore(ctx context.Context, s *lrs.Store) error // name and retention
	// DeleteStore removes a store and everything in it.
	DeleteStore(ctx context.Context, id int64) error
	StoreStats(ctx context.Context, id int64) (*lrs.StoreStats, error)
}

// PersonStore persists personas.
type PersonStore interface {
	// CreatePerson creates a person with agents; ECONFLICT when an agent
	// already belongs to another person of the store.
	CreatePerson(ctx context.Context, storeID int64, name string, agents []lrs.PersonAgent) (*lrs.Person, error)
	GetPerson(ctx context.Context, storeID, id int64) (*lrs.Person, error)
	ListPersons(ctx context.Context, storeID int64, afterID int64, limit int) ([]*lrs.Person, error)
	AddPersonAgents(ctx context.Context, storeID, personID int64, agents []lrs.PersonAgent) error
	// MergePersons moves every agent of from into into and deletes from.
	MergePersons(ctx context.Context, storeID, into, from int64) error
	DeletePerson(ctx context.Context, storeID, id int64) error
	// PersonOfAgent returns the person an agent belongs to, or ENOTFOUND.
	PersonOfAgent(ctx context.Context, storeID int64, agentKey string) (*lrs.Person, error)
	// AttachAgents makes agents one person: the existing person of any of
	// them (merging if they belong to several), or a new one named name.
	AttachAgents(ctx context.Context, storeID int64, name string, agents []lrs.PersonAgent) (*lrs.Person, error)
	// AttachAgentSets does what AttachAgents does for each set, in one
	// transaction; a set whose agents all belong to one person already
	// costs no write. For adapters attaching many users at once.
	AttachAgentSets(ctx context.Context, storeID int64, sets []lrs.AgentSet) error
}

// Admin is the organisation, store, credential and persona management
// behind the admin API and the CLI. Its methods are spread over the files
// that implement each area (tenants, persons, export, erasure, retention).
type Admin struct {
	Tenants     TenantStore
	Persons     PersonStore
	Credentials lrs.CredentialStore
	Statements  lrs.StatementStore
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
	EraseAgents(ctx context.Context, storeID, personID int64, agentKeys []string, requestedBy string) (*lrs.Erasure, error)
	ListErasures(ctx context.Context, storeID int64) ([]*lrs.Erasure, error)
}

// Exporter streams a store's statements.
type Exporter interface {
	// ScanStatements calls fn for every statement of the store matching q
	// (its filters, and Since/Until), oldest first, reading in pages so
	// memory stays constant; Limit is ignored. Voided statements are
	// included when withVoided.
	ScanStatements(ctx context.Context, storeID int64, q lrs.Query, withVoided bool, fn func(lrs.StoredStatement) error) error
	// DeleteStatementsUpTo removes the statements of a store with pk <= maxPK
	// (and their index rows, deliveries and documents-free data), for
	// retention; it returns how many it removed.
	DeleteStatementsUpTo(ctx context.Context, storeID, maxPK int64) (int64, error)
}
