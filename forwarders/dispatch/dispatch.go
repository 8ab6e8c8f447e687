// Package dispatch delivers the forwarding outbox: per target, workers claim
// due deliveries, send them through the target's forwarder (behind its
// circuit breaker) and record the outcome: delivered rows are removed,
// failures are retried with backoff, and deliveries past their retry limit
// become dead letters. Dispatch is continuous: workers are woken as soon as
// statements are stored and poll only as a fallback (for other processes
// sharing the database, and for retries falling due).
package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// PersonalTarget is the name of the target that resolves, per delivery, to
// the personal LRS registered for the statement's actor.
const PersonalTarget = "personal"

// Transformer applies a rule's transform to a statement before sending.
type Transformer interface {
	Apply(rule string, stmt map[string]any) map[string]any
}

// PersonalResolver returns the forwarder (with its own breaker) for the
// personal LRS registered for agentKey in a store.
type PersonalResolver interface {
	Forwarder(ctx context.Context, storeID int64, agentKey string) (*forwarders.Breaker, error)
}

// Target is one forwarding target and how to deliver to it.
type Target struct {
	Name        string
	Sender      *forwarders.Breaker // nil for the personal target
	BatchSize   int                 // default 50
	Concurrency int                 // workers; default 1
	Retry       forwarders.RetryPolicy
	Timeout     time.Duration // per send; sets the lease; default 30s
	// LeaseExtra is the constant part of the lease (see leaseFor); default
	// 20s. Tests shorten it so the deliveries of a killed process are
	// picked up again quickly.
	LeaseExtra time.Duration
	// Parallel, for the personal target, is how many personal LRSs are
	// sent to at once, each one request at a time behind its own breaker:
	// a personal LRS that stalls holds one of them, and the others go on.
	// Default 16.
	Parallel int
}

// Dispatcher runs the workers.
type Dispatcher struct {
	Outbox       lrs.Outbox
	Targets      []*Target
	Transform    Transformer
	Personal     PersonalResolver
	PollInterval time.Duration // default 1s
	Logger       *slog.Logger
	Registry     prometheus.Registerer
	// Health, when set, records each target's breaker transitions and the
	// error of its most recent failed attempt, for `bridge forward status`.
	Health lrs.TargetHealthStore

	wakeMu    sync.Mutex
	wakers    []chan struct{}
	initOnce  sync.Once
	metrics   *metrics
	completed completer
	running   atomic.Bool

	healthMu   sync.Mutex
	breakerQ   map[string]breakerReport // transitions not yet recorded, the latest per target
	healthKick chan struct{}
	noted      map[string]notedFailure // the last failure recorded per target

	lanes personalLanes
}

// breakerReport is a breaker state waiting to be recorded in Health.
type breakerReport struct {
	state, cause string
	at           time.Time
}

type notedFailure struct {
	msg string
	at  time.Time
}

type metrics struct {
	delivered, retried, dead *prometheus.CounterVec
	depth, deadDepth, state  *prometheus.GaugeVec
	delay                    *prometheus.HistogramVec
}

func (d *Dispatcher) init() { d.initOnce.Do(d.doInit) }

func (d *Dispatcher) doInit() {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.PollInterval <= 0 {
		d.PollInterval = time.Second
	}
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_forward_delivered_total", Help: "Statements delivered, by target."}, []string{"target"}),
		retried:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_forward_retried_total", Help: "Failed delivery attempts that will be retried, by target."}, []string{"target"}),
		dead:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bridge_forward_dead_total", Help: "Deliveries moved to the dead letters, by target."}, []string{"target"}),
		depth:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bridge_forward_queue_depth", Help: "Pending deliveries, by target."}, []string{"target"}),
		deadDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bridge_forward_dead_letters", Help: "Dead deliveries waiting for replay or discard, by target."}, []string{"target"}),
		state:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bridge_forward_breaker_state", Help: "Circuit breaker state by target: 0 closed, 1 half-open, 2 open."}, []string{"target"}),
		delay: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bridge_forward_delay_seconds", Help: "Time from storing a statement to its delivery, by target.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600}}, []string{"target"}),
	}
	if d.Registry != nil {
		d.Registry.MustRegister(m.delivered, m.retried, m.dead, m.depth, m.deadDepth, m.state, m.delay)
	}
	d.metrics = m
	d.healthKick = make(chan struct{}, 1)
}

