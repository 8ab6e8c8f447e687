package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/httpapi"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func dsnOf(cfg *config.Config) string {
	if cfg.Database.Driver == store.SQLite && cfg.Database.DSN == "" {
		return filepath.Join(cfg.DataDir, "bridge.db")
	}
	return cfg.Database.DSN
}

// openDB opens the configured database; with migrate it first creates a
// missing MySQL database.
func openDB(ctx context.Context, cfg *config.Config, migrate bool) (*store.DB, error) {
	if migrate && cfg.Database.Driver == store.MySQL {
		if err := store.CreateMySQLDatabase(ctx, cfg.Database.DSN); err != nil {
			return nil, fmt.Errorf("database.dsn: creating database: %w", err)
		}
	}
	db, err := store.Open(ctx, cfg.Database.Driver, dsnOf(cfg), store.Options{MaxOpenConns: cfg.Database.MaxOpenConns})
	if err != nil {
		return nil, fmt.Errorf("opening %s database: %w", cfg.Database.Driver, err)
	}
	return db, nil
}

func migrateMain(ctx context.Context, cfg *config.Config, out io.Writer) error {
	db, err := openDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	cur, _, err := db.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(out, "database schema is up to date (version %d)\n", cur)
	} else {
		fmt.Fprintf(out, "applied migrations %v; database schema is at version %d\n", applied, cur)
	}
	return nil
}

// checkSchema migrates when allowed, or says what to run.
func checkSchema(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger) error {
	cur, target, err := db.SchemaStatus(ctx)
	if err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	switch {
	case cur > target:
		return fmt.Errorf("database schema is at version %d, newer than this bridge understands (%d): upgrade the bridge", cur, target)
	case cur < target && cfg.Database.AutoMigrateEnabled():
		applied, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		log.Info("database migrated", "applied", applied, "version", target)
	case cur < target:
		return fmt.Errorf("database schema is at version %d but this bridge needs %d: run `bridge migrate` with the same config, "+
			"or set database.auto_migrate: true (BRIDGE_DATABASE_AUTO_MIGRATE=true)", cur, target)
	}
	return nil
}

// syncCredentials makes the stored credentials match the config: config
// credentials are (re)written, ones removed from the config are deleted.
// With no credential at all, it creates one and returns its secret, the only
// time the secret exists in clear.
func syncCredentials(ctx context.Context, cfg *config.Config, cs lrs.CredentialStore, log *slog.Logger) (generated *lrs.Credential, secret string, err error) {
	existing, err := cs.ListCredentials(ctx)
	if err != nil {
		return nil, "", err
	}
	inConfig := map[string]bool{}
	for _, c := range cfg.Credentials {
		inConfig[c.Key] = true
		if len(c.Secret) < 16 {
			log.Warn("credential secret is short; use 16 or more random characters", "key", c.Key)
		}
		var old *lrs.Credential
		for _, e := range existing {
			if e.Key == c.Key {
				old = e
			}
		}
		scopes := c.Scopes
		if old != nil && old.Verify(c.Secret) && slices.Equal(old.Scopes, scopes) && old.Name == c.Name && old.Source == "config" {
			continue
		}
		salt, hash := lrs.HashSecret(c.Secret)
		if err := cs.PutCredential(ctx, &lrs.Credential{Key: c.Key, StoreID: 1, Name: c.Name, Scopes: scopes,
			SecretSalt: salt, SecretHash: hash, Source: "config"}); err != nil {
			return nil, "", err
		}
	}
	remaining := 0
	for _, e := range existing {
		if e.Source == "config" && !inConfig[e.Key] {
			if err := cs.DeleteCredential(ctx, e.Key); err != nil {
				return nil, "", err
			}
			log.Info("credential removed from config; deleted", "key", e.Key)
			continue
		}
		if !inConfig[e.Key] {
			remaining++
		}
	}
	if remaining+len(cfg.Credentials) > 0 {
		return nil, "", nil
	}
	secret = lrs.GenerateSecret()
	salt, hash := lrs.HashSecret(secret)
	c := &lrs.Credential{Key: lrs.GenerateKey(), StoreID: 1, Scopes: []string{lrs.ScopeAll},
		SecretSalt: salt, SecretHash: hash, Source: "generated"}
	if err := cs.PutCredential(ctx, c); err != nil {
		return nil, "", err
	}
	return c, secret, nil
}

func targetNames(cfg *config.Config) []string {
	names := []string{}
	for _, t := range cfg.Targets {
		names = append(names, t.Name)
	}
	return append(names, "personal")
}

