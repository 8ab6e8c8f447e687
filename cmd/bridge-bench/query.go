package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/url"
	"sync/atomic"
	"time"
)

// runQuery loads o.statements statements through the bridge (100 per POST,
// o.clients clients), then measures GET /statements latencies.
func runQuery(ctx context.Context, o *options, driver string, report func(...row)) error {
	t, err := newTarget(o, driver, "query")
	if err != nil {
		return err
	}
	defer t.drop()
	cfg, dir, err := writeConfig(o, t, "")
	if err != nil {
		return err
	}
	p, err := startBridge(o, cfg, dir)
	if err != nil {
		return err
	}
	defer p.kill()

	logf("query on %s: loading %d statements (batches of 100, %d clients)", driver, o.statements, o.clients)
	var done atomic.Int64
	stopProgress := make(chan struct{})
	go func() {
		tk := time.NewTicker(30 * time.Second)
		defer tk.Stop()
		start := time.Now()
		for {
			select {
			case <-stopProgress:
				return
			case <-tk.C:
				n := done.Load()
				logf("  loaded %d of %d (%s), RSS peak %d MB", n, o.statements, fmtRate(rate(int(n), time.Since(start))), peakRSS(p.cmd.Process.Pid)/1024)
			}
		}
	}()
	loadStart := time.Now()
	n, el, err := drive(ctx, o.clients, 0, o.statements, 100, func(ctx context.Context, _ int, g *gen) (int, error) {
		body, _ := g.batch(100, make([]byte, 0, 100*2200))
		err := p.post(ctx, body)
		done.Add(100)
		return 100, err
	})
	loadEnd := time.Now()
	close(stopProgress)
	if err != nil {
		return fmt.Errorf("loading: %w (bridge stderr: %s)", err, tailFile(dir+"/stderr.log"))
	}
	loadRSS := peakRSS(p.cmd.Process.Pid)
	r := rate(n, el)
	logf("  loaded %d statements in %s = %s, peak RSS %d MB", n, el.Round(time.Second), fmtRate(r), loadRSS/1024)
	report(row{scenario: fmt.Sprintf("sustained ingest: loading %s statements, batches of 100, %d clients", thousands(int64(n)), o.clients), db: driver,
		figure: fmtRate(r) + " statements", target: ">= 10,000/s", met: metWithRSS(r >= 10000, loadRSS), rssKB: loadRSS})
	resetPeakRSS(p.cmd.Process.Pid)

	rng := rand.New(rand.NewSource(42))
	span := loadEnd.Sub(loadStart)
	filters := []struct {
		name string
		q    func() string
	}{
		{"agent", func() string { return "agent=" + url.QueryEscape(agentJSON(rng.Intn(learners))) }},
		{"verb", func() string { return "verb=" + url.QueryEscape(verbs[rng.Intn(len(verbs))]) }},
		{"activity (course) + related_activities", func() string {
			return "activity=" + url.QueryEscape(courseIRI(rng.Intn(courses))) + "&related_activities=true"
		}},
		{"registration", func() string {
			l := rng.Intn(learners)
			return "registration=" + registration(l, learnerCourse(l, rng.Intn(coursesPerLearner)))
		}},
		{"since", func() string {
			ts := loadStart.Add(time.Duration(rng.Int63n(int64(span)))).UTC().Format(time.RFC3339Nano)
			return "since=" + url.QueryEscape(ts)
		}},
	}
	// Warm up connections and caches a little.
	for i := 0; i < 10; i++ {
		if _, err := p.get(ctx, p.endpoint+"/statements?limit=10"); err != nil {
			return err
		}
	}
	type result struct {
		name          string
		p50, p95, p99 time.Duration
		avgReturned   float64
	}
	var results []result
	for _, f := range filters {
		lat := make([]time.Duration, 0, o.queryN)
		returned := 0
		for i := 0; i < o.queryN; i++ {
			u := p.endpoint + "/statements?" + f.q()
			t0 := time.Now()
			b, err := p.get(ctx, u)
			d := time.Since(t0)
			if err != nil {
				return err
			}
			lat = append(lat, d)
			var res struct {
				Statements []json.RawMessage `json:"statements"`
			}
			if err := json.Unmarshal(b, &res); err != nil {
				return fmt.Errorf("%s: decoding: %w", u, err)
			}
			returned += len(res.Statements)
		}
		s := sortDurations(lat)
		res := result{f.name, percentile(s, .5), percentile(s, .95), percentile(s, .99), float64(returned) / float64(o.queryN)}
		results = append(results, res)
		logf("  %s: p50 %s p95 %s p99 %s (%.0f statements per reply)", f.name, ms(res.p50), ms(res.p95), ms(res.p99), res.avgReturned)
	}

	// 20-page walks along `more`: unfiltered and by the commonest verbs.
	var page1, page20, all []time.Duration
	for w := 0; w < o.walks; w++ {
		next := p.endpoint + "/statements"
		if w%2 == 1 {
			next += "?verb=" + url.QueryEscape(verbs[(w/2)%3])
		}
		for pg := 1; pg <= 20 && next != ""; pg++ {
			t0 := time.Now()
			b, err := p.get(ctx, next)
			d := time.Since(t0)
			if err != nil {
				return err
			}
			all = append(all, d)
			switch pg {
			case 1:
				page1 = append(page1, d)
			case 20:
				page20 = append(page20, d)
			}
			var res struct {
				More string `json:"more"`
			}
			if err := json.Unmarshal(b, &res); err != nil {
				return err
			}
			next = res.More
		}
	}
	queryRSS := peakRSS(p.cmd.Process.Pid)
	rss := p.stop()
	if rss > queryRSS {
		queryRSS = rss
	}
	for _, r := range results {
		report(row{scenario: fmt.Sprintf("query by %s (%s stmts; %d sequential GETs, limit 100; %.0f per reply)", r.name, thousands(int64(n)), o.queryN, r.avgReturned),
			db: driver, figure: fmt.Sprintf("p50 %s / p95 %s / p99 %s", ms(r.p50), ms(r.p95), ms(r.p99)),
			target: "p95 < 20 ms", met: metWithRSS(r.p95 < 20*time.Millisecond, queryRSS), rssKB: queryRSS})
	}
	if len(page20) == 0 {
		report(row{scenario: "paging (`more`)", db: driver, figure: "no walk reached page 20", met: "**no**", rssKB: queryRSS})
		return nil
	}
	p1, p20 := percentile(sortDurations(page1), .5), percentile(sortDurations(page20), .5)
	sa := sortDurations(all)
	ratio := float64(p20) / float64(p1)
	logf("  paging: page 1 p50 %s, page 20 p50 %s (%d walks), all pages p95 %s", ms(p1), ms(p20), len(page20), ms(percentile(sa, .95)))
	report(row{scenario: fmt.Sprintf("paging: 20 pages of 100 along `more` (%d walks, unfiltered and by verb)", len(page20)), db: driver,
		figure:   fmt.Sprintf("page 20 p50 %s (all pages p95 %s)", ms(p20), ms(percentile(sa, .95))),
		baseline: "page 1 p50 " + ms(p1), ratio: fmt.Sprintf("%.2f×", ratio), target: "page 20 ≈ page 1 (≤ 1.25×)",
		met: metWithRSS(ratio <= 1.25, queryRSS), rssKB: queryRSS})
	return nil
}
