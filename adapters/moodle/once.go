package moodle

import (
	"context"
	"time"
)

// Once is what RunOnce did.
type Once struct {
	*Status
	// Run is what its runs did together.
	Run RunSummary
	// Waited is how long it waited for gaps in log ids to settle.
	Waited time.Duration
	// Short says it stopped at a gap (Status.Waiting) before the end of
	// the log as it was when it started: waiting longer would have gone
	// past the source's SettleTime, or it was told not to wait.
	Short bool
}

// RunOnce syncs the log as it is when it starts (`bridge moodle sync
// --once`). A run stops at a recent gap in log ids (rows that may still be
// committing, see Gap); with wait, RunOnce then waits for the gap to settle
// and runs again, waiting at most the source's SettleTime (and a second) in
// all: every row it set out to read was created before it started, so
// every gap among them settles by then, unless Moodle's clock is ahead of
// the bridge's. Rows logged after it started do not hold it.
func (s *Syncer) RunOnce(ctx context.Context, progress Progress, wait bool) (*Once, error) {
	var o Once
	st0, err := s.Status(ctx)
	if err != nil {
		return nil, err
	}
	first, target := st0.Cursor, int64(-1)
	var deadline time.Time
	for {
		// One progress for all the runs: rows done since the first run's
		// cursor, of the rows from there to the end of the log.
		var offset int64
		if o.Status != nil {
			offset = max(o.Status.Cursor-first, 0)
		}
		var prog Progress
		if progress != nil {
			prog = func(done, total int64) { progress(offset+done, offset+total) }
		}
		st, err := s.Run(ctx, prog)
		if st != nil && st.LastRun != nil {
			o.Run.Add(*st.LastRun)
		}
		o.Status = st
		if err != nil {
			return &o, err
		}
		if target < 0 {
			target = st.Latest
		}
		o.Short = false
		if st.Waiting == nil || st.Cursor >= target || ctx.Err() != nil {
			return &o, nil
		}
		o.Short = true
		if !wait {
			return &o, nil
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(s.SettleTime() + time.Second)
		}
		d := st.Waiting.Wait(now) + 50*time.Millisecond // timecreated counts whole seconds
		if now.Add(d).After(deadline) {
			return &o, nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			o.Waited += time.Since(now)
			return &o, nil
		case <-t.C:
		}
		o.Waited += time.Since(now)
	}
}
