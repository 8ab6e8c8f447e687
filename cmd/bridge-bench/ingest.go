package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// drive runs fn in clients goroutines until dur has passed or, when total >
// 0, until total statements have been handled (each call claims step of
// them first); fn returns how many statements it handled. It returns the
// count and the elapsed time.
func drive(ctx context.Context, clients int, dur time.Duration, total, step int, fn func(ctx context.Context, worker int, g *gen) (int, error)) (int, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	var remaining atomic.Int64
	remaining.Store(int64(total))
	start := time.Now()
	deadline := start.Add(dur)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			g := newGen(time.Now().UnixNano() + int64(w)*7919)
			for ctx.Err() == nil {
				if total > 0 {
					if remaining.Add(-int64(step)) < 0 {
						return
					}
				} else if time.Now().After(deadline) {
					return
				}
				k, err := fn(ctx, w, g)
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				n.Add(int64(k))
			}
		}(w)
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
		firstErr = ctx.Err()
	}
	return int(n.Load()), time.Since(start), firstErr
}

var ingestTargets = map[int]string{1: ">= 1,500/s", 10: "", 100: ">= 10,000/s and >= 50% of raw"}

func runIngest(ctx context.Context, o *options, driver string, report func(...row)) error {
	if size, err := checkPayload(); err != nil {
		return err
	} else {
		logf("ingest on %s: statements of %d bytes, %d clients, %s per run", driver, size, o.clients, o.ingestFor)
	}
	for _, bs := range []int{1, 10, 100} {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rawN, rawEl, err := rawIngest(ctx, o, driver, bs)
		if err != nil {
			return fmt.Errorf("raw baseline, batch %d: %w", bs, err)
		}
		rawRate := rate(rawN, rawEl)
		logf("  raw INSERT baseline, batch %d: %d statements in %s = %s", bs, rawN, rawEl.Round(time.Millisecond), fmtRate(rawRate))

		t, err := newTarget(o, driver, "ingest")
		if err != nil {
			return err
		}
		cfg, dir, err := writeConfig(o, t, "")
		if err != nil {
			return err
		}
		p, err := startBridge(o, cfg, dir)
		if err != nil {
			t.drop()
			return err
		}
		n, el, err := drive(ctx, o.clients, o.ingestFor, 0, 0, func(ctx context.Context, _ int, g *gen) (int, error) {
			body, _ := g.batch(bs, make([]byte, 0, bs*2200))
			return bs, p.post(ctx, body)
		})
		rss := p.stop()
		t.drop()
		if err != nil {
			return fmt.Errorf("batch %d: %w (bridge stderr: %s)", bs, err, tailFile(dir+"/stderr.log"))
		}
		r := rate(n, el)
		ratio := r / rawRate
		logf("  bridge, batch %d: %d statements in %s = %s (%.0f%% of raw), peak RSS %d MB", bs, n, el.Round(time.Millisecond), fmtRate(r), ratio*100, rss/1024)
		ok := true
		switch bs {
		case 1:
			ok = r >= 1500
		case 100:
			ok = r >= 10000 && ratio >= 0.5
		}
		met := metWithRSS(ok, rss)
		if ingestTargets[bs] == "" {
			met = metWithRSS(true, rss) + " (memory only)"
		}
		report(row{scenario: fmt.Sprintf("ingest, batches of %d, %d clients", bs, o.clients), db: driver,
			figure: fmtRate(r) + " statements", baseline: "raw INSERT " + fmtRate(rawRate), ratio: fmt.Sprintf("%.0f%%", ratio*100),
			target: ingestTargets[bs], met: met, rssKB: rss})
	}
	return nil
}

// rawIngest is the baseline: the same payloads, multi-row INSERTed by
// o.clients workers into a fresh database migrated by the bridge itself
// (same tables, same indexes), through the same driver and settings: the
// statements rows and their statement_index rows (what a filter needs),
// one transaction per batch, no HTTP, no validation.
func rawIngest(ctx context.Context, o *options, driver string, bs int) (int, time.Duration, error) {
	t, err := newTarget(o, driver, "raw")
	if err != nil {
		return 0, 0, err
	}
	defer t.drop()
	cfg, dir, err := writeConfig(o, t, "")
	if err != nil {
		return 0, 0, err
	}
	if err := migrate(o, cfg, dir); err != nil {
		return 0, 0, err
	}
	db, err := openRaw(t)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	authority := keyHash("account::http://bench::" + benchKey)
	return drive(ctx, o.clients, o.ingestFor, 0, 0, func(ctx context.Context, _ int, g *gen) (int, error) {
		return bs, rawBatch(ctx, db, driver, g, bs, authority)
	})
}

func rawBatch(ctx context.Context, db *sql.DB, driver string, g *gen, bs int, authority []byte) error {
	now := time.Now().UnixMicro()
	ps := make([]picked, bs)
	args := make([]any, 0, bs*7)
	for i := range ps {
		var body []byte
		body, ps[i] = g.statement(make([]byte, 0, 2200))
		args = append(args, 1, uuidBytes(ps[i].id), now, 0, 0, nil, body)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "INSERT INTO statements (store_id, id, stored_us, voided, voiding, ref_id, body) VALUES "+placeholders(bs, 7), args...)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	first := id // MySQL: the first row's id (consecutive for one multi-row INSERT)
	if driver == "sqlite" {
		first = id - int64(bs) + 1 // SQLite: the last row's
	}
	irows := make([]any, 0, bs*40)
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO statement_index (store_id, kind, hash, stmt_pk) VALUES "+placeholders(n, 4), irows...)
		irows, n = irows[:0], 0
		return err
	}
	for i, p := range ps {
		pk := first + int64(i)
		agent := keyHash(fmt.Sprintf("account::%s::%d", site, p.learner+2))
		for _, kh := range []struct {
			kind int
			h    []byte
		}{{1, agent}, {2, agent}, {3, keyHash(p.activity)}, {4, keyHash(p.activity)}, {4, keyHash(p.section)}, {4, keyHash(p.course)},
			{4, keyHash("http://moodle.org")}, {5, keyHash(p.verb)}, {6, keyHash(p.reg)}, {7, authority}} {
			irows = append(irows, 1, kh.kind, kh.h, pk)
			n++
			if n == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return tx.Commit()
}

func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	var b strings.Builder
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(one)
	}
	return b.String()
}