// BreakerChanged records a breaker's transition: its new state ("closed",
// "half-open", "open") in bridge_forward_breaker_state at once, so short
// openings show in /metrics and not only those that last until the next
// gauge refresh; and, with Health, the state and its cause in the database
// (in the background: it is called while the breaker is locked). It may be
// called before Run.
func (d *Dispatcher) BreakerChanged(c forwarders.StateChange) {
	d.init()
	d.metrics.state.WithLabelValues(c.Target).Set(stateValue(c.To))
	d.queueBreaker(c.Target, c.To, c.Cause, time.Now())
}

// Running reports whether Run is dispatching (in `bridge serve`; not in a
// CLI command, whose breakers never send).
func (d *Dispatcher) Running() bool { return d.running.Load() }

func (d *Dispatcher) queueBreaker(target, state, cause string, at time.Time) {
	if d.Health == nil {
		return
	}
	d.healthMu.Lock()
	if d.breakerQ == nil {
		d.breakerQ = map[string]breakerReport{}
	}
	d.breakerQ[target] = breakerReport{state: state, cause: cause, at: at}
	d.healthMu.Unlock()
	select {
	case d.healthKick <- struct{}{}:
	default:
	}
}

// recordBreakers writes queued breaker transitions until ctx ends.
func (d *Dispatcher) recordBreakers(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.healthKick:
		}
		d.flushBreakers()
	}
}

func (d *Dispatcher) flushBreakers() {
	d.healthMu.Lock()
	q := d.breakerQ
	d.breakerQ = nil
	d.healthMu.Unlock()
	for target, r := range q {
		ctx, cancel := recordContext()
		if err := d.Health.RecordBreaker(ctx, target, r.state, r.cause, r.at); err != nil {
			d.Logger.Warn("recording breaker state failed", "target", target, "error", err)
		}
		cancel()
	}
}

// noteFailure records o, a failed attempt to deliver to t (through via,
// the forwarder's name, when it is not t's: a personal LRS), as t's most
// recent failure. A target failing the same way again within a second is
// not written again.
func (d *Dispatcher) noteFailure(t *Target, via string, o forwarders.Outcome) {
	if d.Health == nil {
		return
	}
	msg := o.Error
	if via != "" && via != t.Name {
		msg = via + ": " + msg
	}
	now := time.Now()
	d.healthMu.Lock()
	if n, ok := d.noted[t.Name]; ok && n.msg == msg && now.Sub(n.at) < time.Second {
		d.healthMu.Unlock()
		return
	}
	if d.noted == nil {
		d.noted = map[string]notedFailure{}
	}
	d.noted[t.Name] = notedFailure{msg: msg, at: now}
	d.healthMu.Unlock()
	ctx, cancel := recordContext()
	defer cancel()
	if err := d.Health.RecordFailure(ctx, t.Name, o.Status, msg, now); err != nil {
		d.Logger.Warn("recording delivery failure failed", "target", t.Name, "error", err)
	}
}

// failure is the outcome that best explains a batch's failures (see
// forwarders.FailureCause), and whether there is one: outcomes the
// breaker kept from the target are not attempts.
func failure(out []forwarders.Outcome) (forwarders.Outcome, bool) {
	var failed []forwarders.Outcome
	for _, o := range out {
		if !o.OK && o.Error != forwarders.CircuitOpen {
			failed = append(failed, o)
		}
	}
	if len(failed) == 0 {
		return forwarders.Outcome{}, false
	}
	cause := forwarders.FailureCause(failed)
	for _, o := range failed {
		if o.Error == cause {
			return o, true
		}
	}
	return failed[0], true
}

