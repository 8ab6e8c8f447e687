package lrs

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"mime"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// DocumentKind says which document resource a document belongs to.
type DocumentKind int

// Document resources.
const (
	KindState           DocumentKind = 1 // /activities/state
	KindActivityProfile DocumentKind = 2 // /activities/profile
	KindAgentProfile    DocumentKind = 3 // /agents/profile
)

func (k DocumentKind) String() string {
	switch k {
	case KindState:
		return "state"
	case KindActivityProfile:
		return "activity profile"
	case KindAgentProfile:
		return "agent profile"
	}
	return "document"
}

// DocumentKey names a document, or (with an empty DocID) the set of
// documents a multiple-document GET lists or a State DELETE clears.
type DocumentKey struct {
	Kind DocumentKind
	// ActivityID is the activityId parameter (State, Activity Profile).
	ActivityID string
	// AgentKey is xapi.AgentKey of the agent parameter (State, Agent Profile).
	AgentKey string
	// Registration is the lowercase registration UUID (State only). For one
	// document "" means "no registration"; for a set it means "any".
	Registration string
	// DocID is the stateId or profileId.
	DocID string
}

// Document is a stored document.
type Document struct {
	ContentType string // as sent by the client
	Body        []byte // byte for byte
	ETag        string // lowercase SHA-1 hex of Body, unquoted
	Updated     time.Time
}

// DocumentStore persists documents and canonical Activities. Implementations
// must be safe for concurrent use.
type DocumentStore interface {
	// GetDocument returns the document k names, or ENOTFOUND.
	GetDocument(ctx context.Context, storeID int64, k DocumentKey) (*Document, error)
	// UpdateDocument reads the document k names (nil if absent) and calls fn
	// with it, atomically with storing what fn decides: next to write it,
	// del to delete it, neither to leave it. An error from fn aborts without
	// change and is returned. fn may be called more than once (retries).
	UpdateDocument(ctx context.Context, storeID int64, k DocumentKey,
		fn func(cur *Document) (next *Document, del bool, err error)) error
	// ListDocumentIDs returns the ids of the documents in the set k names
	// (k.DocID is ignored), updated strictly after since when since is not
	// nil, sorted, and the newest update time among them.
	ListDocumentIDs(ctx context.Context, storeID int64, k DocumentKey, since *time.Time) ([]string, time.Time, error)
	// DeleteDocuments deletes every document in the set k names.
	DeleteDocuments(ctx context.Context, storeID int64, k DocumentKey) error
	// GetActivity returns the canonical Activity object with id as JSON, or
	// ENOTFOUND if no statement has used it.
	GetActivity(ctx context.Context, storeID int64, id string) ([]byte, error)
}

// Documents serves the document resources (State, Activity Profile, Agent
// Profile) and the Activities and Agents resources. It owns their rules:
// scopes, concurrency preconditions, ETags, JSON merging.
type Documents struct {
	Store DocumentStore
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// MaxBytes bounds a document a POST merge produces (a PUT is bounded
	// by the request body limit); 0 means DefaultMaxDocumentBytes. Without
	// it, repeated merges grow a document without end.
	MaxBytes int
}

// DefaultMaxDocumentBytes is Documents.MaxBytes when zero: 16 MiB, the
// default request body limit (xapi.max_body_bytes), so a merge never
// makes a document larger than one PUT could send.
const DefaultMaxDocumentBytes = 16 << 20

func (d *Documents) maxBytes() int {
	if d.MaxBytes > 0 {
		return d.MaxBytes
	}
	return DefaultMaxDocumentBytes
}

func (d *Documents) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Scope checks.

func (p *Principal) canWriteDocs(k DocumentKind) bool {
	if p.has(ScopeAll) {
		return true
	}
	if k == KindState {
		return p.has(ScopeState)
	}
	return p.has(ScopeProfile)
}

func (p *Principal) canReadDocs(k DocumentKind) bool {
	return p.has(ScopeAllRead) || p.canWriteDocs(k)
}

// CanReadDefinitions reports whether p may use the Activities and Agents
// resources.
func (p *Principal) CanReadDefinitions() bool {
	return p.has(ScopeAll) || p.has(ScopeAllRead) || p.has(ScopeDefine) || p.has(ScopeProfile) || p.has(ScopeState)
}

func checkRead(p *Principal, k DocumentKind) error {
	if !p.canReadDocs(k) {
		return Errorf(EFORBIDDEN, "credential %q lacks a scope to read %s documents", p.Key, k)
	}
	return nil
}

func checkWrite(p *Principal, k DocumentKind) error {
	if !p.canWriteDocs(k) {
		scope := ScopeProfile
		if k == KindState {
			scope = ScopeState
		}
		return Errorf(EFORBIDDEN, "credential %q lacks the %s scope", p.Key, scope)
	}
	return nil
}

// ETag returns the ETag of a document body: the lowercase SHA-1 hex digest.
func ETag(body []byte) string {
	h := sha1.Sum(body)
	return hex.EncodeToString(h[:])
}

