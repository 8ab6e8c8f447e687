package lrs

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// Service is the LRS: it validates, completes and stores statements and
// answers queries. It owns every xAPI rule that does not depend on the
// transport or the database, so both SQL dialects share them.
type Service struct {
	// Statements stores and reads statements (in the bridge, the SQL store
	// wrapped in group commit, store.GroupCommit).
	Statements StatementStore
	// Checkpoints stores an adapter's statements with its cursor
	// (StoreFromSource); nil means Statements implements CheckpointStore.
	Checkpoints CheckpointStore
	// Router, when set, chooses the forwarding targets of each statement:
	// prepare puts them in NewStatement.Deliveries, the store writes them to
	// the outbox in the statements' transaction, and Router.Routed is told
	// once they are committed.
	Router Router
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// DefaultLimit and MaxLimit bound GET /statements pages.
	DefaultLimit, MaxLimit int
	// MaxPageBytes bounds the statement bodies one page reads from the
	// store (the rest comes with more); default 16 MiB.
	MaxPageBytes int64

	stored atomic.Int64 // statements newly stored, for metrics

	inflightMu sync.Mutex
	inflight   map[time.Time]int // stored times of transactions not yet committed
}

// DefaultMaxPageBytes is Service.MaxPageBytes when zero: 16 MiB.
const DefaultMaxPageBytes = 16 << 20

// StoredTotal is how many statements this service has newly stored since
// it started (client requests and adapters alike).
func (s *Service) StoredTotal() int64 { return s.stored.Load() }

// begin records that statements stamped stored are being written; the
// returned func records that the write ended.
func (s *Service) begin(stored time.Time) func() {
	s.inflightMu.Lock()
	if s.inflight == nil {
		s.inflight = map[time.Time]int{}
	}
	s.inflight[stored]++
	s.inflightMu.Unlock()
	return func() {
		s.inflightMu.Lock()
		if s.inflight[stored]--; s.inflight[stored] <= 0 {
			delete(s.inflight, stored)
		}
		s.inflightMu.Unlock()
	}
}

