package app

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/lrs/store"
)

// retentionSchedule is when the server applies retention: every hour (a
// fixed schedule until it becomes a config key).
const retentionSchedule = "@hourly"

// startRetention schedules the archiving of statements past their store's
// retention into <data_dir>/archive; the returned func stops it (waiting
// for a run in progress).
func startRetention(cfg *config.Config, db *store.DB, log *slog.Logger) func() {
	dir := ArchiveDir(cfg)
	a := NewAdmin(db, strings.TrimSuffix(cfg.BaseURL, "/"), nil)
	rctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex // one run at a time
	job := func() {
		if !mu.TryLock() {
			log.Warn("retention: previous run still going; skipping this one")
			return
		}
		defer mu.Unlock()
		start := time.Now()
		runs, err := a.ApplyRetention(rctx, start, dir)
		for _, r := range runs {
			if r.Archived > 0 || r.Error != "" {
				log.Info("retention applied", "store", r.Store, "cutoff", r.Cutoff, "archived", r.Archived,
					"deleted", r.Deleted, "file", r.File, "error", r.Error)
			}
		}
		if err != nil {
			log.Error("retention failed", "error", err, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	c := cron.New()
	if _, err := c.AddFunc(retentionSchedule, job); err != nil {
		log.Error("retention: bad schedule", "schedule", retentionSchedule, "error", err)
		cancel()
		return func() {}
	}
	c.Start()
	log.Debug("retention scheduled", "schedule", retentionSchedule, "archive", dir)
	return func() {
		cancel()
		<-c.Stop().Done()
	}
}
