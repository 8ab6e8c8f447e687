package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

// moodleSink stores what Moodle sources produce: through the LRS service
// (validation, forwarding rules) with the cursor in the same transaction.
type moodleSink struct {
	svc *lrs.Service
	db  *store.DB
}

func (s moodleSink) StoreFromSource(ctx context.Context, p *lrs.Principal, stmts []map[string]any, cp *lrs.Checkpoint) (int, []lrs.Rejected, error) {
	return s.svc.StoreFromSource(ctx, p, stmts, cp)
}

func (s moodleSink) PrepareFromSource(p *lrs.Principal, stmts []map[string]any) (*lrs.PreparedBatch, error) {
	return s.svc.PrepareFromSource(p, stmts)
}

func (s moodleSink) StorePrepared(ctx context.Context, p *lrs.Principal, b *lrs.PreparedBatch, cp *lrs.Checkpoint) (int, []lrs.Rejected, error) {
	return s.svc.StorePrepared(ctx, p, b, cp)
}

func (s moodleSink) SyncCursor(ctx context.Context, source string) (*lrs.Checkpoint, error) {
	return s.db.SyncCursor(ctx, source)
}

// storeFinder resolves a store reference when the store supports it.
type storeFinder interface {
	FindStore(ctx context.Context, ref string) (*lrs.Store, error)
}

// openMoodle opens a source's Moodle database and builds its syncer.
func openMoodle(ctx context.Context, sc config.MoodleSource, db *store.DB, svc *lrs.Service, baseURL string, log *slog.Logger) (*moodle.Syncer, error) {
	var mdb *sql.DB
	switch sc.Driver {
	case "postgres":
		var err error
		if mdb, err = sql.Open("pgx", sc.DSN); err != nil {
			return nil, fmt.Errorf("moodle source %s: dsn: %w", sc.Name, err)
		}
	default:
		cfg, err := mysql.ParseDSN(sc.DSN)
		if err != nil {
			return nil, fmt.Errorf("moodle source %s: dsn: %w", sc.Name, err)
		}
		cfg.ParseTime = false
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("moodle source %s: dsn: %w", sc.Name, err)
		}
		mdb = sql.OpenDB(c)
	}
	mdb.SetMaxOpenConns(4)
	storeID := int64(1)
	if sc.Store != "default" {
		f, ok := any(db).(storeFinder)
		if !ok {
			return nil, fmt.Errorf("moodle source %s: store %q: only the default store exists", sc.Name, sc.Store)
		}
		st, err := f.FindStore(ctx, sc.Store)
		if err != nil {
			return nil, fmt.Errorf("moodle source %s: store %q: %w", sc.Name, sc.Store, err)
		}
		storeID = st.ID
	}
	release := sc.MoodleRelease
	if release == "" {
		// Moodle keeps its release in {prefix}config; best effort.
		q := "SELECT value FROM " + sc.Prefix + "config WHERE name = 'release'"
		mdb.QueryRowContext(ctx, q).Scan(&release)
	}
	identity := moodle.Identity(sc.Identity)
	src := &moodle.Source{
		Name: sc.Name, DB: mdb, Dialect: map[string]string{"postgres": moodle.Postgres}[sc.Driver], Prefix: sc.Prefix,
		StoreID: storeID, BatchSize: sc.BatchSize, Logger: log,
		AllowEvents: sc.Events.Allow, DenyEvents: sc.Events.Deny,
		Courses: sc.Courses.Include, ExcludeCourses: sc.Courses.Exclude,
		Categories: sc.Categories.Include, ExcludeCategories: sc.Categories.Exclude,
		Authority: map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": baseURL, "name": "moodle:" + sc.Name}},
		Persons:   db,
		Options: moodle.Options{WWWRoot: sc.WWWRoot, AccountHomePage: sc.AccountHomePage, Identity: identity,
			SendNames: sc.SendNamesEnabled(), Platform: sc.Platform, MoodleRelease: release,
			SendResponseChoices: sc.ResponseChoices, SendShortCourseID: sc.ShortCourseID, SendIDNumbers: sc.IDNumbers,
			ScaledZeroOne: sc.ScaledZeroOne},
	}
	if src.Dialect == "" {
		src.Dialect = moodle.MySQL
	}
	return &moodle.Syncer{Source: src, Sink: moodleSink{svc: svc, db: db}, Writers: 2}, nil
}

// moodleMetrics exports each source's status.
type moodleMetrics struct {
	cursor, behind, lastRun, failing *prometheus.GaugeVec
	rows, statements                 *prometheus.GaugeVec
	skipped                          *prometheus.GaugeVec
}