// IsJSONType reports whether a Content-Type value is application/json
// (parameters such as charset ignored).
func IsJSONType(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
	}
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// Preconditions are the HTTP conditional request headers, as sent.
type Preconditions struct {
	IfMatch     string
	IfNoneMatch string
}

func (pc Preconditions) none() bool {
	return strings.TrimSpace(pc.IfMatch) == "" && strings.TrimSpace(pc.IfNoneMatch) == ""
}

// etagListMatches reports whether an If-Match / If-None-Match value ("*" or
// a list of quoted, possibly weak, entity tags) matches the current
// document (nil when there is none).
func etagListMatches(h string, cur *Document) bool {
	if cur == nil {
		return false
	}
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		t = strings.Trim(t, `"`)
		if t != "" && strings.EqualFold(t, cur.ETag) {
			return true
		}
	}
	return false
}

// check applies If-Match and If-None-Match (RFC 7232 §3.1, §3.2) to cur.
func (pc Preconditions) check(cur *Document) error {
	if im := strings.TrimSpace(pc.IfMatch); im != "" && !etagListMatches(im, cur) {
		if cur == nil {
			return Errorf(EPRECONDITION, "If-Match: the document does not exist")
		}
		return Errorf(EPRECONDITION, "If-Match: the document has changed (its ETag is \"%s\")", cur.ETag)
	}
	if inm := strings.TrimSpace(pc.IfNoneMatch); inm != "" && etagListMatches(inm, cur) {
		return Errorf(EPRECONDITION, "If-None-Match: the document exists (its ETag is \"%s\")", cur.ETag)
	}
	return nil
}

// DocumentWrite is a PUT or POST to a document resource.
type DocumentWrite struct {
	Key         DocumentKey
	ContentType string
	Body        []byte
	Preconditions
}

const maxContentType = 255

func (d *Documents) newDoc(w *DocumentWrite, body []byte) *Document {
	return &Document{ContentType: w.ContentType, Body: body, ETag: ETag(body), Updated: d.now().UTC().Truncate(time.Microsecond)}
}

func validateWrite(w *DocumentWrite) error {
	if w.ContentType == "" {
		w.ContentType = "application/octet-stream"
	}
	if len(w.ContentType) > maxContentType {
		return Errorf(EINVALID, "Content-Type: longer than %d bytes", maxContentType)
	}
	if w.Key.DocID == "" {
		return Errorf(EINVALID, "%s: parameter is required", docIDParam(w.Key.Kind))
	}
	return nil
}

func docIDParam(k DocumentKind) string {
	if k == KindState {
		return "stateId"
	}
	return "profileId"
}

