package moodle

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// PendingBound is how many pending log rows a check counts at most: the
// count reads the log's primary key from the cursor on, so it stays cheap
// on a backlog of millions; past the bound it says "at least".
const PendingBound = 10000

// Pending is what is left to read in Moodle's log after the cursor.
type Pending struct {
	// Rows is how many log rows there are after the cursor, counted up to
	// PendingBound; AtLeast says there are more.
	Rows    int64 `json:"rows"`
	AtLeast bool  `json:"at_least,omitempty"`
	// Oldest is when the oldest of them was created in Moodle
	// (timecreated); nil when none is pending.
	Oldest *time.Time `json:"oldest,omitempty"`
	// Latest is the highest log id at the check.
	Latest int64 `json:"latest"`
	// Checked is when this was counted.
	Checked time.Time `json:"checked"`
}

// Checked sets what a Check found: what is pending, the gap the cursor
// waits at (nil: none), and the highest log id.
func (st *Status) Checked(p *Pending, gap *Gap) {
	st.Pending, st.Waiting = p, gap
	if p != nil {
		st.Latest = max(st.Latest, p.Latest)
	}
}

// Age is how long the oldest pending row has waited at now (0 when none).
func (p *Pending) Age(now time.Time) time.Duration {
	if p == nil || p.Oldest == nil {
		return 0
	}
	return max(now.Sub(*p.Oldest), 0)
}

// String is "1 row, the oldest 2m13s old", "at least 10000 rows, ...", or
// "0 rows".
func (p *Pending) String(now time.Time) string {
	if p == nil {
		return "unknown"
	}
	s := plural(p.Rows, "row")
	if p.AtLeast {
		s = "at least " + s
	}
	if p.Oldest != nil {
		s += fmt.Sprintf(", the oldest %s old (created %s)", Ago(p.Age(now)), p.Oldest.UTC().Format(time.RFC3339))
	}
	return s
}

// Ago writes an age for people: 42s, 12m30s, 5h12m, 3d4h, 400 days.
func Ago(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Hour:
		return d.String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Truncate(time.Minute).String(), "0s")
	case d < 30*24*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	}
	return fmt.Sprintf("%d days", d/(24*time.Hour))
}

// Gap is a hole in the log's ids right after the cursor that the sync does
// not pass yet: Moodle requests take their log ids in one order and may
// commit in another, so the missing rows may still be committing. The sync
// moves past it once the row after it is SettleTime old (ids that rolled
// back are never filled).
type Gap struct {
	From  int64     `json:"from"`  // first missing log id
	To    int64     `json:"to"`    // last missing log id
	Until time.Time `json:"until"` // when the sync moves past it if it is still missing
}

// Wait is how long the sync still holds at the gap at now.
func (g *Gap) Wait(now time.Time) time.Duration { return max(g.Until.Sub(now), 0) }

// String says why the cursor waits: "waiting 42 s for log ids 15–15 (a
// gap; rows may still be committing)".
func (g *Gap) String(now time.Time) string {
	return fmt.Sprintf("waiting %d s for log ids %d–%d (a gap; rows may still be committing)",
		int64(math.Ceil(g.Wait(now).Seconds())), g.From, g.To)
}

// The fixed reasons a log row (or, for invalid, a statement) is skipped
// for: the label values of the skip metric. Event names and other details
// stay in Status.Skipped.
const (
	ReasonUnmapped      = "unmapped"       // no mapper knows the event
	ReasonFiltered      = "filtered"       // the source's event, course or category filters
	ReasonAnonymous     = "anonymous"      // an anonymous event
	ReasonGuest         = "guest"          // the guest user
	ReasonNoUser        = "no_user"        // an event without a user
	ReasonDeletedUser   = "deleted_user"   // the user's record is gone
	ReasonMissingCourse = "missing_course" // the course's record is gone
	ReasonMissingMod    = "missing_module" // the course module's record is gone
	ReasonMissing       = "missing_record" // another record the mapping needs is gone
	ReasonNoStatement   = "no_statement"   // the mapping makes nothing of this event (no grade, no attempt, ...)
	ReasonMapping       = "mapping_error"  // the mapping failed
	ReasonInvalid       = "invalid"        // a statement the LRS rejects
)

