package moodle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/lrs"
)

// CursorWriter is what a rewind needs of a sink besides SyncCursor: writing
// cursors apart from any statement, several in one transaction (the
// bridge's store.DB.PutSyncCursors).
type CursorWriter interface {
	PutSyncCursors(ctx context.Context, cps ...*lrs.Checkpoint) error
}

// Rewind is a rewind of a source's cursor.
//
// A rewind is safe because statement ids are deterministic (derived from
// the rows and the source's key, see keys.go): rows read again make the
// statements already stored, which are recognised and not stored twice. It must not be lost to a sync that runs meanwhile (in `bridge
// serve`, or a `sync --once` in another process), whose batches each write
// the cursor they reached in their own transaction: so a rewind is written
// twice, in one transaction: as the source's cursor, and as a request of its
// own (the cursor row "<source>#rewind") that no batch overwrites. The
// status a sync writes names the last request it applied (RewindApplied);
// a request it has not applied is applied by whoever reads the status next
// (Syncer.Status, so the next run starts from it), and a running sync
// checks for one after each batch, stops reading, lets the batches being
// stored commit, and goes on from the rewound cursor.
type Rewind struct {
	ID   string `json:"id"`
	From int64  `json:"from"` // the cursor before
	To   int64  `json:"to"`   // the cursor after: the next run reads the log rows after it
	// Since, for a rewind asked as a time: the rows created from then on
	// are read again.
	Since *time.Time `json:"since,omitempty"`
	At    time.Time  `json:"at"`
	By    string     `json:"by,omitempty"` // who asked ("cli", "admin api")
}

// RewindRequest says where to set a source's cursor back to: To, a log id
// (the rows after it are read again; 0 reads everything again), or Since,
// a time (the rows created from then on are read again).
type RewindRequest struct {
	To    *int64
	Since *time.Time
	By    string
}

// rewindKey is the cursor row holding a source's last rewind request.
// Source names are [a-z0-9_-]+, so it is never a source's own.
func rewindKey(source string) string { return source + "#rewind" }

// ParseSince reads a rewind's time: a date (2025-01-01, midnight UTC) or an
// RFC 3339 time (2025-01-01T08:00:00+01:00).
func ParseSince(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("since: %q is not a date (2025-01-01) or an RFC 3339 time (2025-01-01T08:00:00Z)", s)
}

// Rewind sets the source's cursor back (see Rewind, the type) and returns
// the source's status with it.
func (s *Syncer) Rewind(ctx context.Context, r RewindRequest) (*Status, error) {
	cw, ok := s.Sink.(CursorWriter)
	if !ok {
		return nil, lrs.Errorf(lrs.EINTERNAL, "moodle source %s: its sink cannot set cursors", s.Source.Name)
	}
	if (r.To == nil) == (r.Since == nil) {
		return nil, lrs.Errorf(lrs.EINVALID, "give either to (a log id) or since (a time)")
	}
	st, err := s.Status(ctx)
	if err != nil {
		return nil, err
	}
	var to int64
	if r.To != nil {
		to = *r.To
		if to < 0 {
			return nil, lrs.Errorf(lrs.EINVALID, "to: %d is not a log id", to)
		}
		if to > st.Cursor {
			return nil, lrs.Errorf(lrs.EINVALID, "to: log id %d is past the cursor (%d): a rewind moves the cursor back", to, st.Cursor)
		}
	} else {
		first, err := s.firstSince(ctx, *r.Since)
		if err != nil {
			return nil, &lrs.Error{Code: lrs.EUNAVAILABLE, Message: err.Error(), Cause: err}
		}
		// Nothing since then that was read: the cursor stays.
		to = min(first-1, st.Cursor)
	}
	rw := &Rewind{ID: uuid.NewString(), From: st.Cursor, To: to, Since: r.Since, At: time.Now().UTC(), By: r.By}
	applyRewind(st, rw)
	req, _ := json.Marshal(rw)
	status, _ := json.Marshal(st)
	if err := cw.PutSyncCursors(ctx,
		&lrs.Checkpoint{Source: rewindKey(s.Source.Name), Position: to, Status: req},
		&lrs.Checkpoint{Source: s.Source.Name, Position: to, Status: status}); err != nil {
		return nil, err
	}
	s.log().Info("moodle source rewound", "source", s.Source.Name, "from", rw.From, "to", rw.To, "by", rw.By)
	return st, nil
}

// firstSince is the first log id created at or after t (MaxInt64 when
// none is).
func (s *Syncer) firstSince(ctx context.Context, t time.Time) (int64, error) {
	var id *int64
	log := s.table("logstore_standard_log")
	q := s.rebind("SELECT MIN(id) FROM " + log + " WHERE timecreated >= ?")
	if err := s.Source.DB.QueryRowContext(ctx, q, t.Unix()).Scan(&id); err != nil {
		return 0, fmt.Errorf("reading %s: %w", log, err)
	}
	if id == nil {
		return 1<<63 - 1, nil
	}
	return *id, nil
}

// applyRewind sets st's cursor as rw says.
func applyRewind(st *Status, rw *Rewind) {
	st.Cursor = rw.To
	st.RewindApplied = rw.ID
	st.LastRewind = rw
	st.Waiting = nil
	st.Pending = nil
}

// rewindRequested returns the rewind asked for the source that st has not
// applied, or nil.
func (s *Syncer) rewindRequested(ctx context.Context, st *Status) (*Rewind, error) {
	cp, err := s.Sink.SyncCursor(ctx, rewindKey(s.Source.Name))
	if err != nil {
		return nil, err
	}
	if cp == nil || len(cp.Status) == 0 {
		return nil, nil
	}
	var rw Rewind
	if err := json.Unmarshal(cp.Status, &rw); err != nil {
		return nil, errors.Join(fmt.Errorf("moodle source %s: reading its rewind request", s.Source.Name), err)
	}
	if rw.ID == "" || rw.ID == st.RewindApplied {
		return nil, nil
	}
	return &rw, nil
}
