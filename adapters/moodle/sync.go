package moodle

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Sink stores what a source produces (the LRS service and its store). To
// sync, it must also keep the source's id key (KeyStore); to find
// conflicts, look up ids (StatementLookup). The bridge's does both.
type Sink interface {
	StoreFromSource(ctx context.Context, p *lrs.Principal, stmts []map[string]any, cp *lrs.Checkpoint) (int, []lrs.Rejected, error)
	SyncCursor(ctx context.Context, source string) (*lrs.Checkpoint, error)
}

// PreparingSink is a Sink that can validate and encode a batch apart from
// storing it (the LRS service can), so a sync prepares the next batch while
// the previous one is being stored.
type PreparingSink interface {
	Sink
	PrepareFromSource(p *lrs.Principal, stmts []map[string]any) (*lrs.PreparedBatch, error)
	StorePrepared(ctx context.Context, p *lrs.Principal, b *lrs.PreparedBatch, cp *lrs.Checkpoint) (int, []lrs.Rejected, error)
}

// PersonAttacher is what a source needs of the persons service.
type PersonAttacher interface {
	// AttachAgentSets makes each set's agents one person of the store.
	AttachAgentSets(ctx context.Context, storeID int64, sets []lrs.AgentSet) error
}

// Source is one Moodle site to sync.
type Source struct {
	Name    string
	DB      *sql.DB
	Dialect string // mysql or postgres
	Prefix  string // default mdl_
	StoreID int64
	Options Options
	// BatchSize is how many log rows are read, mapped and stored per
	// transaction; default 1000.
	BatchSize int
	// AllowEvents, when set, keeps only these event names; DenyEvents drops
	// these. Courses/Categories keep only events of those courses (or of
	// courses in those categories); the Exclude lists drop them.
	AllowEvents, DenyEvents       []string
	Courses, ExcludeCourses       []int64
	Categories, ExcludeCategories []int64
	Logger                        *slog.Logger
	// Authority is the agent written as the statements' authority.
	Authority map[string]any
	// Persons, when set, groups each Moodle user's identities (account by
	// id, account by username, email) into one person of the store (the
	// persons service, admin.Admin, in the bridge).
	Persons PersonAttacher
	// SettleTime is how old a row after a gap in log ids must be before the
	// sync moves past the gap (see settled); default one minute.
	SettleTime time.Duration
}

// Status is what a source reports (stored with its cursor).
type Status struct {
	Cursor        int64            `json:"cursor"`
	Latest        int64            `json:"latest"` // highest log id seen in Moodle at the last run
	RowsRead      int64            `json:"rows_read"`
	Statements    int64            `json:"statements"`
	Skipped       map[string]int64 `json:"skipped"` // by detail (event names included); see SkippedByReason
	LastRunStart  time.Time        `json:"last_run_start"`
	LastRunEnd    time.Time        `json:"last_run_end"`
	LastError     string           `json:"last_error,omitempty"`
	LastErrorTime *time.Time       `json:"last_error_time,omitempty"`
	// Pending is what was left to read at the end of the last run.
	Pending *Pending `json:"pending,omitempty"`
	// Waiting is the gap in log ids the cursor waits at, if it does.
	Waiting *Gap `json:"waiting,omitempty"`
	// LastRun is what the last run did.
	LastRun *RunSummary `json:"last_run,omitempty"`
	// LastRewind is the last rewind applied; RewindApplied its id.
	LastRewind    *Rewind `json:"last_rewind,omitempty"`
	RewindApplied string  `json:"rewind_applied,omitempty"`
	// Conflicts counts the statement ids of the source found taken by a
	// statement of another authority or with other content (see Conflict:
	// not stored, not skipped silently either); RecentConflicts are the
	// newest of them (RecentConflicts at most), the newest last.
	Conflicts       int64      `json:"conflicts"`
	RecentConflicts []Conflict `json:"recent_conflicts,omitempty"`
	// LegacyIDsThrough is the log id through which rows may keep the public
	// ids they had before the source had a key (0: every id is keyed), as
	// the source's key says at the last run (see keys.go).
	LegacyIDsThrough *int64 `json:"legacy_ids_through,omitempty"`
}

