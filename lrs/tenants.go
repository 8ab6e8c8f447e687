package lrs

import (
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

// AgentSet is the agents of one person and the name a new person gets.
type AgentSet struct {
	Name   string
	Agents []PersonAgent
}
