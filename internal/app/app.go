// Package app wires the bridge: it opens the store, builds the services,
// the forwarding router and dispatcher, the Moodle schedules, retention and
// the HTTP server from a config, and runs them. `bridge serve` is New, Run
// and Close; tests run the whole bridge in-process the same way, on port 0.
// The CLI's other commands use its helpers (OpenDB, CheckSchema, NewAdmin,
// NewForwarding, OpenMoodle) to build the same parts.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/httpapi"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// Options are what a caller of New may set besides the config.
type Options struct {
	// Stdout receives the start-up banner (endpoint, a generated
	// credential); default os.Stdout.
	Stdout io.Writer
	// Stderr receives the logs; default os.Stderr.
	Stderr io.Writer
	// Version is the bridge's version for the banner and logs.
	Version string
	// LeaseExtra, when positive, replaces the constant part of the
	// dispatcher's delivery leases (20s): tests set it short to see the
	// deliveries of a killed bridge taken over quickly.
	LeaseExtra time.Duration
	// Limits bound what clients can make the HTTP server hold (limits.go);
	// zero fields take the defaults.
	Limits Limits
}

// App is a configured bridge: New builds it, Run serves until its context
// ends, Close releases what New opened.
type App struct {
	cfg     *config.Config
	opts    Options
	log     *slog.Logger
	db      *store.DB
	ln      net.Listener
	srv     *http.Server
	baseURL string

	svc    *lrs.Service
	fwd    *Forwarding
	moodle *moodleRunner

	closeOnce sync.Once
}

// New opens (and, when allowed, migrates) the database, makes the stored
// credentials match the config, listens on cfg.Listen and builds every
// part of the bridge. It prints the banner on opts.Stdout. Nothing runs
// until Run.
func New(ctx context.Context, cfg *config.Config, opts Options) (_ *App, err error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	a := &App{cfg: cfg, opts: opts, log: NewLogger(cfg, opts.Stderr)}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	for i, tok := range cfg.Admin.Tokens {
		if len(tok) < 16 {
			a.log.Warn("admin token is short; use 32 or more random characters (e.g. head -c 32 /dev/urandom | base64)", "token", fmt.Sprintf("admin.tokens[%d]", i), "length", len(tok))
		}
	}
	// A rule that does not compile is a config error: say so before the
	// database is created or migrated.
	if _, err := CompileRules(cfg); err != nil {
		return nil, err
	}
	if a.db, err = OpenDB(ctx, cfg, cfg.Database.AutoMigrateEnabled()); err != nil {
		return nil, err
	}
	if err := CheckSchema(ctx, cfg, a.db, a.log); err != nil {
		return nil, err
	}
	a.db.SetDefinitionLimits(xapi.DefinitionLimits{MaxBytes: cfg.XAPI.MaxDefinitionBytes,
		MaxLanguageEntries: cfg.XAPI.MaxDefinitionLanguages, MaxExtensions: cfg.XAPI.MaxDefinitionExtensions})
	gen, secret, err := syncCredentials(ctx, cfg, a.db, a.log)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}

	if a.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	a.baseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if a.baseURL == "" || strings.HasSuffix(a.baseURL, ":0") {
		a.baseURL = "http://" + a.ln.Addr().String()
	}
	if reachableFromOutside(cfg.Listen) && localURL(a.baseURL) {
		a.log.Warn("listening beyond this machine but base_url is local: statement authorities and links will name "+a.baseURL+
			"; set base_url (BRIDGE_BASE_URL) to the URL clients use", "listen", cfg.Listen, "base_url", a.baseURL)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if a.fwd, err = NewForwarding(ctx, cfg, a.db, a.log, reg, opts.LeaseExtra); err != nil {
		return nil, err
	}
	group := store.NewGroupCommit(a.db, groupWriters(cfg.Database.Driver))
	registerGroupMetrics(reg, group)
	a.svc = &lrs.Service{Statements: group, Checkpoints: a.db, Router: a.fwd.Router,
		DefaultLimit: cfg.XAPI.DefaultLimit, MaxLimit: cfg.XAPI.MaxLimit, MaxPageBytes: cfg.XAPI.MaxResponseBytes}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "bridge_statements_stored_total", Help: "Statements newly stored.",
	}, func() float64 { return float64(a.svc.StoredTotal()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "bridge_activity_definitions_capped_total",
			Help: "Activity definitions left out of their canonical definition because of the xapi.max_definition_* caps.",
		}, func() float64 { return float64(a.db.ActivityDefinitionsCapped()) }))
	auth := &lrs.Authenticator{Store: a.db, BaseURL: a.baseURL}
	tenants := NewAdmin(a.db, a.baseURL, auth)
	if tc, ok := a.fwd.Admin.Personal.Trust.(*dispatch.TrustedCredentials); ok {
		// A credential's trust changes with it: drop it from that cache too.
		forget := tenants.Forget
		tenants.Forget = func(key string) { forget(key); tc.Forget(key) }
	}
	if a.moodle, err = newMoodleRunner(ctx, cfg, a.db, a.svc, tenants, a.baseURL, a.log, reg); err != nil {
		return nil, err
	}
	api := &httpapi.Server{Statements: a.svc, Documents: &lrs.Documents{Store: a.db, MaxBytes: int(cfg.XAPI.MaxDocumentBytes)}, Auth: auth, Ready: a.db.Ping,
		Logger: a.log, MaxBodyBytes: cfg.XAPI.MaxBodyBytes, DefaultVersion: xapi.Version(cfg.XAPI.DefaultVersion),
		CORSOrigins: cfg.XAPI.CORSOrigins, Registry: reg, AdminTokens: cfg.Admin.Tokens,
		Forwarding: a.fwd.Admin, Admin: tenants, ArchiveDir: ArchiveDir(cfg)}
	if a.moodle != nil {
		api.Moodle = a.moodle
	}
	// The limits of the HTTP edge (limits.go, README "Limits"): the
	// config's, where opts.Limits does not set them.
	opts.Limits = opts.Limits.withConfig(cfg)
	opts.Limits.applyTo(api)
	a.srv = newHTTPServer(api.Handler(), opts.Limits)
	a.banner(gen, secret)
	return a, nil
}

