package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xapibridge/bridge/lrs/xapi"
)

// receiver is a local xAPI LRS that answers POST /xapi/statements with the
// ids, counts statements and records each one's store-to-delivery delay.
// While held (hold), it leaves requests unanswered until release.
type receiver struct {
	n      atomic.Int64
	mu     sync.Mutex
	delays []time.Duration
	last   time.Time
	gate   chan struct{} // non-nil while held
}

// hold makes requests wait for release.
func (rc *receiver) hold() {
	rc.mu.Lock()
	rc.gate = make(chan struct{})
	rc.mu.Unlock()
}

// release answers the held requests and stops holding; it returns when.
func (rc *receiver) release() time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.gate != nil {
		close(rc.gate)
		rc.gate = nil
	}
	return time.Now()
}

// waitFor returns once the receiver has counted n statements, at deadline,
// or when ctx ends.
func (rc *receiver) waitFor(ctx context.Context, n int64, deadline time.Time) {
	for rc.n.Load() < n && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	gate := rc.gate
	rc.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	now := time.Now()
	var stmts []struct {
		ID     string `json:"id"`
		Stored string `json:"stored"`
	}
	if err := json.Unmarshal(body, &stmts); err != nil {
		var one struct {
			ID     string `json:"id"`
			Stored string `json:"stored"`
		}
		if json.Unmarshal(body, &one) != nil {
			http.Error(w, "bad JSON", 400)
			return
		}
		stmts = append(stmts, one)
	}
	ids := make([]string, len(stmts))
	rc.mu.Lock()
	for i, s := range stmts {
		ids[i] = s.ID
		if t, err := xapi.ParseTimestamp(s.Stored); err == nil {
			rc.delays = append(rc.delays, now.Sub(t))
		}
	}
	rc.last = now
	rc.mu.Unlock()
	rc.n.Add(int64(len(stmts)))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Experience-API-Version", "2.0.0")
	json.NewEncoder(w).Encode(ids)
}

// Both forwarding scenarios deliver in batches of 100 with two workers.
const batchSize, concurrency = 100, 2

// startForwarding serves rc on a local port and starts a bridge on a fresh
// database (labelled label) that forwards every statement to it as an xAPI
// target; delivery adds lines under the target's delivery settings. stop
// ends the bridge, the receiver and the database.
func startForwarding(o *options, driver, label string, rc *receiver, delivery string) (*bridgeProc, string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	t, err := newTarget(o, driver, label)
	if err != nil {
		srv.Close()
		return nil, "", nil, err
	}
	extra := fmt.Sprintf(`targets:
  - name: local
    type: xapi
    endpoint: http://%s/xapi
    version: 2.0.0
    delivery:
      batch_size: %d
      concurrency: %d
%srules:
  - name: everything
    when: "true"
    targets: [local]
`, ln.Addr(), batchSize, concurrency, delivery)
	cfg, dir, err := writeConfig(o, t, extra)
	var p *bridgeProc
	if err == nil {
		p, err = startBridge(o, cfg, dir)
	}
	if err != nil {
		t.drop()
		srv.Close()
		return nil, "", nil, err
	}
	return p, dir, func() { p.kill(); t.drop(); srv.Close() }, nil
}