func serveMain(ctx context.Context, cfg *config.Config, out io.Writer) error {
	log := newLogger(cfg, os.Stderr)
	db, err := openDB(ctx, cfg, cfg.Database.AutoMigrateEnabled())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkSchema(ctx, cfg, db, log); err != nil {
		return err
	}
	gen, secret, err := syncCredentials(ctx, cfg, db, log)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	baseURL := strings.TrimSuffix(cfg.BaseURL, "/")
	if baseURL == "" || strings.HasSuffix(baseURL, ":0") {
		baseURL = "http://" + ln.Addr().String()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	fwd, err := setupForwarding(ctx, cfg, db, log, reg)
	if err != nil {
		return err
	}
	svc := &lrs.Service{Statements: db, DefaultLimit: cfg.XAPI.DefaultLimit, MaxLimit: cfg.XAPI.MaxLimit,
		Router: fwd.router, OnRouted: fwd.dispatcher.Wake, GroupWriters: groupWriters(cfg.Database.Driver)}
	registerGroupMetrics(reg, svc)
	auth := &lrs.Authenticator{Store: db, BaseURL: baseURL}
	api := &httpapi.Server{Service: svc, Documents: &lrs.Documents{Store: db}, Auth: auth, Ready: db.Ping, Logger: log, MaxBodyBytes: cfg.XAPI.MaxBodyBytes,
		DefaultVersion: xapi.Version(cfg.XAPI.DefaultVersion), CORSOrigins: cfg.XAPI.CORSOrigins,
		Registry: reg, AdminTokens: cfg.Admin.Tokens, Forwarding: fwd.admin,
		Admin: newAdmin(db, baseURL, auth), ArchiveDir: archiveDirOf(cfg)}
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second}

	endpoint := baseURL + httpapi.PrefixXAPI
	log.Info("bridge started", "version", bridgeVersion(), "listen", ln.Addr().String(), "database", cfg.Database.Driver, "xapi_endpoint", endpoint)
	fmt.Fprintf(out, "bridge %s: xAPI LRS on %s database\n", bridgeVersion(), cfg.Database.Driver)
	fmt.Fprintf(out, "  xAPI endpoint: %s\n", endpoint)
	if gen != nil {
		fmt.Fprintf(out, "  credential:    key %s secret %s\n", gen.Key, secret)
		fmt.Fprintf(out, "                 (created now with scope all; the secret is stored hashed and shown only this once)\n")
		fmt.Fprintf(out, "  try:           curl -u %s:%s -H 'X-Experience-API-Version: 2.0.0' %s/statements\n", gen.Key, secret, endpoint)
	} else {
		keys := make([]string, 0, len(cfg.Credentials))
		for _, c := range cfg.Credentials {
			keys = append(keys, c.Key)
		}
		if len(keys) > 0 {
			fmt.Fprintf(out, "  credentials:   %s (from config)\n", strings.Join(keys, ", "))
		} else {
			fmt.Fprintf(out, "  credentials:   generated at first start (secret shown then); add your own under credentials: in the config\n")
		}
	}

	for _, m := range cfg.Moodle.Sources {
		fmt.Fprintf(out, "  moodle:        %s (%s) every %q\n", m.Name, m.WWWRoot, m.Schedule)
	}
	if len(cfg.Rules) > 0 {
		fmt.Fprintf(out, "  forwarding:    %d rules, targets: %s\n", len(cfg.Rules), strings.Join(targetNames(cfg), ", "))
	}

	// The dispatcher outlives the HTTP server at shutdown: it stops after
	// the last request is answered.
	dctx, stopDispatch := context.WithCancel(context.Background())
	dispatched := make(chan struct{})
	go func() {
		fwd.dispatcher.Run(dctx)
		close(dispatched)
	}()
	defer func() {
		stopDispatch()
		<-dispatched
	}()

	stopRetention := startRetention(ctx, cfg, db, log)
	defer stopRetention()
	stopMoodle, moodleStatus, err := startMoodle(ctx, cfg, db, svc, baseURL, log, reg)
	if err != nil {
		return err
	}
	defer stopMoodle()
	api.MoodleStatus = moodleStatus

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	// Stop accepting, let accepted requests finish: a statement is
	// acknowledged only after its transaction commits, so none is lost.
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.Duration)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout.Duration)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("shutdown incomplete", "error", err)
		return err
	}
	log.Info("stopped")
	return nil
}

// groupWriters is how many transactions group commit runs at once: one for
// SQLite, which has one writer; two for MySQL, where fewer, larger
// transactions beat more concurrent ones on small machines.
func groupWriters(driver string) int {
	if driver == store.MySQL {
		return 2
	}
	return 1
}

func registerGroupMetrics(reg *prometheus.Registry, svc *lrs.Service) {
	counter := func(name, help string, f func(lrs.GroupStats) int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(svc.GroupStats())) }))
	}
	counter("bridge_group_commit_requests_total", "Statement POST/PUT requests stored through group commit.",
		func(g lrs.GroupStats) int64 { return g.Requests })
	counter("bridge_group_commit_shared_total", "Requests stored in a transaction shared with other requests.",
		func(g lrs.GroupStats) int64 { return g.Shared })
	counter("bridge_group_commit_transactions_total", "Transactions group commit ran.",
		func(g lrs.GroupStats) int64 { return g.Transactions })
	counter("bridge_group_commit_retried_total", "Requests retried in a smaller group after their group's transaction failed.",
		func(g lrs.GroupStats) int64 { return g.Retried })
}
