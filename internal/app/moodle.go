package app

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/xapibridge/bridge/adapters/moodle"
	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/admin"
	"github.com/xapibridge/bridge/lrs/store"
)

// moodleSink stores what Moodle sources produce: through the LRS service
// (validation, forwarding rules) with the cursor in the same transaction.
type moodleSink struct {
	svc *lrs.Service
	db  moodleCursors
}

// moodleCursors is what a Moodle source needs of the bridge's store
// (store.DB): its cursor, setting it back (a rewind), its id key, and which
// of a batch's ids are taken (conflicts).
type moodleCursors interface {
	lrs.CheckpointStore
	PutSyncCursors(ctx context.Context, cps ...*lrs.Checkpoint) error
	SourceKey(ctx context.Context, source string, legacyThrough int64) ([]byte, int64, error)
	ExistingStatements(ctx context.Context, storeID int64, ids []string) (map[string]store.ExistingStatement, error)
}

// A Moodle source keys its ids and finds conflicts through the sink.
var (
	_ moodle.KeyStore        = moodleSink{}
	_ moodle.StatementLookup = moodleSink{}
	_ moodle.CursorWriter    = moodleSink{}
	_ moodle.PreparingSink   = moodleSink{}
)

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

func (s moodleSink) PutSyncCursors(ctx context.Context, cps ...*lrs.Checkpoint) error {
	return s.db.PutSyncCursors(ctx, cps...)
}

// SourceKey is the source's id key, kept in the bridge's database (never
// logged or shown).
func (s moodleSink) SourceKey(ctx context.Context, source string, legacyThrough int64) ([]byte, int64, error) {
	return s.db.SourceKey(ctx, source, legacyThrough)
}

func (s moodleSink) ExistingStatements(ctx context.Context, storeID int64, ids []string) (map[string]moodle.Existing, error) {
	found, err := s.db.ExistingStatements(ctx, storeID, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]moodle.Existing, len(found))
	for id, e := range found {
		out[id] = moodle.Existing{AuthorityKey: e.AuthorityKey, Body: e.Body}
	}
	return out, nil
}