// Addr is the address the bridge listens on (the port chosen when the
// config says port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// BaseURL is the bridge's public URL (base_url, or http://Addr()).
func (a *App) BaseURL() string { return a.baseURL }

// Endpoint is the xAPI endpoint clients use.
func (a *App) Endpoint() string { return a.baseURL + httpapi.PrefixXAPI }

// DB is the bridge's store.
func (a *App) DB() *store.DB { return a.db }

func (a *App) banner(gen *lrs.Credential, secret string) {
	cfg, out, endpoint := a.cfg, a.opts.Stdout, a.Endpoint()
	a.log.Info("bridge started", "version", a.opts.Version, "listen", a.Addr(), "database", cfg.Database.Driver, "xapi_endpoint", endpoint)
	fmt.Fprintf(out, "bridge %s: xAPI LRS on %s database\n", a.opts.Version, cfg.Database.Driver)
	fmt.Fprintf(out, "  xAPI endpoint: %s\n", endpoint)
	if len(cfg.Admin.Tokens) > 0 {
		fmt.Fprintf(out, "  admin API:     %s%s (%d token%s)\n", a.baseURL, httpapi.PrefixAdmin, len(cfg.Admin.Tokens), plural(len(cfg.Admin.Tokens)))
	} else {
		fmt.Fprintf(out, "  admin API:     off (set admin.tokens or BRIDGE_ADMIN_TOKENS to turn it on)\n")
	}
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
			fmt.Fprintf(out, "  credentials:   %s (from config, in store 1 \"default\")\n", strings.Join(keys, ", "))
		} else {
			fmt.Fprintf(out, "  credentials:   generated at first start (secret shown then); add your own under credentials: in the config\n")
		}
	}
	for _, m := range cfg.Moodle.Sources {
		fmt.Fprintf(out, "  moodle:        %s (%s) every %q\n", m.Name, m.WWWRoot, m.Schedule)
	}
	if cfg.Forwarding.SecretKey == "" {
		fmt.Fprintf(out, "  key:           %s (encrypts stored personal-LRS credentials: back it up with the database)\n",
			filepath.Join(cfg.DataDir, "forwarding.key"))
	}
	if len(cfg.Rules) > 0 {
		names := []string{}
		for _, t := range cfg.Targets {
			names = append(names, t.Name)
		}
		fmt.Fprintf(out, "  forwarding:    %d rules, targets: %s\n", len(cfg.Rules), strings.Join(append(names, "personal"), ", "))
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// reachableFromOutside reports whether listen accepts connections from
// other machines: any address ("", 0.0.0.0, ::) or one not on loopback.
func reachableFromOutside(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "" {
		return true
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// localURL reports whether u names this machine only (localhost or a
// loopback address).
func localURL(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	h := pu.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// Run starts the dispatcher, retention and the Moodle schedules and serves
// HTTP until ctx ends; then it stops accepting, lets accepted requests
// finish (within shutdown_timeout), and stops the rest. A statement is
// acknowledged only after its transaction commits, so none is lost.
func (a *App) Run(ctx context.Context) error {
	// The dispatcher outlives the HTTP server at shutdown: it stops after
	// the last request is answered.
	dctx, stopDispatch := context.WithCancel(context.Background())
	dispatched := make(chan struct{})
	go func() {
		a.fwd.Dispatcher.Run(dctx)
		close(dispatched)
	}()
	defer func() {
		stopDispatch()
		<-dispatched
	}()
	stopRetention := startRetention(a.cfg, a.db, a.log)
	defer stopRetention()
	if a.moodle != nil {
		a.moodle.start()
		defer a.moodle.stop()
	}

	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(a.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout.Duration)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout.Duration)
	defer cancel()
	if err := a.srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Error("shutdown incomplete", "error", err)
		return err
	}
	a.log.Info("stopped")
	return nil
}

// Close releases what New opened: the listener (if Run did not serve), the
// Moodle databases and the store. Call it after Run returns.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if a.ln != nil {
			a.ln.Close()
		}
		if a.moodle != nil {
			a.moodle.close()
		}
		if a.db != nil {
			err = a.db.Close()
		}
	})
	return err
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

func registerGroupMetrics(reg *prometheus.Registry, g *store.GroupCommit) {
	counter := func(name, help string, f func(store.GroupStats) int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(g.Stats())) }))
	}
	counter("bridge_group_commit_requests_total", "Statement POST/PUT requests stored through group commit.",
		func(g store.GroupStats) int64 { return g.Requests })
	counter("bridge_group_commit_shared_total", "Requests stored in a transaction shared with other requests.",
		func(g store.GroupStats) int64 { return g.Shared })
	counter("bridge_group_commit_transactions_total", "Transactions group commit ran.",
		func(g store.GroupStats) int64 { return g.Transactions })
	counter("bridge_group_commit_retried_total", "Requests retried in a smaller group after their group's transaction failed.",
		func(g store.GroupStats) int64 { return g.Retried })
}