// Behind is how many log rows the source has still to read, as the last
// check counted them (at least that many when Pending.AtLeast); before any
// count, the distance between the cursor and the highest log id.
func (s *Status) Behind() int64 {
	if s.Pending != nil {
		return s.Pending.Rows
	}
	return s.BehindIDs()
}

// BehindIDs is the distance between the cursor and the highest log id seen
// (gaps in the ids included).
func (s *Status) BehindIDs() int64 { return max(s.Latest-s.Cursor, 0) }

// SourceStatus is a configured source and its status, as the admin API
// shows it.
type SourceStatus struct {
	Name    string `json:"name"`
	WWWRoot string `json:"wwwroot"`
	// Behind is how many log rows are pending (at least that many when
	// BehindAtLeast), BehindIDs the distance between the cursor and the
	// highest log id.
	Behind        int64 `json:"behind"`
	BehindAtLeast bool  `json:"behind_at_least"`
	BehindIDs     int64 `json:"behind_ids"`
	// OldestPending is when the oldest pending row was created in Moodle.
	OldestPending           *time.Time `json:"oldest_pending,omitempty"`
	OldestPendingAgeSeconds float64    `json:"oldest_pending_age_seconds"`
	// WaitingSeconds is how long the cursor still waits at Waiting;
	// WaitingReason says it in words.
	WaitingSeconds float64 `json:"waiting_seconds,omitempty"`
	WaitingReason  string  `json:"waiting_reason,omitempty"`
	// GapWaitSeconds is the source's gap_wait (SettleTime).
	GapWaitSeconds  float64          `json:"gap_wait_seconds"`
	SkippedByReason map[string]int64 `json:"skipped_by_reason"`
	UnmappedEvents  []EventCount     `json:"unmapped_events"`
	*Status
}

// SourceStatus is st as the admin API shows it, at now.
func (s *Syncer) SourceStatus(st *Status, now time.Time) SourceStatus {
	out := SourceStatus{Name: s.Source.Name, WWWRoot: s.Source.Options.WWWRoot, Behind: st.Behind(), BehindIDs: st.BehindIDs(),
		GapWaitSeconds: s.SettleTime().Seconds(), SkippedByReason: st.SkippedByReason(), UnmappedEvents: st.UnmappedEvents(10), Status: st}
	if p := st.Pending; p != nil {
		out.BehindAtLeast = p.AtLeast
		out.OldestPending = p.Oldest
		out.OldestPendingAgeSeconds = p.Age(now).Seconds()
	}
	if g := st.Waiting; g != nil {
		out.WaitingSeconds = g.Wait(now).Seconds()
		out.WaitingReason = g.String(now)
	}
	if out.UnmappedEvents == nil {
		out.UnmappedEvents = []EventCount{}
	}
	return out
}

// Progress is told how far a run is: log rows done of the rows there were
// to do when it started.
type Progress func(done, total int64)

// Syncer runs a source.
type Syncer struct {
	Source *Source
	Sink   Sink
	// Writers is how many batches may be stored at once (default 1). Two
	// let MariaDB work on one batch while it commits another.
	Writers int
	// CountLimit is how many pending log rows Check counts at most;
	// default PendingBound.
	CountLimit int

	attached map[int64]bool // users attached to persons in this run

	// preKeys, for tests, makes the syncer behave as versions before keyed
	// ids did: legacy ids, no key, no lookup of ids.
	preKeys bool
}

func (s *Syncer) log() *slog.Logger {
	if s.Source.Logger != nil {
		return s.Source.Logger
	}
	return slog.Default()
}