// ConsistentThrough is the X-Experience-API-Consistent-Through time: every
// statement stored at or before it is visible. Statements are stamped
// before their transaction commits, so it is just before the oldest stamp
// still being written (now when none is).
func (s *Service) ConsistentThrough() time.Time {
	t := s.now().UTC()
	s.inflightMu.Lock()
	for st := range s.inflight {
		if !st.After(t) {
			t = st.Add(-time.Millisecond)
		}
	}
	s.inflightMu.Unlock()
	return t
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// StoreStatements validates stmts (sent by p in xAPI version v), completes
// them (id, stored, timestamp, authority, version) and stores them all or
// none, with the attachment parts of a multipart request. batch says whether
// the request body was an array, which only changes how error paths are
// named. It returns the ids in request order.
func (s *Service) StoreStatements(ctx context.Context, p *Principal, v xapi.Version, stmts []map[string]any, batch bool, parts []Attachment) ([]string, error) {
	if !p.CanWriteStatements() {
		return nil, Errorf(EFORBIDDEN, "credential %q lacks the statements/write scope", p.Key)
	}
	for i, st := range stmts {
		if err := xapi.ValidateStatement(st, v); err != nil {
			xe, _ := err.(*xapi.Error)
			if xe != nil && batch {
				xe = xe.WithIndex(i)
			}
			if xe != nil {
				return nil, Errorf(EINVALID, "%s", xe.Error())
			}
			return nil, Errorf(EINVALID, "%s", err.Error())
		}
	}
	parts, err := checkAttachments(stmts, parts, batch)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	seen := make(map[string]int, len(stmts))
	out := make([]*NewStatement, 0, len(stmts))
	ids := make([]string, 0, len(stmts))
	for i, st := range stmts {
		ns, err := s.prepare(p, v, st, now)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[ns.ID]; dup {
			where := "id"
			if batch {
				where = "[" + strconv.Itoa(i) + "].id"
			}
			return nil, Errorf(EINVALID, "%s: statement id %s appears twice in the batch (also at [%d])", where, ns.ID, j)
		}
		seen[ns.ID] = i
		out = append(out, ns)
		ids = append(ids, ns.ID)
	}
	if len(out) == 0 {
		return ids, nil
	}
	if sc := s.sizeChecker(); sc != nil {
		for i, ns := range out {
			if err := sc.CheckStatementSize(ns.Body); err != nil {
				if batch {
					return nil, Errorf(ErrorCode(err), "[%d]: %s", i, ErrorMessage(err))
				}
				return nil, err
			}
		}
	}
	done := s.begin(now)
	n, err := s.Statements.InsertStatements(ctx, p.StoreID, out, parts)
	done()
	if err != nil {
		return nil, err
	}
	s.committed(n, out)
	return ids, nil
}

// committed counts the statements newly stored and tells the router when
// any of them has deliveries (the dispatcher need not wake for the others).
func (s *Service) committed(n int, out []*NewStatement) {
	s.stored.Add(int64(n))
	if s.Router == nil || n == 0 {
		return
	}
	for _, ns := range out {
		if len(ns.Deliveries) > 0 {
			s.Router.Routed()
			return
		}
	}
}

// prepare fills in what the LRS sets in a validated statement.
func (s *Service) prepare(p *Principal, v xapi.Version, st map[string]any, now time.Time) (*NewStatement, error) {
	xapi.Normalize(st)
	id, _ := st["id"].(string)
	if id == "" {
		id = uuid.NewString()
	}
	id = strings.ToLower(id)
	st["id"] = id
	stored := xapi.FormatTimestamp(now)
	st["stored"] = stored
	// compare is what the immutability check sees: without a timestamp the
	// LRS assigned, so a re-sent statement without one still matches.
	compare := st
	if _, ok := st["timestamp"]; !ok {
		compare = make(map[string]any, len(st))
		for k, v := range st {
			compare[k] = v
		}
		st["timestamp"] = stored
	}
	st["authority"] = p.Authority
	if _, ok := st["version"]; !ok {
		if v == xapi.V103 {
			st["version"] = "1.0.0"
		} else {
			st["version"] = "2.0.0"
		}
	}
	body, err := xapi.Marshal(st)
	if err != nil {
		return nil, Internal(err, "encoding statement")
	}
	ns := &NewStatement{
		ID:           id,
		Stored:       now,
		Body:         body,
		Statement:    compare,
		Refs:         xapi.ExtractRefs(st),
		AuthorityKey: p.AuthorityKey,
	}
	if s.Router != nil {
		ns.Deliveries = s.Router.Route(p.StoreID, st)
	}
	return ns, nil
}

// GetStatement returns the statement with id. With voided=false it must not
// be voided (the statementId parameter); with voided=true it must be
// (voidedStatementId). Otherwise ENOTFOUND.
func (s *Service) GetStatement(ctx context.Context, p *Principal, id string, voided bool) (*StoredStatement, error) {
	ok, mine := p.CanReadStatements()
	if !ok {
		return nil, Errorf(EFORBIDDEN, "credential %q lacks a statements read scope", p.Key)
	}
	st, err := s.Statements.GetStatement(ctx, p.StoreID, strings.ToLower(id))
	if err != nil {
		return nil, err
	}
	if st.Voided != voided {
		if voided {
			return nil, Errorf(ENOTFOUND, "statement %s is not voided; fetch it with statementId", id)
		}
		return nil, Errorf(ENOTFOUND, "statement %s is voided; fetch it with voidedStatementId", id)
	}
	if mine && authorityKeyOf(st.Body) != p.AuthorityKey {
		return nil, Errorf(ENOTFOUND, "no statement with id %s", id)
	}
	return st, nil
}

// QueryStatements runs q for p, applying the page limits and, for
// statements/read/mine credentials, the authority restriction.
func (s *Service) QueryStatements(ctx context.Context, p *Principal, q Query) ([]StoredStatement, bool, error) {
	ok, mine := p.CanReadStatements()
	if !ok {
		return nil, false, Errorf(EFORBIDDEN, "credential %q lacks a statements read scope", p.Key)
	}
	if mine {
		q.AuthorityKey = p.AuthorityKey
	}
	q.MaxBytes = s.MaxPageBytes
	if q.MaxBytes <= 0 {
		q.MaxBytes = DefaultMaxPageBytes
	}
	if q.Limit <= 0 || q.Limit > s.MaxLimit {
		if q.Limit <= 0 {
			q.Limit = s.DefaultLimit
		} else {
			q.Limit = s.MaxLimit
		}
	}
	return s.Statements.QueryStatements(ctx, p.StoreID, q)
}

// Attachments returns the stored contents of the attachments that the given
// statement bodies declare (for GET with attachments=true), each once.
//
// Contents are stored once per hash and store, whoever sent them, and a
// statement may declare any hash with a fileUrl and no part. So a
// statements/read/mine credential gets only the contents its own
// statements prove it sent: those declared without a fileUrl (or as a
// signature), which the LRS accepted only together with their bytes. It
// never gets another credential's bytes by declaring their hash; for an
// attachment it declared with a fileUrl, the fileUrl is where it is. A
// credential that reads every statement of the store gets every declared
// content: it may read the statements that brought them anyway.
func (s *Service) Attachments(ctx context.Context, p *Principal, bodies [][]byte) ([]Attachment, error) {
	_, mine := p.CanReadStatements()
	seen := map[string]bool{}
	var hashes []string
	for _, b := range bodies {
		var st struct {
			Attachments []struct {
				SHA2      string `json:"sha2"`
				FileURL   string `json:"fileUrl"`
				UsageType string `json:"usageType"`
			} `json:"attachments"`
			Authority map[string]any `json:"authority"`
		}
		if json.Unmarshal(b, &st) != nil {
			continue
		}
		if mine {
			if k, _ := xapi.AgentKey(st.Authority); k != p.AuthorityKey {
				continue
			}
		}
		for _, a := range st.Attachments {
			if mine && a.FileURL != "" && a.UsageType != xapi.SignatureUsageType {
				continue
			}
			h := strings.ToLower(a.SHA2)
			if h != "" && !seen[h] {
				seen[h] = true
				hashes = append(hashes, h)
			}
		}
	}
	if len(hashes) == 0 {
		return nil, nil
	}
	return s.Statements.GetAttachments(ctx, p.StoreID, hashes)
}

func authorityKeyOf(body []byte) string {
	var st struct {
		Authority map[string]any `json:"authority"`
	}
	if json.Unmarshal(body, &st) != nil || st.Authority == nil {
		return ""
	}
	k, _ := xapi.AgentKey(st.Authority)
	return k
}

// Render returns a stored statement body in the requested format: "exact"
// (as stored), "ids" or "canonical" (for the given Accept-Language list).
func Render(body []byte, format string, langs []string) (json.RawMessage, error) {
	if format == "" || format == "exact" {
		return body, nil
	}
	v, err := xapi.DecodeJSON(body)
	if err != nil {
		return nil, Internal(err, "decoding stored statement")
	}
	m, _ := v.(map[string]any)
	switch format {
	case "ids":
		m = xapi.FormatIDs(m)
	case "canonical":
		m = xapi.FormatCanonical(m, langs)
	}
	out, err := xapi.Marshal(m)
	if err != nil {
		return nil, Internal(err, "encoding statement")
	}
	return out, nil
}

// Rejected is a statement a source produced that failed validation.
type Rejected struct {
	Index  int
	Reason string
}

// StoreFromSource stores statements produced by an adapter (not sent by a
// client) together with the source's checkpoint, in one transaction. The
// statements carry deterministic ids: one that exists already is skipped,
// so a re-run after a crash neither loses nor duplicates. Statements that
// fail validation are left out and returned with the reason, so one bad
// statement never holds back the others. s.Statements must implement
// CheckpointStore (see Checkpoints).
func (s *Service) StoreFromSource(ctx context.Context, p *Principal, stmts []map[string]any, cp *Checkpoint) (int, []Rejected, error) {
	b, err := s.PrepareFromSource(p, stmts)
	if err != nil {
		return 0, nil, err
	}
	return s.StorePrepared(ctx, p, b, cp)
}

// PreparedBatch is a source's statements validated, completed and encoded
// by PrepareFromSource, waiting for StorePrepared. Until it is stored or
// released, ConsistentThrough stays before its stored time.
type PreparedBatch struct {
	stmts    []*NewStatement
	rejected []Rejected
	done     func()
}

// Release gives up a prepared batch that will not be stored.
func (b *PreparedBatch) Release() {
	if b != nil && b.done != nil {
		b.done()
		b.done = nil
	}
}

// PrepareFromSource is the first half of StoreFromSource, everything but
// the database: an adapter can prepare its next batch while the previous
// one is being stored. Batches must be stored in the order prepared.
func (s *Service) PrepareFromSource(p *Principal, stmts []map[string]any) (*PreparedBatch, error) {
	if s.checkpoints() == nil {
		return nil, Errorf(EINTERNAL, "the statement store cannot record checkpoints")
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	b := &PreparedBatch{stmts: make([]*NewStatement, 0, len(stmts))}
	sc := s.sizeChecker()
	ids := make(map[string]bool, len(stmts))
	for i, st := range stmts {
		if err := xapi.ValidateStatement(st, xapi.V103); err != nil {
			b.rejected = append(b.rejected, Rejected{Index: i, Reason: err.Error()})
			continue
		}
		ns, err := s.prepare(p, xapi.V103, st, now)
		if err != nil {
			return nil, err
		}
		// What the store cannot take would fail the whole batch, and the
		// source would retry it for ever: an id seen earlier in the batch
		// (a unique key violation; one stored before is skipped), a
		// statement over the store's size limit (MySQL's
		// max_allowed_packet). Reasons are the same from one statement to
		// the next: a source counts its skips by reason.
		if ids[ns.ID] {
			b.rejected = append(b.rejected, Rejected{Index: i, Reason: "statement id appears twice in the batch"})
			continue
		}
		ids[ns.ID] = true
		if sc != nil {
			if err := sc.CheckStatementSize(ns.Body); err != nil {
				b.rejected = append(b.rejected, Rejected{Index: i, Reason: ErrorMessage(err)})
				continue
			}
		}
		// A source's statements are never compared with stored ones (an
		// existing id is skipped), so keep only what the activity merge
		// reads: batches waiting in a pipeline then hold little more than
		// their encoded bodies.
		ns.Statement = activityView(st)
		b.stmts = append(b.stmts, ns)
	}
	b.done = s.begin(now)
	return b, nil
}

// activityView is the part of a statement CollectActivities reads.
func activityView(st map[string]any) map[string]any {
	v := make(map[string]any, 2)
	if o, ok := st["object"]; ok {
		v["object"] = o
	}
	if c, ok := st["context"].(map[string]any); ok {
		if ca, ok := c["contextActivities"]; ok {
			v["context"] = map[string]any{"contextActivities": ca}
		}
	}
	return v
}

// StorePrepared is the second half of StoreFromSource: it stores a
// prepared batch with the source's checkpoint, in one transaction, and
// releases the batch.
func (s *Service) StorePrepared(ctx context.Context, p *Principal, b *PreparedBatch, cp *Checkpoint) (int, []Rejected, error) {
	defer b.Release()
	cs := s.checkpoints()
	if cs == nil {
		return 0, nil, Errorf(EINTERNAL, "the statement store cannot record checkpoints")
	}
	n, err := cs.InsertStatementsAt(ctx, p.StoreID, b.stmts, cp)
	b.Release()
	if err != nil {
		return 0, nil, err
	}
	if n > 0 {
		s.committed(n, b.stmts)
	}
	return n, b.rejected, nil
}

// StatementSizeChecker is implemented by statement stores that cannot take
// a statement body over some size (store.DB on MySQL: a row must fit in
// the server's max_allowed_packet).
type StatementSizeChecker interface {
	// CheckStatementSize returns an ETOOLARGE error when body cannot be
	// stored, nil otherwise.
	CheckStatementSize(body []byte) error
}

// sizeChecker is Statements or, when Statements does not check (group
// commit wraps the store), the checkpoint store, which the bridge sets to
// the same database.
func (s *Service) sizeChecker() StatementSizeChecker {
	if sc, ok := s.Statements.(StatementSizeChecker); ok {
		return sc
	}
	sc, _ := s.checkpoints().(StatementSizeChecker)
	return sc
}

func (s *Service) checkpoints() CheckpointStore {
	if s.Checkpoints != nil {
		return s.Checkpoints
	}
	cs, _ := s.Statements.(CheckpointStore)
	return cs
}