func runForward(ctx context.Context, o *options, driver string, report func(...row)) error {
	rc := &receiver{}
	p, dir, stop, err := startForwarding(o, driver, "forward", rc, "")
	if err != nil {
		return err
	}
	defer stop()
	logf("forward on %s: POSTing %d statements (batches of 100, %d clients) to a bridge forwarding all to a local xAPI receiver (batch_size %d, concurrency %d)",
		driver, o.forwardN, o.clients, batchSize, concurrency)
	start := time.Now()
	n, postEl, err := drive(ctx, o.clients, 0, o.forwardN, 100, func(ctx context.Context, _ int, g *gen) (int, error) {
		body, _ := g.batch(100, make([]byte, 0, 100*2200))
		return 100, p.post(ctx, body)
	})
	if err != nil {
		return fmt.Errorf("posting: %w (bridge stderr: %s)", err, tailFile(dir+"/stderr.log"))
	}
	deadline := time.Now().Add(10 * time.Minute)
	rc.waitFor(ctx, int64(n), deadline)
	rc.mu.Lock()
	el := rc.last.Sub(start)
	d := sortDurations(rc.delays)
	rc.mu.Unlock()
	got := rc.n.Load()
	if got < int64(n) {
		p.stop()
		return fmt.Errorf("delivered %d of %d in 10 minutes", got, n)
	}

	// Phase 2: steady offered loads, open loop (a batch of 100 every
	// 100 ms, then every 20 ms, whether or not earlier POSTs have been
	// answered): the delay when ingest does not saturate the machine, and at
	// the delivery rate the target asks for.
	pacedFor := 15 * time.Second
	if o.quick {
		pacedFor = 5 * time.Second
	}
	r := rate(int(got), el)
	p50, p95 := percentile(d, .5), percentile(d, .95)
	logf("  %d delivered in %s = %s (POSTs took %s = %s), delay p50 %s p95 %s p99 %s",
		got, el.Round(time.Millisecond), fmtRate(r), postEl.Round(time.Millisecond), fmtRate(rate(n, postEl)), ms(p50), ms(p95), ms(percentile(d, .99)))
	type pacedResult struct {
		offered, sent int
		achieved      float64
		p50, p95      time.Duration
	}
	var paced []pacedResult
	for _, perSec := range []int{1000, 5000} {
		sent, achieved, pd, err := offerPaced(ctx, p, rc, perSec, pacedFor, deadline)
		if err != nil {
			p.stop()
			return err
		}
		pr := pacedResult{perSec, sent, achieved, percentile(pd, .5), percentile(pd, .95)}
		logf("  paced %s/s for %s: %d sent (%s offered), delay p50 %s p95 %s p99 %s",
			thousands(int64(perSec)), pacedFor, sent, fmtRate(achieved), ms(pr.p50), ms(pr.p95), ms(percentile(pd, .99)))
		paced = append(paced, pr)
	}
	rss := p.stop()
	logf("  peak RSS %d MB", rss/1024)
	report(
		row{scenario: fmt.Sprintf("forwarding: %s statements POSTed (100/batch, %d clients) → local xAPI target (rule `true`, batch %d, concurrency %d)", thousands(int64(n)), o.clients, batchSize, concurrency),
			db: driver, figure: fmtRate(r) + " delivered (first POST to last delivery)", baseline: "POST rate in this run: " + fmtRate(rate(n, postEl)),
			ratio: fmt.Sprintf("%.0f%%", 100*r/rate(n, postEl)), target: ">= 5,000/s", met: metWithRSS(r >= 5000, rss), rssKB: rss},
		row{scenario: "forwarding: store-to-delivery delay at full load (the run above: POSTs as fast as the bridge takes them, so the delay includes the backlog that builds while storing outpaces delivering)", db: driver, figure: fmt.Sprintf("p50 %s / p95 %s", ms(p50), ms(p95)),
			target: "p95 < 1 s, read strictly (at saturation)", met: metWithRSS(p95 < time.Second, rss), rssKB: rss},
	)
	for _, pr := range paced {
		report(row{scenario: fmt.Sprintf("forwarding: store-to-delivery delay at a steady %s/s offered (open loop, 100 per POST, %s, %s statements)", thousands(int64(pr.offered)), pacedFor, thousands(int64(pr.sent))), db: driver,
			figure: fmt.Sprintf("p50 %s / p95 %s", ms(pr.p50), ms(pr.p95)), baseline: "offered: " + fmtRate(pr.achieved),
			target: "p95 < 1 s", met: metWithRSS(pr.p95 < time.Second && pr.achieved >= 0.95*float64(pr.offered), rss), rssKB: rss})
	}
	return runDrain(ctx, o, driver, report)
}