// Status reads the source's stored status, with a rewind asked for and not
// yet applied by a sync applied (see Rewind).
func (s *Syncer) Status(ctx context.Context) (*Status, error) {
	cp, err := s.Sink.SyncCursor(ctx, s.Source.Name)
	if err != nil {
		return nil, err
	}
	st := &Status{Skipped: map[string]int64{}}
	if len(cp.Status) > 0 {
		json.Unmarshal(cp.Status, st)
		if st.Skipped == nil {
			st.Skipped = map[string]int64{}
		}
	}
	st.Cursor = cp.Position
	rw, err := s.rewindRequested(ctx, st)
	if err != nil {
		return nil, err
	}
	if rw != nil {
		applyRewind(st, rw)
	}
	return st, nil
}

func (s *Syncer) table(t string) string { return s.Source.Prefix + t }

func (s *Syncer) rebind(q string) string {
	if s.Source.Dialect != Postgres {
		return q
	}
	r := &SQLRepo{dialect: Postgres}
	return r.rebind(q)
}

// latest returns the highest log id in Moodle.
func (s *Syncer) latest(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := s.Source.DB.QueryRowContext(ctx, "SELECT MAX(id) FROM "+s.table("logstore_standard_log")).Scan(&n)
	return n.Int64, err
}

// Run syncs everything pending (until ctx ends), batch by batch. Each
// batch's statements and the moved cursor commit together: a crash or kill
// at any point neither loses nor duplicates. A rewind asked while it runs
// (see Rewind) stops the reading after the batch being stored, and the run
// goes on from the rewound cursor. At the end it counts what is left
// (Status.Pending) and says which gap in log ids the cursor waits at, if it
// waits (Status.Waiting); Status.LastRun is what this run did.
func (s *Syncer) Run(ctx context.Context, progress Progress) (*Status, error) {
	src := s.Source
	if src.Prefix == "" {
		src.Prefix = "mdl_"
	}
	if src.BatchSize <= 0 {
		src.BatchSize = 1000
	}
	st, err := s.Status(ctx)
	if err != nil {
		return nil, err
	}
	before := st.counts()
	st.LastRunStart = time.Now().UTC()
	st.Waiting = nil
	done := func() {
		sum := summarise(before, st)
		st.LastRun = &sum
	}
	key, err := s.key(ctx, st)
	if err != nil {
		done()
		return st, s.fail(ctx, st, err)
	}
	if !s.preKeys {
		through := key.legacyThrough
		st.LegacyIDsThrough = &through
	}
	for {
		rw, err := s.run(ctx, st, progress, key)
		if err == nil && rw == nil && ctx.Err() == nil {
			// One asked after the last batch was stored.
			rw, err = s.rewindRequested(ctx, st)
		}
		if err != nil {
			done()
			return st, s.fail(ctx, st, err)
		}
		if rw == nil || ctx.Err() != nil {
			break
		}
		applyRewind(st, rw)
		if err := s.saveStatus(ctx, st); err != nil {
			done()
			return st, s.fail(ctx, st, err)
		}
		s.log().Info("moodle sync rewound while running", "source", src.Name, "from", rw.From, "to", rw.To)
	}
	done()
	if ctx.Err() != nil {
		return st, s.saveStatus(context.WithoutCancel(ctx), st)
	}
	p, gap, err := s.Check(ctx, st.Cursor)
	if err != nil {
		return st, s.fail(ctx, st, err)
	}
	st.Checked(p, gap)
	st.LastRunEnd = time.Now().UTC()
	st.LastError = ""
	return st, s.saveStatus(ctx, st)
}

// counts is a copy of st's counters, to tell what a run did.
func (st *Status) counts() *Status {
	c := &Status{RowsRead: st.RowsRead, Statements: st.Statements, Conflicts: st.Conflicts, Skipped: make(map[string]int64, len(st.Skipped))}
	for k, v := range st.Skipped {
		c.Skipped[k] = v
	}
	return c
}

