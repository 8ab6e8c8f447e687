package moodle

import (
	"context"
	"fmt"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Preview is what one log row becomes, worked out as a sync would but
// stored nowhere.
type Preview struct {
	LogID   int64     `json:"log_id"`
	Event   string    `json:"event"`
	Created time.Time `json:"created"`
	// Statements are the row's statements, with the ids a sync gives them
	// (keyed with the source's key; before the LRS adds stored, authority
	// and version).
	Statements []map[string]any `json:"statements"`
	// Conflicts are those of the statements' ids that are taken by a
	// statement of another authority or with other content (see Conflict):
	// a sync would count them and not store them.
	Conflicts []Conflict `json:"conflicts,omitempty"`
	// Invalid says, statement by statement, why the LRS would reject it
	// ("" when it would not): a sync leaves such a statement out and counts
	// it as invalid.
	Invalid []string `json:"invalid,omitempty"`
	// Skipped, when set, is why the row makes no statement (as status
	// counts it), and Reason its fixed reason (SkipReasons).
	Skipped string `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Synced says whether the source's cursor has passed the row.
	Synced bool  `json:"synced"`
	Cursor int64 `json:"cursor"`
}

// Preview maps the log row with id logID (filters, mapping, validation)
// without storing anything. It reads Moodle, the source's cursor and the
// statements stored under the row's ids; the source's key is created if it
// has none yet, as the next sync would.
func (s *Syncer) Preview(ctx context.Context, logID int64) (*Preview, error) {
	src := s.Source
	if src.Prefix == "" {
		src.Prefix = "mdl_"
	}
	repo, err := NewSQLRepo(ctx, src.DB, src.Dialect, src.Prefix, 0)
	if err != nil {
		return nil, err
	}
	rows, err := repo.query("SELECT * FROM "+s.table("logstore_standard_log")+" WHERE id = ?", logID)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.table("logstore_standard_log"), err)
	}
	if len(rows) == 0 {
		return nil, lrs.Errorf(lrs.ENOTFOUND, "%s has no row with id %d", s.table("logstore_standard_log"), logID)
	}
	ev := rows[0]
	if err := repo.PrefetchEvents(rows); err != nil {
		return nil, err
	}
	pv := &Preview{LogID: logID, Event: ev.Str("eventname"), Created: time.Unix(ev.Int("timecreated"), 0).UTC(), Statements: []map[string]any{}}
	st, err := s.Status(ctx)
	if err != nil {
		return nil, err
	}
	pv.Cursor, pv.Synced = st.Cursor, logID <= st.Cursor
	stmts, reason, err := s.mapRow(repo, ev)
	if reason != "" {
		pv.Skipped, pv.Reason = reason, SkipReason(reason)
		if err != nil {
			pv.Skipped = mappingPrefix + err.Error()
		}
		return pv, nil
	}
	key, err := s.key(ctx, st)
	if err != nil {
		return nil, err
	}
	refs := make([]rowRef, len(stmts))
	for i := range stmts {
		refs[i] = rowRef{logID: logID, index: i}
	}
	if pv.Conflicts, err = s.assignIDs(ctx, key, stmts, refs); err != nil {
		return nil, err
	}
	pv.Statements = stmts
	bad := false
	for _, st := range stmts {
		why := ""
		if err := xapi.ValidateStatement(st, xapi.V103); err != nil {
			why, bad = err.Error(), true
		}
		pv.Invalid = append(pv.Invalid, why)
	}
	if !bad {
		pv.Invalid = nil
	}
	return pv, nil
}