// Wake tells every worker that new deliveries may be due.
func (d *Dispatcher) Wake() {
	d.wakeMu.Lock()
	defer d.wakeMu.Unlock()
	for _, c := range d.wakers {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

func (d *Dispatcher) waker() chan struct{} {
	c := make(chan struct{}, 1)
	d.wakeMu.Lock()
	d.wakers = append(d.wakers, c)
	d.wakeMu.Unlock()
	return c
}

// Run dispatches until ctx ends, then lets each worker finish the batch it
// is sending and returns.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	d.running.Store(true)
	defer d.running.Store(false)
	var wg sync.WaitGroup
	for _, t := range d.Targets {
		if t.Sender != nil {
			// This process's breaker starts closed: a state recorded before a
			// restart no longer holds.
			info := t.Sender.Info()
			d.queueBreaker(t.Name, info.State, "the bridge started", time.Now())
		}
		if t.BatchSize <= 0 {
			t.BatchSize = 50
		}
		if t.Concurrency <= 0 {
			t.Concurrency = 1
		}
		if t.Timeout <= 0 {
			t.Timeout = 30 * time.Second
		}
		if t.LeaseExtra <= 0 {
			t.LeaseExtra = defaultLeaseExtra
		}
		if t.Sender == nil {
			d.lanes.start(ctx, t)
		}
		t.Retry = t.Retry.WithDefaults()
		claim := new(sync.Mutex)
		for i := 0; i < t.Concurrency; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.worker(ctx, t, i, claim, d.waker())
			}()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.gauges(ctx)
	}()
	if d.Health != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.recordBreakers(ctx)
		}()
	}
	wg.Wait()
	// The personal LRSs' sends in flight end by their leases.
	d.lanes.wg.Wait()
	// Record the deliveries the last batches delivered, and the breakers'
	// last transitions.
	d.completed.wait()
	if d.Health != nil {
		d.flushBreakers()
	}
}