// SkipReasons lists the reasons, in the order status shows them.
var SkipReasons = []string{ReasonUnmapped, ReasonFiltered, ReasonAnonymous, ReasonGuest, ReasonNoUser,
	ReasonDeletedUser, ReasonMissingCourse, ReasonMissingMod, ReasonMissing, ReasonNoStatement, ReasonMapping, ReasonInvalid}

const (
	unmappedPrefix, unmappedSuffix = "event ", " is not mapped"
	invalidPrefix                  = "invalid statement: "
	mappingPrefix                  = "mapping error: "
)

// filterSkips are the details filtered returns.
var filterSkips = map[string]bool{
	"event not in allow list": true, "event in deny list": true,
	"course not in course filter": true, "course excluded": true,
	"category not in category filter": true, "category excluded": true,
}

// SkipReason is the fixed reason (one of SkipReasons) of a skip detail as
// Status.Skipped counts it ("event \mod_x\event\y is not mapped" is
// unmapped, "missing user record" deleted_user).
func SkipReason(detail string) string {
	switch {
	case strings.HasPrefix(detail, unmappedPrefix) && strings.HasSuffix(detail, unmappedSuffix):
		return ReasonUnmapped
	case filterSkips[detail]:
		return ReasonFiltered
	case detail == "anonymous event":
		return ReasonAnonymous
	case detail == "guest user":
		return ReasonGuest
	case strings.HasPrefix(detail, "no user (id "):
		return ReasonNoUser
	case detail == "missing user record":
		return ReasonDeletedUser
	case detail == "missing course record":
		return ReasonMissingCourse
	case detail == "missing course_modules record":
		return ReasonMissingMod
	case strings.HasPrefix(detail, "missing ") && strings.HasSuffix(detail, " record"):
		return ReasonMissing
	case strings.HasPrefix(detail, mappingPrefix):
		return ReasonMapping
	case strings.HasPrefix(detail, invalidPrefix):
		return ReasonInvalid
	}
	return ReasonNoStatement
}

// byReason sums skip details by their reason.
func byReason(skipped map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for d, n := range skipped {
		if n != 0 {
			out[SkipReason(d)] += n
		}
	}
	return out
}

// SkippedByReason is Skipped summed by fixed reason.
func (s *Status) SkippedByReason() map[string]int64 { return byReason(s.Skipped) }

// EventCount is an event name and how many log rows had it.
type EventCount struct {
	Event string `json:"event"`
	Rows  int64  `json:"rows"`
}