// run reads from st's cursor to the end of the log (or the first gap that
// may still fill), moving st along; it stops early, returning the rewind,
// when one is asked.
func (s *Syncer) run(ctx context.Context, st *Status, progress Progress, key *idKey) (*Rewind, error) {
	src := s.Source
	latest, err := s.latest(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.table("logstore_standard_log"), err)
	}
	st.Latest = latest
	start := st.Cursor
	total := max(latest-start, 0)
	// The first sample is taken before anything is read, so that a rate
	// computed from the samples starts with the run.
	if progress != nil {
		progress(0, total)
	}
	repo, err := NewSQLRepo(ctx, src.DB, src.Dialect, src.Prefix, 0)
	if err != nil {
		return nil, err
	}
	p := &lrs.Principal{Key: "moodle:" + src.Name, StoreID: src.StoreID, Scopes: []string{lrs.ScopeStatementsWrite},
		Authority: src.Authority}
	q := s.rebind("SELECT * FROM " + s.table("logstore_standard_log") + " WHERE id > ? ORDER BY id LIMIT ?")
	// Reading and mapping a batch, preparing (validating, encoding) the one
	// before and storing the one before that overlap: a producer reads,
	// prefetches and maps; with a PreparingSink a second stage prepares;
	// the loop below stores batches in log order, each with its cursor.
	pctx, stopProducer := context.WithCancel(ctx)
	// Unbuffered: each stage holds at most the batch it works on, which
	// bounds memory to about four batches with two writers.
	mapped := make(chan mappedBatch)
	s.attached = map[int64]bool{}
	go s.produce(pctx, repo, q, st.Cursor, key, mapped)
	batches := mapped
	ps, preparing := s.Sink.(PreparingSink)
	if preparing {
		prepared := make(chan mappedBatch)
		go func() {
			defer close(prepared)
			for b := range mapped {
				if b.err == nil {
					b.prepared, b.err = ps.PrepareFromSource(p, b.stmts)
					b.stmts = nil // the prepared batch has what storing needs
				}
				select {
				case prepared <- b:
				case <-pctx.Done():
					b.prepared.Release()
				}
			}
		}()
		batches = prepared
	}
	// On any return, stop the stages and wait for them: the next run must
	// not overlap with them.
	defer func() {
		stopProducer()
		for b := range batches {
			b.prepared.Release()
		}
	}()
	// Up to Writers batches are stored at once, in their own transactions.
	// Results are taken in log order, and the cursor a transaction writes
	// covers only batches already committed (plus its own when it is the
	// only one in flight), so a crash anywhere leaves the cursor at or
	// before the first uncommitted row: rows after it are read again and
	// their statements, already stored under the same ids, skipped.
	writers := max(s.Writers, 1)
	type stored struct {
		b        mappedBatch
		n        int
		rejected []lrs.Rejected
		err      error
		done     chan struct{}
	}
	var pending []*stored
	var rewind *Rewind
	settle := func() error {
		r := pending[0]
		pending = pending[1:]
		<-r.done
		if r.err != nil {
			return fmt.Errorf("storing statements: %w", r.err)
		}
		applyBatch(st, &r.b)
		st.Statements += int64(r.n)
		if c := r.b.conflicts; len(c) > 0 {
			s.log().Warn("moodle statement ids taken by statements of another authority or with other content (conflicts; see moodle status)",
				"source", src.Name, "conflicts", len(c), "first_log_id", c[0].LogID, "first_id", c[0].ID, "reason", c[0].Reason,
				"conflicts_in_all", st.Conflicts)
		}
		for _, rj := range r.rejected {
			st.Skipped[invalidPrefix+firstWords(rj.Reason)]++
		}
		if progress != nil {
			progress(min(st.Cursor-start, total), total)
		}
		// A rewind asked meanwhile (bridge moodle rewind, the admin API):
		// read no further; the batches being stored commit, then the run
		// goes on from the rewound cursor.
		if ctx.Err() == nil {
			rw, err := s.rewindRequested(ctx, st)
			if err != nil {
				return err
			}
			if rw != nil {
				rewind = rw
				stopProducer()
			}
		}
		return nil
	}
	var runErr error
	for b := range batches {
		if rewind != nil {
			b.prepared.Release()
			break
		}
		if b.err != nil {
			runErr = b.err
			break
		}
		var cp *lrs.Checkpoint
		if len(pending) == 0 {
			cp = s.checkpoint(st, &b)
		} else {
			cp = s.checkpoint(st, nil)
		}
		r := &stored{b: b, done: make(chan struct{})}
		pending = append(pending, r)
		go func() {
			defer close(r.done)
			if b.prepared != nil {
				r.n, r.rejected, r.err = ps.StorePrepared(ctx, p, b.prepared, cp)
			} else {
				r.n, r.rejected, r.err = s.Sink.StoreFromSource(ctx, p, b.stmts, cp)
			}
		}()
		if len(pending) >= writers {
			if runErr = settle(); runErr != nil {
				break
			}
		}
	}
	for runErr == nil && len(pending) > 0 {
		runErr = settle()
	}
	// After a failure, wait for the batches still being stored: the status
	// written next must be the last word on the cursor.
	for _, r := range pending {
		<-r.done
	}
	return rewind, runErr
}