// gauges refreshes queue depths and breaker states for /metrics.
func (d *Dispatcher) gauges(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		if stats, err := d.Outbox.OutboxStats(ctx); err == nil {
			seen := map[string]bool{}
			for _, s := range stats {
				seen[s.Target] = true
				d.metrics.depth.WithLabelValues(s.Target).Set(float64(s.Pending))
				d.metrics.deadDepth.WithLabelValues(s.Target).Set(float64(s.Dead))
			}
			for _, tg := range d.Targets {
				if !seen[tg.Name] {
					d.metrics.depth.WithLabelValues(tg.Name).Set(0)
					d.metrics.deadDepth.WithLabelValues(tg.Name).Set(0)
				}
				if tg.Sender != nil {
					d.metrics.state.WithLabelValues(tg.Name).Set(stateValue(tg.Sender.State()))
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func stateValue(s string) float64 {
	switch s {
	case "half-open":
		return 1
	case "open":
		return 2
	}
	return 0
}

// worker n of t's workers claims and delivers deliveries of t.
//
// When the previous claim came back full (a backlog), each worker claims
// from its own part of the deliveries (ids modulo the workers), so the
// workers claim side by side without meeting on the same rows; and from
// all of them when its part has nothing due, so no delivery waits for a
// busy worker while another is idle. Otherwise the workers take turns to
// claim from all (claim): when there is little to send, one worker sends
// it in one request.
//
// A claim asks for BatchSize deliveries. While claims come back full and
// are delivered without a failure, the next asks for twice as many, up to
// maxClaim(t), which are sent in requests of BatchSize one after the other:
// while ingest keeps the database busy, a claim's two statements take far
// longer than a request to a local target, and fewer, larger claims
// deliver more.
func (d *Dispatcher) worker(ctx context.Context, t *Target, n int, claim *sync.Mutex, wake chan struct{}) {
	poll := d.PollInterval
	limit := t.BatchSize
	backlog := false
	for ctx.Err() == nil {
		wait := poll
		if t.Sender != nil {
			if ok, at := t.Sender.Ready(); !ok {
				wait = max(time.Until(at), 10*time.Millisecond)
				if !sleep(ctx, wait, nil) {
					return
				}
				continue
			}
		} else if !d.lanes.waitFree(ctx) {
			return // claim for the personal target only when a personal LRS can be sent to
		}
		now := time.Now()
		lease := now.Add(leaseFor(t))
		var items []lrs.OutboxItem
		var err error
		if backlog && t.Concurrency > 1 {
			items, err = d.Outbox.ClaimPart(ctx, t.Name, n, t.Concurrency, limit, now, lease)
		}
		if err == nil && len(items) == 0 {
			claim.Lock()
			items, err = d.Outbox.ClaimDeliveries(ctx, t.Name, limit, now, lease)
			claim.Unlock()
		}
		if err != nil {
			if ctx.Err() == nil {
				d.Logger.Warn("claiming deliveries failed", "target", t.Name, "error", err)
			}
			limit, backlog = t.BatchSize, false
			sleep(ctx, poll, nil)
			continue
		}
		if len(items) == 0 {
			limit, backlog = t.BatchSize, false
			// Jitter the poll so several processes do not poll in step.
			sleep(ctx, wait/2+time.Duration(rand.Int64N(int64(wait/2)+1)), wake)
			continue
		}
		backlog = len(items) == limit
		ok, busy := d.deliver(t, items)
		if busy {
			// Personal LRSs are still busy with earlier claims (some of this
			// one were released): claim again once one has made progress.
			limit = t.BatchSize
			if !d.lanes.waitProgress(ctx, poll) {
				return
			}
			continue
		}
		if ok && backlog {
			limit = min(2*limit, maxClaim(t))
		} else {
			limit = t.BatchSize
		}
	}
}

// maxClaim is the most deliveries a worker of t claims at once: BatchSize,
// or a few batches of it up to 400 deliveries.
func maxClaim(t *Target) int {
	return t.BatchSize * max(1, min(4, 400/t.BatchSize))
}

// sleep waits for d, a wake-up or the end of ctx; it reports whether ctx
// is still live.
func sleep(ctx context.Context, d time.Duration, wake chan struct{}) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
	case <-wake:
	}
	return true
}

// defaultLeaseExtra is the constant part of a lease.
const defaultLeaseExtra = 20 * time.Second

// leaseFor is how long claimed deliveries stay reserved: longer than a send
// may take (the send's context ends LeaseExtra/2 before, see sendTimeout),
// so no other worker takes them while they are being sent, and short enough
// that the deliveries of a killed process are picked up again soon.
func leaseFor(t *Target) time.Duration {
	extra := t.LeaseExtra
	if extra <= 0 {
		extra = defaultLeaseExtra
	}
	return 3*t.Timeout + extra
}

// sendTimeout bounds the sending of one claimed batch: it ends half the
// lease's constant part before the lease, which leaves time to record the
// outcomes while the rows are still reserved.
func sendTimeout(t *Target) time.Duration {
	extra := t.LeaseExtra
	if extra <= 0 {
		extra = defaultLeaseExtra
	}
	return leaseFor(t) - extra/2
}

// deliver sends claimed items and records outcomes, and reports whether
// every item was delivered. It does not use the dispatcher's context: a
// claim being sent at shutdown is finished (bounded by its lease) so its
// outcome is recorded, not left leased.
//
// For the personal target, it hands each registered LRS's items to that
// LRS's lane (personalLanes) and returns without waiting for them: ok says
// whether every item was handed over, busy that some were released because
// their LRS's lane had enough waiting already.
func (d *Dispatcher) deliver(t *Target, items []lrs.OutboxItem) (ok, busy bool) {
	if t.Sender == nil {
		busy = d.lanes.hand(d, t, items)
		return !busy, busy
	}
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout(t))
	defer cancel()
	return d.sendAll(ctx, t, t.Sender, items), false
}

// sendPersonal sends items, all to the personal LRS of k, through its
// forwarder (and breaker).
func (d *Dispatcher) sendPersonal(ctx context.Context, t *Target, k personalKey, items []lrs.OutboxItem) {
	f, err := d.Personal.Forwarder(ctx, k.store, k.agent)
	if err != nil {
		o := forwarders.Outcome{Permanent: lrs.ErrorCode(err) == lrs.ENOTFOUND, Error: err.Error()}
		for _, it := range items {
			d.record(t, it, o)
		}
		d.noteFailure(t, "", o)
		return
	}
	d.sendAll(ctx, t, f, items)
}

// sendAll sends items in batches of at most BatchSize, one after the other,
// and reports whether every item was delivered. After a batch with a
// retryable failure (the target is down or overloaded), or once the time
// for the claim has run out, the items not sent are released without
// counting an attempt: due again after the failure's Retry-After (at least
// a second), or at once.
func (d *Dispatcher) sendAll(ctx context.Context, t *Target, f *forwarders.Breaker, items []lrs.OutboxItem) bool {
	ok := true
	for len(items) > 0 {
		if ctx.Err() != nil {
			d.release(t, items, 0, "not sent: the time for the batch ran out")
			return false
		}
		n := min(len(items), t.BatchSize)
		allOK, retry, after := d.sendBatch(ctx, t, f, items[:n])
		items = items[n:]
		ok = ok && allOK
		if retry && len(items) > 0 {
			d.release(t, items, max(after, time.Second), "not sent: an earlier request to the target failed")
			return false
		}
	}
	return ok
}

// release makes claimed items due again at now+after, keeping their attempt
// count: they were not sent.
func (d *Dispatcher) release(t *Target, items []lrs.OutboxItem, after time.Duration, msg string) {
	ctx, cancel := recordContext()
	defer cancel()
	next := time.Now().Add(after)
	for _, it := range items {
		if err := d.Outbox.RetryDelivery(ctx, it.ID, it.Lease, it.Attempts, next, 0, msg); err != nil {
			d.Logger.Error("releasing delivery failed", "target", t.Name, "delivery", it.ID, "error", err)
		}
	}
}

// sendBatch sends one batch and records its outcomes. It reports whether
// every item was delivered, whether any failed retryably, and the longest
// Retry-After of those.
func (d *Dispatcher) sendBatch(ctx context.Context, t *Target, f *forwarders.Breaker, items []lrs.OutboxItem) (allOK, retry bool, after time.Duration) {
	allOK = true
	batch := make([]forwarders.Item, 0, len(items))
	sent := make([]lrs.OutboxItem, 0, len(items))
	for _, it := range items {
		body, err := d.prepare(it)
		if err != nil {
			o := forwarders.Outcome{Permanent: true, Error: err.Error()}
			d.record(t, it, o)
			d.noteFailure(t, "", o)
			allOK = false
			continue
		}
		batch = append(batch, forwarders.Item{DeliveryID: it.ID, StatementID: it.StatementID, Statement: body})
		sent = append(sent, it)
	}
	if len(batch) == 0 {
		return allOK, false, 0
	}
	outcomes := f.Send(ctx, batch)
	if o, failed := failure(outcomes); failed {
		d.noteFailure(t, f.Name(), o)
	}
	done := make([]int64, 0, len(sent))
	delay := d.metrics.delay.WithLabelValues(t.Name)
	now := time.Now()
	for i, it := range sent {
		o := forwarders.Outcome{Error: "no outcome"}
		if i < len(outcomes) {
			o = outcomes[i]
		}
		if o.OK {
			done = append(done, it.ID)
			delay.Observe(now.Sub(it.CreatedAt).Seconds())
			continue
		}
		allOK = false
		if o.Retryable() {
			retry = true
			after = max(after, o.RetryAfter)
		}
		d.record(t, it, o)
	}
	if len(done) > 0 {
		d.metrics.delivered.WithLabelValues(t.Name).Add(float64(len(done)))
	}
	d.completed.add(d, done)
	return allOK, retry, after
}

// completer removes delivered rows from the outbox in the background, off
// the workers' path: one DELETE at a time, for all the deliveries delivered
// since the previous one began (so several batches share a statement and
// its commit when the database is busy). Delivered rows stay leased until
// then; if the process stops before, they are sent again after their lease
// (receivers dedupe by statement id or X-Bridge-Delivery), as when a DELETE
// fails.
type completer struct {
	mu      sync.Mutex
	ids     []int64
	running bool
	wg      sync.WaitGroup
}

// add queues delivered ids for removal.
func (c *completer) add(d *Dispatcher, ids []int64) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	c.ids = append(c.ids, ids...)
	if c.running {
		c.mu.Unlock()
		return
	}
	c.running = true
	c.wg.Add(1)
	c.mu.Unlock()
	go c.run(d)
}