// Put stores w.Body as the document, replacing any. Clients of xAPI 2.0,
// and of 1.0.3 for the profile resources, must send If-Match or
// If-None-Match to replace an existing document (409 otherwise); 1.0.3
// clients must send one of them for any profile PUT (400 otherwise), as the
// ADL conformance suite checks. The State resource of 1.0.3 permits PUT
// without concurrency headers, as its specification says.
func (d *Documents) Put(ctx context.Context, p *Principal, v xapi.Version, w *DocumentWrite) (*Document, error) {
	if err := checkWrite(p, w.Key.Kind); err != nil {
		return nil, err
	}
	if err := validateWrite(w); err != nil {
		return nil, err
	}
	var stored *Document
	err := d.Store.UpdateDocument(ctx, p.StoreID, w.Key, func(cur *Document) (*Document, bool, error) {
		if err := w.check(cur); err != nil {
			return nil, false, err
		}
		if w.none() {
			strict := w.Key.Kind != KindState || v != xapi.V103
			if cur != nil && strict {
				return nil, false, Errorf(ECONFLICT, "the %s document %q already exists: GET it and send its ETag in If-Match to replace it (or use If-None-Match: * to create only)", w.Key.Kind, w.Key.DocID)
			}
			if cur == nil && w.Key.Kind != KindState && v == xapi.V103 {
				return nil, false, Errorf(EINVALID, "If-Match or If-None-Match header required to PUT a %s document", w.Key.Kind)
			}
		}
		stored = d.newDoc(w, w.Body)
		return stored, false, nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// Post stores w.Body as the document when there is none, or merges it into
// the existing one: both must be application/json objects; top-level
// properties of the posted object replace those of the stored one.
func (d *Documents) Post(ctx context.Context, p *Principal, v xapi.Version, w *DocumentWrite) (*Document, error) {
	if err := checkWrite(p, w.Key.Kind); err != nil {
		return nil, err
	}
	if err := validateWrite(w); err != nil {
		return nil, err
	}
	var posted map[string]any
	if IsJSONType(w.ContentType) {
		var err error
		if posted, err = jsonObject(w.Body); err != nil {
			return nil, Errorf(EINVALID, "document: Content-Type is application/json but the body is not a JSON object: %v", err)
		}
	}
	var stored *Document
	err := d.Store.UpdateDocument(ctx, p.StoreID, w.Key, func(cur *Document) (*Document, bool, error) {
		if err := w.check(cur); err != nil {
			return nil, false, err
		}
		if cur == nil {
			stored = d.newDoc(w, w.Body)
			return stored, false, nil
		}
		if posted == nil {
			return nil, false, Errorf(EINVALID, "document: POST merges JSON objects; send Content-Type application/json with a JSON object, or PUT to replace the document")
		}
		if !IsJSONType(cur.ContentType) {
			return nil, false, Errorf(EINVALID, "the stored %s document is not application/json (it is %q), so a POST cannot merge into it; PUT to replace it", w.Key.Kind, cur.ContentType)
		}
		old, err := jsonObject(cur.Body)
		if err != nil {
			return nil, false, Errorf(EINVALID, "the stored %s document is not a JSON object, so a POST cannot merge into it; PUT to replace it", w.Key.Kind)
		}
		for k, v := range posted {
			old[k] = v
		}
		body, err := xapi.EncodeJSON(old)
		if err != nil {
			return nil, false, Internal(err, "encoding merged document")
		}
		if len(body) > d.maxBytes() {
			return nil, false, Errorf(ETOOLARGE, "the merged %s document would be %d bytes, more than the limit of %d bytes", w.Key.Kind, len(body), d.maxBytes())
		}
		stored = d.newDoc(w, body)
		stored.ContentType = cur.ContentType
		return stored, false, nil
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

// Get returns one document.
func (d *Documents) Get(ctx context.Context, p *Principal, k DocumentKey) (*Document, error) {
	if err := checkRead(p, k.Kind); err != nil {
		return nil, err
	}
	return d.Store.GetDocument(ctx, p.StoreID, k)
}

// List returns the ids of the documents in the set k names updated after
// since (when given), and the newest update time among them (zero if none).
func (d *Documents) List(ctx context.Context, p *Principal, k DocumentKey, since *time.Time) ([]string, time.Time, error) {
	if err := checkRead(p, k.Kind); err != nil {
		return nil, time.Time{}, err
	}
	k.DocID = ""
	ids, last, err := d.Store.ListDocumentIDs(ctx, p.StoreID, k, since)
	if ids == nil && err == nil {
		ids = []string{}
	}
	return ids, last, err
}

// Delete deletes one document (no error if there is none, unless a
// precondition fails).
func (d *Documents) Delete(ctx context.Context, p *Principal, k DocumentKey, pc Preconditions) error {
	if err := checkWrite(p, k.Kind); err != nil {
		return err
	}
	if k.DocID == "" {
		return Errorf(EINVALID, "%s: parameter is required", docIDParam(k.Kind))
	}
	return d.Store.UpdateDocument(ctx, p.StoreID, k, func(cur *Document) (*Document, bool, error) {
		if err := pc.check(cur); err != nil {
			return nil, false, err
		}
		return nil, cur != nil, nil
	})
}

// DeleteAll deletes every State document of an Activity and Agent (and
// registration, when k has one).
func (d *Documents) DeleteAll(ctx context.Context, p *Principal, k DocumentKey) error {
	if err := checkWrite(p, k.Kind); err != nil {
		return err
	}
	if k.Kind != KindState {
		return Errorf(EINVALID, "profileId: parameter is required")
	}
	k.DocID = ""
	return d.Store.DeleteDocuments(ctx, p.StoreID, k)
}

// Activity returns the canonical Activity object for id as JSON: what the
// LRS has merged from the statements that used it, or just the id when no
// statement has.
func (d *Documents) Activity(ctx context.Context, p *Principal, id string) ([]byte, error) {
	if !p.CanReadDefinitions() {
		return nil, Errorf(EFORBIDDEN, "credential %q lacks a scope to read Activities", p.Key)
	}
	b, err := d.Store.GetActivity(ctx, p.StoreID, id)
	if ErrorCode(err) == ENOTFOUND {
		return xapi.EncodeJSON(map[string]any{"objectType": "Activity", "id": id})
	}
	return b, err
}

// Person returns the Person object for an Agent: every property an array.
// The LRS knows nothing about agents beyond what the request says, so the
// Person holds the given Agent's name and identifier.
func (d *Documents) Person(p *Principal, agent map[string]any) (map[string]any, error) {
	if !p.CanReadDefinitions() {
		return nil, Errorf(EFORBIDDEN, "credential %q lacks a scope to read Agents", p.Key)
	}
	if ot, _ := agent["objectType"].(string); ot == "Group" {
		return nil, Errorf(EINVALID, "agent: must be an Agent, not a Group")
	}
	out := map[string]any{"objectType": "Person"}
	for _, k := range []string{"name", "mbox", "mbox_sha1sum", "openid", "account"} {
		if v, ok := agent[k]; ok {
			out[k] = []any{v}
		}
	}
	return out, nil
}

// jsonObject decodes body as one JSON object (numbers kept exact).
func jsonObject(body []byte) (map[string]any, error) {
	v, err := xapi.DecodeJSON(body)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, Errorf(EINVALID, "not a JSON object")
	}
	return m, nil
}