// OpenMoodle opens a source's Moodle database and builds its syncer, which
// stores through svc and attaches Moodle users to persons through persons.
func OpenMoodle(ctx context.Context, sc config.MoodleSource, db *store.DB, svc *lrs.Service, persons *admin.Admin, baseURL string, log *slog.Logger) (*moodle.Syncer, error) {
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
		st, err := db.FindStore(ctx, sc.Store)
		if err != nil {
			mdb.Close()
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
		StoreID: storeID, BatchSize: sc.BatchSize, SettleTime: sc.GapWait.Duration, Logger: log,
		AllowEvents: sc.Events.Allow, DenyEvents: sc.Events.Deny,
		Courses: sc.Courses.Include, ExcludeCourses: sc.Courses.Exclude,
		Categories: sc.Categories.Include, ExcludeCategories: sc.Categories.Exclude,
		Authority: map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": baseURL, "name": "moodle:" + sc.Name}},
		Persons:   persons,
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

	mu        sync.Mutex
	oldest    map[string]*time.Time // per source, the oldest pending row at the last run
	conflicts map[string]int64      // per source, Status.Conflicts
}

var oldestPendingDesc = prometheus.NewDesc("bridge_moodle_oldest_pending_age_seconds",
	"Age of the oldest log row still to sync (its timecreated) at scrape time, as the last run left it; 0 when none is pending, by source.",
	[]string{"source"}, nil)

var conflictsDesc = prometheus.NewDesc("bridge_moodle_conflicts_total",
	"Statement ids of the source found taken by a statement of another authority or with other content (not stored; see moodle status), by source.",
	[]string{"source"}, nil)

func newMoodleMetrics(reg prometheus.Registerer) *moodleMetrics {
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	m := &moodleMetrics{
		cursor:     g("bridge_moodle_cursor", "Last logstore_standard_log id synced, by source.", "source"),
		behind:     g("bridge_moodle_behind_rows", fmt.Sprintf("Log rows still to sync at the end of the last run (counted up to %d), by source.", moodle.PendingBound), "source"),
		lastRun:    g("bridge_moodle_last_run_timestamp_seconds", "End of the last sync run, by source.", "source"),
		failing:    g("bridge_moodle_last_run_failed", "1 when the last sync run failed, by source.", "source"),
		rows:       g("bridge_moodle_rows_read", "Log rows read, by source.", "source"),
		statements: g("bridge_moodle_statements_stored", "Statements stored, by source.", "source"),
		skipped: g("bridge_moodle_rows_skipped", "Log rows skipped (statements, for invalid), by source and reason: "+
			strings.Join(moodle.SkipReasons, ", ")+".", "source", "reason"),
		oldest:    map[string]*time.Time{},
		conflicts: map[string]int64{},
	}
	reg.MustRegister(m)
	return m
}

// Describe and Collect make m the collector of the oldest-pending ages,
// computed at scrape time, and of the conflicts (a counter: the status's
// total, which only grows).
func (m *moodleMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- oldestPendingDesc
	ch <- conflictsDesc
}

func (m *moodleMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	for name, t := range m.oldest {
		age := 0.0
		if t != nil {
			age = max(now.Sub(*t).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(oldestPendingDesc, prometheus.GaugeValue, age, name)
	}
	for name, n := range m.conflicts {
		ch <- prometheus.MustNewConstMetric(conflictsDesc, prometheus.CounterValue, float64(n), name)
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
	// A fixed set of reasons: one series per unmapped event name would
	// grow without bound (status has the names).
	by := st.SkippedByReason()
	for _, reason := range moodle.SkipReasons {
		m.skipped.WithLabelValues(name, reason).Set(float64(by[reason]))
	}
	m.mu.Lock()
	if st.Pending != nil {
		m.oldest[name] = st.Pending.Oldest
	} else if _, ok := m.oldest[name]; !ok {
		m.oldest[name] = nil
	}
	m.conflicts[name] = st.Conflicts
	m.mu.Unlock()
	failed := 0.0
	if err != nil {
		failed = 1
	}
	m.failing.WithLabelValues(name).Set(failed)
}

// moodleRunner runs every source on its schedule and reports their status
// (httpapi.MoodleSources).
type moodleRunner struct {
	log     *slog.Logger
	metrics *moodleMetrics
	cron    *cron.Cron
	syncers []*moodle.Syncer
	cancel  context.CancelFunc
}

// newMoodleRunner opens every configured source (nil when there is none)
// and schedules its syncs; nothing runs before start.
func newMoodleRunner(ctx context.Context, cfg *config.Config, db *store.DB, svc *lrs.Service, persons *admin.Admin, baseURL string, log *slog.Logger, reg prometheus.Registerer) (_ *moodleRunner, err error) {
	if len(cfg.Moodle.Sources) == 0 {
		return nil, nil
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &moodleRunner{log: log, metrics: newMoodleMetrics(reg), cancel: cancel,
		cron: cron.New(cron.WithChain(cron.Recover(cron.DefaultLogger)))}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	for _, sc := range cfg.Moodle.Sources {
		s, err := OpenMoodle(ctx, sc, db, svc, persons, baseURL, log)
		if err != nil {
			return nil, err
		}
		r.syncers = append(r.syncers, s)
		if _, err := r.cron.AddFunc(sc.Schedule, r.job(runCtx, sc.Name, s)); err != nil {
			return nil, fmt.Errorf("moodle.sources: %s: schedule: %w", sc.Name, err)
		}
		if st, err := s.Status(ctx); err == nil {
			r.metrics.observe(sc.Name, st, nil)
		}
	}
	return r, nil
}

// job is one scheduled sync of s; a run still going makes it a no-op.
func (r *moodleRunner) job(ctx context.Context, name string, s *moodle.Syncer) func() {
	var mu sync.Mutex
	return func() {
		if !mu.TryLock() {
			return // the previous run is still going
		}
		defer mu.Unlock()
		start := time.Now()
		st, err := s.Run(ctx, nil)
		r.metrics.observe(name, st, err)
		if err != nil && ctx.Err() == nil {
			r.log.Error("moodle sync failed", "source", name, "error", err)
			return
		}
		if st == nil || st.LastRun == nil || st.LastRun.Rows == 0 && st.Waiting == nil {
			return
		}
		// What this run did, then where the source stands.
		run := st.LastRun
		attrs := []any{"source", name, "rows", run.Rows, "statements", run.Statements, "skipped", run.SkippedString(),
			"cursor", st.Cursor, "behind", st.Behind()}
		if run.Conflicts > 0 {
			attrs = append(attrs, "conflicts", run.Conflicts)
		}
		if st.Pending != nil && st.Pending.AtLeast {
			attrs = append(attrs, "behind_at_least", true)
		}
		if age := st.Pending.Age(time.Now()); age > 0 {
			attrs = append(attrs, "oldest_pending_age", age.Round(time.Second))
		}
		if st.Waiting != nil {
			attrs = append(attrs, "waiting", st.Waiting.String(time.Now()))
		}
		attrs = append(attrs, "took", time.Since(start).Round(time.Millisecond))
		r.log.Info("moodle sync", attrs...)
	}
}

func (r *moodleRunner) start() { r.cron.Start() }

// stop cancels running syncs (each stops after the batch being stored)
// and waits for them.
func (r *moodleRunner) stop() {
	r.cancel()
	<-r.cron.Stop().Done()
}

// close stops the runner and closes the Moodle databases.
func (r *moodleRunner) close() {
	r.stop()
	for _, s := range r.syncers {
		s.Source.DB.Close()
	}
	r.syncers = nil
}

// liveCheck bounds the look at Moodle's log the admin API takes.
const liveCheck = 3 * time.Second

// Sources reports every source's status (httpapi.MoodleSources): as the
// last run stored it, with what is pending and the gap the cursor waits at
// as Moodle's log says now (as the last run left them when Moodle does not
// answer within liveCheck).
func (r *moodleRunner) Sources(ctx context.Context) ([]moodle.SourceStatus, error) {
	out := make([]moodle.SourceStatus, 0, len(r.syncers))
	for _, s := range r.syncers {
		st, err := s.Status(ctx)
		if err != nil {
			return nil, err
		}
		cctx, cancel := context.WithTimeout(ctx, liveCheck)
		if p, gap, err := s.Check(cctx, st.Cursor); err == nil {
			st.Checked(p, gap)
		}
		cancel()
		out = append(out, s.SourceStatus(st, time.Now()))
	}
	return out, nil
}

// Rewind sets a source's cursor back (httpapi.MoodleSources); a sync
// running meanwhile goes on from the rewound cursor after the batch it is
// storing (see moodle.Rewind).
func (r *moodleRunner) Rewind(ctx context.Context, source string, req moodle.RewindRequest) (*moodle.SourceStatus, error) {
	for _, s := range r.syncers {
		if s.Source.Name != source {
			continue
		}
		st, err := s.Rewind(ctx, req)
		if err != nil {
			return nil, err
		}
		r.metrics.cursor.WithLabelValues(source).Set(float64(st.Cursor))
		ss := s.SourceStatus(st, time.Now())
		return &ss, nil
	}
	return nil, lrs.Errorf(lrs.ENOTFOUND, "no Moodle source named %q", source)
}