func (c *completer) run(d *Dispatcher) {
	defer c.wg.Done()
	var buf []int64
	for {
		c.mu.Lock()
		ids := c.ids
		c.ids = buf[:0]
		if len(ids) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for rest := ids; len(rest) > 0; {
			chunk := rest[:min(len(rest), maxComplete)]
			rest = rest[len(chunk):]
			// A context of its own: the send's may have run out (a slow
			// batch), and outcomes that are not recorded are sent again.
			ctx, cancel := recordContext()
			if err := d.Outbox.CompleteDeliveries(ctx, chunk); err != nil {
				// The rows stay leased and will be sent again after the lease:
				// receivers dedupe by statement id (xAPI) or X-Bridge-Delivery.
				d.Logger.Error("recording deliveries failed", "deliveries", len(chunk), "error", err)
			}
			cancel()
		}
		buf = ids
	}
}

// wait returns when every queued id has been removed (or failed to be).
func (c *completer) wait() { c.wg.Wait() }

// maxComplete bounds the ids of one DELETE (placeholder limits: SQLite
// 32766, MySQL 65535).
const maxComplete = 1000

// prepare returns the statement to send: the stored one with the rule's
// transform applied.
func (d *Dispatcher) prepare(it lrs.OutboxItem) (json.RawMessage, error) {
	if d.Transform == nil {
		return it.Statement, nil
	}
	// Most rules send the statement as stored: skip decoding it.
	if t, ok := d.Transform.(interface{ HasTransform(string) bool }); ok && !t.HasTransform(it.Rule) {
		return it.Statement, nil
	}
	v, err := xapi.DecodeJSON(it.Statement)
	m, _ := v.(map[string]any)
	if err != nil || m == nil {
		return nil, fmt.Errorf("stored statement %s is not a JSON object", it.StatementID)
	}
	out, err := json.Marshal(d.Transform.Apply(it.Rule, m))
	if err != nil {
		return nil, fmt.Errorf("encoding statement %s: %w", it.StatementID, err)
	}
	return out, nil
}