// applyBatch moves st past a batch.
func applyBatch(st *Status, b *mappedBatch) {
	st.Cursor = b.last
	st.RowsRead += int64(b.rows)
	st.Latest = max(st.Latest, st.Cursor)
	for reason, n := range b.skipped {
		st.Skipped[reason] += n
	}
	if len(b.conflicts) > 0 {
		st.Conflicts += int64(len(b.conflicts))
		st.RecentConflicts = append(st.RecentConflicts, b.conflicts...)
		if n := len(st.RecentConflicts); n > RecentConflicts {
			st.RecentConflicts = slices.Clone(st.RecentConflicts[n-RecentConflicts:])
		}
	}
}

// checkpoint is the cursor and status to commit with a batch: st as it is,
// or, given b, as it will be once b is stored.
func (s *Syncer) checkpoint(st *Status, b *mappedBatch) *lrs.Checkpoint {
	if b != nil {
		next := *st
		next.Skipped = make(map[string]int64, len(st.Skipped))
		for k, v := range st.Skipped {
			next.Skipped[k] = v
		}
		next.RecentConflicts = slices.Clone(st.RecentConflicts)
		applyBatch(&next, b)
		st = &next
	}
	status, _ := json.Marshal(st)
	return &lrs.Checkpoint{Source: s.Source.Name, Position: st.Cursor, Status: status}
}

// mappedBatch is a batch of log rows read and mapped, ready to store.
type mappedBatch struct {
	stmts    []map[string]any
	prepared *lrs.PreparedBatch // when the sink prepares apart from storing
	last     int64              // id of the batch's last log row
	rows     int
	skipped  map[string]int64
	// conflicts are the batch's statement ids found taken (see Conflict).
	conflicts []Conflict
	err       error
}

