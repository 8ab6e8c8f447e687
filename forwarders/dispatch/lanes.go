package dispatch

import (
	"context"
	"sync"
	"time"

	"github.com/xapibridge/bridge/lrs"
)

// laneHoldBack is how long the items of a personal LRS whose lane is full
// stay out of claims.
const laneHoldBack = 5 * time.Second

// DefaultPersonalParallel is how many personal LRSs are sent to at once
// when Target.Parallel is not set.
const DefaultPersonalParallel = 16

// personalKey is a personal LRS registration: a learner in a store.
type personalKey struct {
	store int64
	agent string
}

// personalLanes sends the personal target's deliveries: one lane per
// personal LRS that has deliveries claimed, each sending its batches one
// after the other (one request at a time to a learner's LRS, behind the
// LRS's own breaker), the lanes side by side, at most Parallel at once.
// The workers claim and hand the items over without waiting for them to be
// sent, so a personal LRS that never answers delays only its own learner's
// statements: not the other learners' in the same claim (they were sent
// one after another), nor the next claims.
//
// Items wait in their lane at most until their send deadline (the claim's
// lease, less the margin to record the outcomes, as for any target); those
// not sent by then are released without counting an attempt. A lane holds
// at most maxClaim(t) items waiting: the worker releases more for a second
// and waits for the lanes to make progress before it claims again.
type personalLanes struct {
	stop context.Context // the dispatcher's: once done, waiting items are released

	mu       sync.Mutex
	lanes    map[personalKey]*personalLane
	slots    chan struct{} // one per lane sending
	progress chan struct{} // a lane sent a batch or ended (buffered, 1)
	wg       sync.WaitGroup
}

type personalLane struct {
	queue  []laneBatch
	queued int // items in queue
}

type laneBatch struct {
	items    []lrs.OutboxItem
	deadline time.Time
}

// start prepares the lanes for t (the personal target) before its workers
// run; stop is the dispatcher's context.
func (l *personalLanes) start(stop context.Context, t *Target) {
	n := t.Parallel
	if n <= 0 {
		n = DefaultPersonalParallel
	}
	l.stop = stop
	l.lanes = map[personalKey]*personalLane{}
	l.slots = make(chan struct{}, n)
	l.progress = make(chan struct{}, 1)
}

// waitFree returns when a lane may start sending (a slot is free), or
// false when ctx ends first.
func (l *personalLanes) waitFree(ctx context.Context) bool {
	select {
	case l.slots <- struct{}{}:
		<-l.slots
		return true
	case <-ctx.Done():
		return false
	}
}

// waitProgress returns when a lane has sent a batch since the last call,
// after at most poll, or false when ctx ends.
func (l *personalLanes) waitProgress(ctx context.Context, poll time.Duration) bool {
	return sleep(ctx, poll, l.progress)
}

func (l *personalLanes) kick() {
	select {
	case l.progress <- struct{}{}:
	default:
	}
}

// hand gives each personal LRS's items to its lane, starting the lanes that
// are not running, and reports whether some were released instead (their
// lane had enough waiting).
func (l *personalLanes) hand(d *Dispatcher, t *Target, items []lrs.OutboxItem) (busy bool) {
	deadline := time.Now().Add(sendTimeout(t))
	groups := map[personalKey][]lrs.OutboxItem{}
	var order []personalKey
	for _, it := range items {
		k := personalKey{it.StoreID, it.PersonalKey}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], it)
	}
	for _, k := range order {
		its := groups[k]
		l.mu.Lock()
		if ln := l.lanes[k]; ln != nil {
			if ln.queued > 0 && ln.queued+len(its) > maxClaim(t) {
				l.mu.Unlock()
				// Held back a while, not just until the next claim: claims are
				// in due order, and a learner's backlog due now would fill
				// them again and again ahead of other learners' statements.
				d.release(t, its, laneHoldBack, "not sent yet: earlier statements are being sent to this personal LRS")
				busy = true
				continue
			}
			ln.queue = append(ln.queue, laneBatch{its, deadline})
			ln.queued += len(its)
			l.mu.Unlock()
			continue
		}
		ln := &personalLane{queue: []laneBatch{{its, deadline}}, queued: len(its)}
		l.lanes[k] = ln
		l.wg.Add(1)
		l.mu.Unlock()
		go l.run(d, t, k, ln)
	}
	return busy
}

// run sends the lane's batches until it has none, then ends.
func (l *personalLanes) run(d *Dispatcher, t *Target, k personalKey, ln *personalLane) {
	defer l.wg.Done()
	slot := false
	defer func() {
		if slot {
			<-l.slots
		}
		l.kick()
	}()
	for {
		l.mu.Lock()
		if len(ln.queue) == 0 {
			delete(l.lanes, k)
			l.mu.Unlock()
			return
		}
		b := ln.queue[0]
		ln.queue = ln.queue[1:]
		ln.queued -= len(b.items)
		l.mu.Unlock()

		// The send does not use the dispatcher's context: a batch being
		// sent at shutdown is finished (bounded by its lease) so its outcome
		// is recorded; batches still waiting are released.
		ctx, cancel := context.WithDeadline(context.Background(), b.deadline)
		if !slot && l.stop.Err() == nil {
			select {
			case l.slots <- struct{}{}:
				slot = true
			case <-ctx.Done():
			case <-l.stop.Done():
			}
		}
		switch {
		case l.stop.Err() != nil:
			d.release(t, b.items, 0, "not sent: the bridge is stopping")
		case !slot || ctx.Err() != nil:
			d.release(t, b.items, 0, "not sent: waited too long for a free personal-LRS slot")
		case t.Timeout > 0 && time.Until(b.deadline) < t.Timeout:
			// Too little of the claim's time is left for a whole request: a
			// request cut short would count as a failed attempt against this
			// LRS (and may have reached it). Send it with a fresh claim.
			d.release(t, b.items, 0, "not sent: earlier batches to this personal LRS used the claim's time")
		default:
			d.sendPersonal(ctx, t, k, b.items)
			l.kick()
		}
		cancel()
	}
}