// UnmappedEvents lists the events skipped because no mapper knows them,
// the most frequent first, at most n of them (all when n <= 0).
func (s *Status) UnmappedEvents(n int) []EventCount {
	var out []EventCount
	for d, c := range s.Skipped {
		if SkipReason(d) == ReasonUnmapped {
			out = append(out, EventCount{Event: strings.TrimSuffix(strings.TrimPrefix(d, unmappedPrefix), unmappedSuffix), Rows: c})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Rows != out[j].Rows {
			return out[i].Rows > out[j].Rows
		}
		return out[i].Event < out[j].Event
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// RunSummary is what one run (or one `sync --once`) did.
type RunSummary struct {
	Rows       int64            `json:"rows"`       // log rows read
	Statements int64            `json:"statements"` // statements stored
	Skipped    map[string]int64 `json:"skipped"`    // by fixed reason (SkipReasons)
	// Conflicts is how many statement ids were found taken (see Conflict);
	// RecentConflicts the newest of them (RecentConflicts at most).
	Conflicts       int64      `json:"conflicts"`
	RecentConflicts []Conflict `json:"recent_conflicts,omitempty"`
}

// summarise is what happened between two statuses of a source.
func summarise(before, after *Status) RunSummary {
	r := RunSummary{Rows: after.RowsRead - before.RowsRead, Statements: after.Statements - before.Statements, Skipped: map[string]int64{},
		Conflicts: after.Conflicts - before.Conflicts}
	for d, n := range after.Skipped {
		if n -= before.Skipped[d]; n > 0 {
			r.Skipped[SkipReason(d)] += n
		}
	}
	// The run's are the newest the status keeps.
	if n := int(min(r.Conflicts, int64(len(after.RecentConflicts)))); n > 0 {
		r.RecentConflicts = slices.Clone(after.RecentConflicts[len(after.RecentConflicts)-n:])
	}
	return r
}

// Add adds another run's counts to r.
func (r *RunSummary) Add(o RunSummary) {
	r.Rows += o.Rows
	r.Statements += o.Statements
	if r.Skipped == nil {
		r.Skipped = map[string]int64{}
	}
	for k, v := range o.Skipped {
		r.Skipped[k] += v
	}
	r.Conflicts += o.Conflicts
	r.RecentConflicts = append(r.RecentConflicts, o.RecentConflicts...)
	if n := len(r.RecentConflicts); n > RecentConflicts {
		r.RecentConflicts = slices.Clone(r.RecentConflicts[n-RecentConflicts:])
	}
}

// SkippedTotal is how many were skipped, all reasons together.
func (r RunSummary) SkippedTotal() int64 {
	var n int64
	for _, v := range r.Skipped {
		n += v
	}
	return n
}

// SkippedString is "anonymous=1 guest=2" (reasons in SkipReasons order), or
// "none".
func (r RunSummary) SkippedString() string {
	var parts []string
	for _, k := range reasonOrder(r.Skipped) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, r.Skipped[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// String is "250 rows, 246 statements, 4 skipped (anonymous 1, deleted_user
// 1, guest 1, unmapped 1)", and ", 2 conflicts" when ids were found taken.
func (r RunSummary) String() string {
	s := fmt.Sprintf("%s, %s, %d skipped", plural(r.Rows, "row"), plural(r.Statements, "statement"), r.SkippedTotal())
	var parts []string
	for _, k := range reasonOrder(r.Skipped) {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Skipped[k]))
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	if r.Conflicts > 0 {
		s += ", " + plural(r.Conflicts, "conflict")
	}
	return s
}

// reasonOrder is the reasons of m with a count, in SkipReasons order.
func reasonOrder(m map[string]int64) []string {
	var out []string
	for _, k := range SkipReasons {
		if m[k] != 0 {
			out = append(out, k)
		}
	}
	return out
}

func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Check looks at Moodle's log now: what is pending after cursor (counted by
// the primary key, up to CountLimit rows) and the gap the sync waits at,
// if it waits.
func (s *Syncer) Check(ctx context.Context, cursor int64) (*Pending, *Gap, error) {
	log := s.table("logstore_standard_log")
	now := time.Now()
	p := &Pending{Checked: now.UTC()}
	bound := int64(PendingBound)
	if s.CountLimit > 0 {
		bound = int64(s.CountLimit)
	}
	var oldest *int64
	q := s.rebind("SELECT COUNT(*), MIN(timecreated) FROM (SELECT timecreated FROM " + log + " WHERE id > ? ORDER BY id LIMIT ?) t")
	if err := s.Source.DB.QueryRowContext(ctx, q, cursor, bound+1).Scan(&p.Rows, &oldest); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", log, err)
	}
	if p.Rows > bound {
		p.Rows, p.AtLeast = bound, true
	}
	if oldest != nil {
		t := time.Unix(*oldest, 0).UTC()
		p.Oldest = &t
	}
	var latest *int64
	if err := s.Source.DB.QueryRowContext(ctx, "SELECT MAX(id) FROM "+log).Scan(&latest); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", log, err)
	}
	if latest != nil {
		p.Latest = *latest
	}
	if p.Rows == 0 {
		return p, nil, nil
	}
	var next, created int64
	q = s.rebind("SELECT id, timecreated FROM " + log + " WHERE id > ? ORDER BY id LIMIT 1")
	if err := s.Source.DB.QueryRowContext(ctx, q, cursor).Scan(&next, &created); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", log, err)
	}
	return p, s.gapAt(cursor, next, created, now), nil
}

// gapAt is the gap the sync waits at when the first row after cursor is
// next, created at created; nil when it does not wait (see settled).
func (s *Syncer) gapAt(cursor, next, created int64, now time.Time) *Gap {
	rows := settled([]Row{{"id": next, "timecreated": created}}, cursor, now.Add(-s.SettleTime()).Unix())
	if len(rows) > 0 {
		return nil
	}
	return &Gap{From: cursor + 1, To: next - 1, Until: time.Unix(created, 0).Add(s.SettleTime()).UTC()}
}
