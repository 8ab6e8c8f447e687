package lrs

import (
	"context"
	"time"
)

// OutboxItem is a pending or dead delivery of a statement to a target.
type OutboxItem struct {
	ID          int64
	StoreID     int64
	Target      string
	Rule        string
	PersonalKey string
	Attempts    int
	CreatedAt   time.Time // when the statement was stored (and the delivery recorded)
	NextAt      time.Time
	LastStatus  int
	LastError   string
	StatementID string
	Statement   []byte // the statement as stored
	// Lease is the claim this item was returned under (see
	// ClaimDeliveries); recording an outcome needs it, so a worker whose
	// lease ran out cannot reset another worker's claim.
	Lease int64
}

// TargetStats summarises a target's outbox. OutboxStats fills Target,
// Pending and Dead; OutboxDetails fills every field.
type TargetStats struct {
	Target  string
	Pending int64
	Dead    int64
	// Retrying counts the pending deliveries that have failed at least once
	// (attempts > 0).
	Retrying int64
	// OldestPending is when the oldest pending delivery was recorded: when
	// its statement was stored (a back-fill: when the statement was stored;
	// a replay: when it was replayed). Zero when nothing is pending.
	OldestPending time.Time
}

// TargetHealth is what the running bridges last recorded about a target:
// its circuit breaker's state and why it changed, and the error of the
// most recent failed attempt to deliver to it. Bridges sharing a database
// share these rows: the latest report wins.
type TargetHealth struct {
	Target       string
	Breaker      string // "closed", "open", "half-open"; "" if never recorded
	BreakerSince time.Time
	BreakerCause string
	LastStatus   int // HTTP status of the most recent failed attempt, 0 if none answered
	LastError    string
	LastErrorAt  time.Time // zero if no attempt has failed
}

// TargetHealthStore keeps TargetHealth, so `bridge forward status` (another
// process) reads what the serving bridges saw.
type TargetHealthStore interface {
	// RecordBreaker records a breaker transition of target to state.
	RecordBreaker(ctx context.Context, target, state, cause string, at time.Time) error
	// RecordFailure records a failed delivery attempt to target.
	RecordFailure(ctx context.Context, target string, status int, msg string, at time.Time) error
	// TargetHealth lists every target something was recorded for.
	TargetHealth(ctx context.Context) ([]TargetHealth, error)
}

// DeadFilter selects dead deliveries; zero fields select all.
type DeadFilter struct {
	Target string
	IDs    []int64
	Limit  int
}

// Outbox is the durable forwarding queue. Rows are created with their
// statement (StatementStore.InsertStatements); several bridge processes may
// share it, each claiming rows under a lease.
type Outbox interface {
	// ClaimDeliveries leases up to limit due deliveries of target until
	// leaseUntil, so no other worker takes them, and returns them with their
	// statements.
	ClaimDeliveries(ctx context.Context, target string, limit int, now, leaseUntil time.Time) ([]OutboxItem, error)
	// ClaimPart is ClaimDeliveries restricted to the deliveries whose id
	// modulo parts is part (0 <= part < parts): the workers of one process
	// claim side by side without contending for the same rows.
	ClaimPart(ctx context.Context, target string, part, parts, limit int, now, leaseUntil time.Time) ([]OutboxItem, error)
	// CompleteDeliveries removes delivered rows.
	CompleteDeliveries(ctx context.Context, ids []int64) error
	// RetryDelivery records a failed attempt and when to try again, if the
	// delivery is still under lease (else another worker owns it now and
	// nothing changes).
	RetryDelivery(ctx context.Context, id, lease int64, attempts int, next time.Time, status int, msg string) error
	// KillDelivery moves a delivery to the dead letters, under the same
	// lease condition.
	KillDelivery(ctx context.Context, id, lease int64, attempts int, status int, msg string) error
	// OutboxStats counts pending and dead deliveries per target.
	OutboxStats(ctx context.Context) ([]TargetStats, error)
	// OutboxDetails is OutboxStats with the retrying deliveries and the
	// oldest pending one of each target (a few indexed queries per target
	// with pending deliveries).
	OutboxDetails(ctx context.Context) ([]TargetStats, error)
	// ListDead, ReplayDead and DiscardDead manage the dead letters.
	ListDead(ctx context.Context, f DeadFilter) ([]OutboxItem, error)
	ReplayDead(ctx context.Context, f DeadFilter, now time.Time) (int64, error)
	DiscardDead(ctx context.Context, f DeadFilter) (int64, error)
	// Backfill records deliveries for statements already stored: route is
	// called for each statement of store storeID stored at or after since;
	// existing pending deliveries are not duplicated. Returns how many were
	// recorded.
	Backfill(ctx context.Context, storeID int64, since time.Time, route func(stmt map[string]any) []Delivery) (int64, error)
}

// PersonalLRS is a learner's own LRS, registered so rules can forward the
// learner's statements to it (target "personal").
type PersonalLRS struct {
	StoreID     int64
	AgentKey    string // xapi.AgentKey of the learner
	Agent       []byte // the learner's Agent JSON
	Endpoint    string
	Version     string
	Credentials []byte // sealed (encrypted) credentials, see forwarding keys
	CreatedAt   time.Time
}

// PersonalStore persists personal LRS registrations.
type PersonalStore interface {
	PutPersonalLRS(ctx context.Context, p *PersonalLRS) error
	GetPersonalLRS(ctx context.Context, storeID int64, agentKey string) (*PersonalLRS, error)
	ListPersonalLRS(ctx context.Context, storeID int64) ([]*PersonalLRS, error)
	DeletePersonalLRS(ctx context.Context, storeID int64, agentKey string) error
}