// recordContext bounds writing outcomes to the outbox. It is independent of
// the send's context, which may have ended when the send ran long.
func recordContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// record stores a failed attempt: retried later, or dead.
func (d *Dispatcher) record(t *Target, it lrs.OutboxItem, o forwarders.Outcome) {
	ctx, cancel := recordContext()
	defer cancel()
	if o.Error == forwarders.CircuitOpen {
		// Not an attempt: the breaker kept it from the target (a personal
		// LRS whose breaker is open). Try when the breaker allows.
		if err := d.Outbox.RetryDelivery(ctx, it.ID, it.Lease, it.Attempts, time.Now().Add(max(o.RetryAfter, time.Second)), 0, o.Error); err != nil {
			d.Logger.Error("recording delivery attempt failed", "target", t.Name, "delivery", it.ID, "error", err)
		}
		return
	}
	attempts := it.Attempts + 1
	msg := o.Error
	wait, dead := t.Retry.Next(attempts, time.Since(it.CreatedAt), o.RetryAfter, rand.Float64)
	if o.Permanent || dead {
		if err := d.Outbox.KillDelivery(ctx, it.ID, it.Lease, attempts, o.Status, msg); err != nil {
			d.Logger.Error("recording dead delivery failed", "target", t.Name, "delivery", it.ID, "error", err)
			return
		}
		d.metrics.dead.WithLabelValues(t.Name).Inc()
		d.Logger.Warn("delivery dead", "target", t.Name, "delivery", it.ID, "statement", it.StatementID,
			"attempts", attempts, "permanent", o.Permanent, "error", msg)
		return
	}
	if err := d.Outbox.RetryDelivery(ctx, it.ID, it.Lease, attempts, time.Now().Add(wait), o.Status, msg); err != nil {
		d.Logger.Error("recording delivery attempt failed", "target", t.Name, "delivery", it.ID, "error", err)
		return
	}
	d.metrics.retried.WithLabelValues(t.Name).Inc()
	d.Logger.Debug("delivery will be retried", "target", t.Name, "delivery", it.ID, "attempts", attempts, "in", wait, "error", msg)
}