// offerPaced POSTs batches of 100 at perSec statements a second for dur,
// open loop (each POST in its own goroutine, at most 64 in flight), waits
// until the receiver has them all (or deadline), and returns how many were
// sent, the rate actually offered, and their store-to-delivery delays,
// sorted.
func offerPaced(ctx context.Context, p *bridgeProc, rc *receiver, perSec int, dur time.Duration, deadline time.Time) (int, float64, []time.Duration, error) {
	rc.mu.Lock()
	rc.delays = nil
	rc.mu.Unlock()
	base := rc.n.Load()
	g := newGen(int64(perSec))
	every := time.Duration(int64(time.Second) * 100 / int64(perSec))
	tk := time.NewTicker(every)
	defer tk.Stop()
	inflight := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sent := 0
	t0 := time.Now()
	for time.Since(t0) < dur && ctx.Err() == nil {
		<-tk.C
		body, _ := g.batch(100, make([]byte, 0, 100*2200))
		inflight <- struct{}{} // blocks only when 64 POSTs are unanswered
		wg.Add(1)
		go func() {
			defer func() { <-inflight; wg.Done() }()
			if err := p.post(ctx, body); err != nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
			}
		}()
		sent += 100
	}
	achieved := rate(sent, time.Since(t0))
	wg.Wait()
	if firstErr != nil {
		return 0, 0, nil, firstErr
	}
	rc.waitFor(ctx, base+int64(sent), deadline)
	rc.mu.Lock()
	d := sortDurations(rc.delays)
	rc.mu.Unlock()
	if got := rc.n.Load() - base; got < int64(sent) {
		return 0, 0, nil, fmt.Errorf("paced %d/s: delivered %d of %d", perSec, got, sent)
	}
	return sent, achieved, d, nil
}

// runDrain measures delivery capacity alone, as the rate at which a
// backlog drains. A fresh bridge forwards to a receiver that holds its
// requests unanswered (a target that stopped responding: the workers' first
// batches wait, nothing else is sent, and no retry or circuit breaker is
// involved, the request timeout being longer than the run) while
// forward-statements statements are POSTed. Once every POST has been
// answered, so all are stored with their deliveries, the receiver answers
// again; the figure is the statements delivered from that moment to the
// last delivery. Storing does not compete with delivering here, unlike the
// first forwarding row, which is bounded by the POST rate.
func runDrain(ctx context.Context, o *options, driver string, report func(...row)) error {
	rc := &receiver{}
	rc.hold()
	defer rc.release()
	p, dir, stop, err := startForwarding(o, driver, "drain", rc, "      timeout: 10m\n")
	if err != nil {
		return err
	}
	defer stop()
	logf("drain on %s: POSTing %d statements while the receiver holds its requests, then measuring the drain", driver, o.forwardN)
	n, postEl, err := drive(ctx, o.clients, 0, o.forwardN, 100, func(ctx context.Context, _ int, g *gen) (int, error) {
		body, _ := g.batch(100, make([]byte, 0, 100*2200))
		return 100, p.post(ctx, body)
	})
	if err != nil {
		return fmt.Errorf("posting: %w (bridge stderr: %s)", err, tailFile(dir+"/stderr.log"))
	}
	if got := rc.n.Load(); got != 0 {
		return fmt.Errorf("%d statements delivered while the receiver was holding", got)
	}
	start := rc.release()
	deadline := time.Now().Add(10 * time.Minute)
	rc.waitFor(ctx, int64(n), deadline)
	rc.mu.Lock()
	el := rc.last.Sub(start)
	rc.mu.Unlock()
	got := rc.n.Load()
	rss := p.stop()
	if got < int64(n) {
		return fmt.Errorf("drain: delivered %d of %d in 10 minutes", got, n)
	}
	r := rate(int(got), el)
	logf("  %d stored in %s (%s); backlog of %d delivered in %s after the receiver answered again = %s, peak RSS %d MB",
		n, postEl.Round(time.Millisecond), fmtRate(rate(n, postEl)), got, el.Round(time.Millisecond), fmtRate(r), rss/1024)
	report(row{scenario: fmt.Sprintf("forwarding capacity: a backlog of %s statements (stored while the target held its requests) drained once it answers (batch %d, concurrency %d)",
		thousands(int64(n)), batchSize, concurrency),
		db: driver, figure: fmtRate(r) + " delivered (target answering to last delivery)", target: ">= 5,000/s", met: metWithRSS(r >= 5000, rss), rssKB: rss})
	return nil
}