func newMoodleMetrics(reg prometheus.Registerer) *moodleMetrics {
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	return &moodleMetrics{
		cursor:     g("bridge_moodle_cursor", "Last logstore_standard_log id synced, by source.", "source"),
		behind:     g("bridge_moodle_behind_rows", "Log ids still to sync at the last run, by source.", "source"),
		lastRun:    g("bridge_moodle_last_run_timestamp_seconds", "End of the last sync run, by source.", "source"),
		failing:    g("bridge_moodle_last_run_failed", "1 when the last sync run failed, by source.", "source"),
		rows:       g("bridge_moodle_rows_read", "Log rows read, by source.", "source"),
		statements: g("bridge_moodle_statements_stored", "Statements stored, by source.", "source"),
		skipped:    g("bridge_moodle_rows_skipped", "Log rows skipped, by source and reason.", "source", "reason"),
	}
}

func (m *moodleMetrics) observe(name string, st *moodle.Status, err error) {
	if m == nil || st == nil {
		return
	}
	m.cursor.WithLabelValues(name).Set(float64(st.Cursor))
	m.behind.WithLabelValues(name).Set(float64(st.Behind()))
	m.lastRun.WithLabelValues(name).Set(float64(st.LastRunEnd.Unix()))
	m.rows.WithLabelValues(name).Set(float64(st.RowsRead))
	m.statements.WithLabelValues(name).Set(float64(st.Statements))
	for reason, n := range st.Skipped {
		m.skipped.WithLabelValues(name, reason).Set(float64(n))
	}
	failed := 0.0
	if err != nil {
		failed = 1
	}
	m.failing.WithLabelValues(name).Set(failed)
}

// sourceStatus is a source's status in the admin API.
type sourceStatus struct {
	Name    string `json:"name"`
	WWWRoot string `json:"wwwroot"`
	Behind  int64  `json:"behind"`
	*moodle.Status
}

// startMoodle runs every source on its schedule until the returned stop is
// called (stop waits for running syncs to finish their batch). status
// reports every source for the admin API.
func startMoodle(ctx context.Context, cfg *config.Config, db *store.DB, svc *lrs.Service, baseURL string, log *slog.Logger, reg prometheus.Registerer) (stop func(), status func(context.Context) (any, error), err error) {
	if len(cfg.Moodle.Sources) == 0 {
		return func() {}, nil, nil
	}
	metrics := newMoodleMetrics(reg)
	runCtx, cancel := context.WithCancel(context.Background())
	c := cron.New(cron.WithChain(cron.Recover(cron.DefaultLogger)))
	var syncers []*moodle.Syncer
	for _, sc := range cfg.Moodle.Sources {
		s, err := openMoodle(ctx, sc, db, svc, baseURL, log)
		if err != nil {
			cancel()
			return nil, nil, err
		}
		syncers = append(syncers, s)
		var mu sync.Mutex
		job := func() {
			if !mu.TryLock() {
				return // the previous run is still going
			}
			defer mu.Unlock()
			start := time.Now()
			st, err := s.Run(runCtx, nil)
			metrics.observe(sc.Name, st, err)
			if err != nil && runCtx.Err() == nil {
				log.Error("moodle sync failed", "source", sc.Name, "error", err)
				return
			}
			if st != nil && st.RowsRead > 0 {
				log.Info("moodle sync", "source", sc.Name, "cursor", st.Cursor, "behind", st.Behind(), "took", time.Since(start).Round(time.Millisecond))
			}
		}
		if _, err := c.AddFunc(sc.Schedule, job); err != nil {
			cancel()
			return nil, nil, fmt.Errorf("moodle.sources: %s: schedule: %w", sc.Name, err)
		}
		if st, err := s.Status(ctx); err == nil {
			metrics.observe(sc.Name, st, nil)
		}
	}
	c.Start()
	status = func(ctx context.Context) (any, error) {
		out := make([]sourceStatus, 0, len(syncers))
		for _, s := range syncers {
			st, err := s.Status(ctx)
			if err != nil {
				return nil, err
			}
			out = append(out, sourceStatus{Name: s.Source.Name, WWWRoot: s.Source.Options.WWWRoot, Behind: st.Behind(), Status: st})
		}
		return out, nil
	}
	return func() {
		cancel()
		<-c.Stop().Done()
		for _, s := range syncers {
			s.Source.DB.Close()
		}
	}, status, nil
}