// produce reads the log from cursor on, batch by batch, and sends each
// batch mapped; it closes out when the log is exhausted, on an error (sent
// as the last batch) or when ctx ends.
func (s *Syncer) produce(ctx context.Context, repo *SQLRepo, q string, cursor int64, key *idKey, out chan<- mappedBatch) {
	defer close(out)
	send := func(b mappedBatch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ctx.Err() == nil {
		repo.ctx = ctx
		rows, err := repo.query(q, cursor, s.Source.BatchSize)
		if err != nil {
			send(mappedBatch{err: fmt.Errorf("reading the log: %w", err)})
			return
		}
		full := len(rows) == s.Source.BatchSize
		rows = settled(rows, cursor, time.Now().Add(-s.SettleTime()).Unix())
		if len(rows) == 0 {
			return
		}
		if err := repo.PrefetchEvents(rows); err != nil {
			send(mappedBatch{err: err})
			return
		}
		b := mappedBatch{rows: len(rows), last: rows[len(rows)-1].Int("id"), skipped: map[string]int64{}}
		var refs []rowRef
		b.stmts, refs = s.mapBatch(repo, rows, b.skipped)
		// The ids, and which of them are taken: after mapping, before the
		// batch is prepared and stored (the store would skip a taken id
		// whatever its content).
		if b.conflicts, err = s.assignIDs(ctx, key, b.stmts, refs); err != nil {
			send(mappedBatch{err: err})
			return
		}
		s.attachPersons(ctx, repo, rows)
		cursor = b.last
		if !send(b) || !full || len(rows) < s.Source.BatchSize {
			return
		}
	}
}

// SettleTime is how long a gap in log ids may be an uncommitted Moodle
// transaction (the source's gap_wait); default one minute.
func (s *Syncer) SettleTime() time.Duration {
	if s.Source.SettleTime > 0 {
		return s.Source.SettleTime
	}
	return time.Minute
}

// settled cuts rows at the first gap in ids that may still fill: Moodle
// requests take ids in one order and may commit in another, so a row read
// after a gap could have a not-yet-committed row before it. A gap followed
// by a recent row (timecreated after settledBefore) ends the batch there;
// the next run reads on from the gap. Older gaps are ids that rolled back
// and are never filled.
func settled(rows []Row, cursor int64, settledBefore int64) []Row {
	expect := cursor + 1
	for i, r := range rows {
		id := r.Int("id")
		if id != expect && cursor > 0 && r.Int("timecreated") > settledBefore {
			return rows[:i]
		}
		expect = id + 1
	}
	return rows
}

// mapBatch maps log rows to statements, counting what it skips and why;
// refs says which row, and which of its statements, each statement is (its
// id is assigned from it, see assignIDs).
func (s *Syncer) mapBatch(repo Repo, rows []Row, skipped map[string]int64) (out []map[string]any, refs []rowRef) {
	for _, ev := range rows {
		stmts, reason, err := s.mapRow(repo, ev)
		if err != nil {
			s.log().Warn("moodle event could not be mapped", "source", s.Source.Name, "log_id", ev.Int("id"),
				"event", ev.Str("eventname"), "error", err)
		}
		if reason != "" {
			skipped[reason]++
			continue
		}
		out = append(out, stmts...)
		for i := range stmts {
			refs = append(refs, rowRef{logID: ev.Int("id"), index: i})
		}
	}
	return out, refs
}

// mapRow maps one log row to its statements, without their ids, or says
// why it is skipped (a key of Status.Skipped; err is the mapping's error
// when it failed).
func (s *Syncer) mapRow(repo Repo, ev Row) (stmts []map[string]any, reason string, err error) {
	src := s.Source
	if reason := s.filtered(repo, ev); reason != "" {
		return nil, reason, nil
	}
	c := NewCtx(src.Options, repo)
	stmts, err = c.Map(ev)
	var skipErr *SkipError
	var missing *MissingError
	switch {
	case errors.As(err, &skipErr):
		return nil, skipErr.Reason, nil
	case errors.As(err, &missing):
		return nil, "missing " + missing.Table + " record", nil
	case err != nil:
		return nil, mappingPrefix + firstWords(err.Error()), err
	}
	return stmts, "", nil
}

// filtered returns why an event is left out by the source's filters, or "".
func (s *Syncer) filtered(repo Repo, ev Row) string {
	src := s.Source
	name := ev.Str("eventname")
	if len(src.AllowEvents) > 0 && !slices.Contains(src.AllowEvents, name) {
		return "event not in allow list"
	}
	if slices.Contains(src.DenyEvents, name) {
		return "event in deny list"
	}
	course := ev.Int("courseid")
	if len(src.Courses) > 0 && !slices.Contains(src.Courses, course) {
		return "course not in course filter"
	}
	if slices.Contains(src.ExcludeCourses, course) {
		return "course excluded"
	}
	if len(src.Categories) > 0 || len(src.ExcludeCategories) > 0 {
		c, err := ReadRecordByID(repo, "course", course)
		cat := int64(-1)
		if err == nil {
			cat = c.Int("category")
		}
		if len(src.Categories) > 0 && !slices.Contains(src.Categories, cat) {
			return "category not in category filter"
		}
		if slices.Contains(src.ExcludeCategories, cat) {
			return "category excluded"
		}
	}
	return ""
}

func firstWords(s string) string {
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

func (s *Syncer) fail(ctx context.Context, st *Status, err error) error {
	now := time.Now().UTC()
	st.LastError, st.LastErrorTime, st.LastRunEnd = err.Error(), &now, now
	s.saveStatus(context.WithoutCancel(ctx), st)
	return err
}

// saveStatus writes the status with the cursor unchanged.
func (s *Syncer) saveStatus(ctx context.Context, st *Status) error {
	status, _ := json.Marshal(st)
	_, _, err := s.Sink.StoreFromSource(ctx, &lrs.Principal{StoreID: s.Source.StoreID}, nil,
		&lrs.Checkpoint{Source: s.Source.Name, Position: st.Cursor, Status: status})
	return err
}

// attachPersons makes each user of a batch a person of the store, once per
// run, with every identity the bridge (or logstore_xapi) may have used for
// them. Failures are logged: personas must not hold back the sync.
func (s *Syncer) attachPersons(ctx context.Context, repo Repo, rows []Row) {
	src := s.Source
	if src.Persons == nil {
		return
	}
	if s.attached == nil {
		s.attached = map[int64]bool{}
	}
	var sets []lrs.AgentSet
	var users []int64
	for _, ev := range rows {
		for _, id := range []int64{ev.Int("userid"), ev.Int("relateduserid")} {
			if id <= 0 || s.attached[id] || slices.Contains(users, id) {
				continue
			}
			u, err := ReadRecordByID(repo, "user", id)
			if err != nil || u.Str("username") == "guest" {
				continue
			}
			agents := []lrs.PersonAgent{
				personAgent(map[string]any{"account": map[string]any{"homePage": src.Options.WWWRoot, "name": u.Str("id")}}),
			}
			if name := u.Str("username"); name != "" {
				home := src.Options.AccountHomePage
				if home == "" {
					home = src.Options.WWWRoot
				}
				agents = append(agents, personAgent(map[string]any{"account": map[string]any{"homePage": home, "name": name}}))
			}
			if email := u.Str("email"); email != "" && strings.Contains(email, "@") {
				agents = append(agents, personAgent(map[string]any{"mbox": "mailto:" + email}))
			}
			sets = append(sets, lrs.AgentSet{Name: FullName(u), Agents: agents})
			users = append(users, id)
		}
	}
	if len(sets) == 0 {
		return
	}
	// All of a batch's new users in one transaction; if that fails (an
	// agent given to another person meanwhile, say), each on its own, so
	// one conflict does not leave the others unattached.
	if err := src.Persons.AttachAgentSets(ctx, src.StoreID, sets); err == nil {
		for _, id := range users {
			s.attached[id] = true
		}
		return
	}
	for i, set := range sets {
		if err := src.Persons.AttachAgentSets(ctx, src.StoreID, []lrs.AgentSet{set}); err != nil {
			s.log().Warn("could not attach a Moodle user to a person", "source", src.Name, "user", users[i], "error", err)
			continue
		}
		s.attached[users[i]] = true
	}
}

func personAgent(a map[string]any) lrs.PersonAgent {
	a["objectType"] = "Agent"
	b, _ := json.Marshal(a)
	// a has one IFI, an mbox or an account of strings, so it has a key.
	key, _ := xapi.AgentKey(a)
	return lrs.PersonAgent{Key: key, Agent: b}
}
