package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
	"github.com/xapibridge/bridge/rules"
)

// testLeaseExtra is the constant part of the dispatcher's leases when the
// hidden, test-only environment variable BRIDGE_TEST_LEASE_EXTRA is set (a
// Go duration such as "1s"; default 20s). The end-to-end tests use it to see
// the deliveries of a SIGKILLed bridge picked up again without waiting 20s.
// It is read and removed from the environment before the config is loaded,
// since the config rejects BRIDGE_* variables that name no config key.
var testLeaseExtra time.Duration

func init() {
	if v, ok := os.LookupEnv("BRIDGE_TEST_LEASE_EXTRA"); ok {
		os.Unsetenv("BRIDGE_TEST_LEASE_EXTRA")
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			testLeaseExtra = d
		} else {
			fmt.Fprintf(os.Stderr, "BRIDGE_TEST_LEASE_EXTRA: ignoring %q (want a positive duration)\n", v)
		}
	}
}

// storeName names a store for rules. Until stores can be created (admin
// API) every credential writes to store 1, "default".
func storeName(id int64) string {
	if id == 1 {
		return "default"
	}
	return fmt.Sprint(id)
}

// compileRules compiles the config's rules; an error names the rule and the
// position in its expression.
func compileRules(cfg *config.Config) (*rules.Engine, error) {
	targets := make([]string, 0, len(cfg.Targets))
	for _, t := range cfg.Targets {
		targets = append(targets, t.Name)
	}
	rs := make([]rules.Rule, 0, len(cfg.Rules))
	for _, r := range cfg.Rules {
		rs = append(rs, rules.Rule{Name: r.Name, Stores: r.Stores, When: r.When, Targets: r.Targets,
			Transform: rules.Transform{Drop: r.Transform.Drop, Hash: r.Transform.Hash}})
	}
	return rules.Compile(rs, targets, cfg.Forwarding.HashSalt)
}

// router turns rule matches into outbox deliveries.
type router struct {
	engine   *rules.Engine
	personal interface{ Has(int64, string) bool }
	log      *slog.Logger
}

func (r *router) Route(storeID int64, stmt map[string]any) []lrs.Delivery {
	return r.route(storeID, stmt, "")
}

func (r *router) route(storeID int64, stmt map[string]any, only string) []lrs.Delivery {
	matches, err := r.engine.Match(storeName(storeID), stmt)
	if err != nil {
		r.log.Warn("a rule failed on a statement", "statement", stmt["id"], "error", err)
	}
	var out []lrs.Delivery
	for _, m := range matches {
		if only != "" && m.Rule != only {
			continue
		}
		if m.Target != dispatch.PersonalTarget {
			out = append(out, lrs.Delivery{Target: m.Target, Rule: m.Rule})
			continue
		}
		actor, _ := stmt["actor"].(map[string]any)
		key, ok := xapi.AgentKey(actor)
		if ok && r.personal != nil && r.personal.Has(storeID, key) {
			out = append(out, lrs.Delivery{Target: m.Target, Rule: m.Rule, PersonalKey: key})
		}
	}
	return out
}

// secretKey returns forwarding.secret_key, or the key kept in the data
// folder (created on first use).
func secretKey(cfg *config.Config) (string, error) {
	if cfg.Forwarding.SecretKey != "" {
		return cfg.Forwarding.SecretKey, nil
	}
	path := filepath.Join(cfg.DataDir, "forwarding.key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("forwarding.secret_key: reading %s: %w", path, err)
	}
	b := make([]byte, 32)
	rand.Read(b)
	key := hex.EncodeToString(b)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("forwarding.secret_key: writing %s: %w", path, err)
	}
	return key, nil
}

func retryPolicy(r config.Retry) forwarders.RetryPolicy {
	return forwarders.RetryPolicy{InitialBackoff: r.InitialBackoff.Duration, MaxBackoff: r.MaxBackoff.Duration,
		MaxAttempts: r.MaxAttempts, MaxAge: r.MaxAge.Duration}.WithDefaults()
}

func breakerConfig(b config.Breaker) forwarders.BreakerConfig {
	return forwarders.BreakerConfig{Failures: uint32(max(b.Failures, 0)), OpenFor: b.OpenFor.Duration}
}

func headerMap(hs []string) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		k, v, _ := strings.Cut(h, ":")
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

// forwarding is the forwarding machinery of a bridge process.
type forwarding struct {
	engine     *rules.Engine
	router     *router
	dispatcher *dispatch.Dispatcher
	admin      *dispatch.Admin
}

// setupForwarding builds targets, rules, the router, the dispatcher and
// the admin operations from the config.
func setupForwarding(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger, reg prometheus.Registerer) (*forwarding, error) {
	engine, err := compileRules(cfg)
	if err != nil {
		return nil, err
	}
	key, err := secretKey(cfg)
	if err != nil {
		return nil, err
	}
	sealer, err := dispatch.NewSealer(key)
	if err != nil {
		return nil, err
	}
	var d *dispatch.Dispatcher // set below; breakers change state only once it runs
	breakers := map[string]*forwarders.Breaker{}
	onState := func(target, from, to string) {
		log.Warn("circuit breaker changed state", "target", target, "from", from, "to", to)
		if _, configured := breakers[target]; configured && d != nil {
			d.BreakerChanged(target, to)
		}
	}
	pd := cfg.Forwarding.Personal
	personal := &dispatch.Personal{Store: db, Sealer: sealer, Breaker: breakerConfig(pd.Breaker), OnState: onState,
		Delivery: dispatch.Target{Timeout: pd.Timeout.Duration}}
	personal.Refresh(ctx)

	var targets []*dispatch.Target
	for i, t := range cfg.Targets {
		var f forwarders.Forwarder
		switch t.Type {
		case "xapi":
			f, err = forwarders.NewXAPI(forwarders.XAPIConfig{Name: t.Name, Endpoint: t.Endpoint, Version: t.Version,
				Username: t.Username, Password: t.Password, Token: t.Token, Timeout: t.Timeout.Duration, Headers: headerMap(t.Headers)})
		case "webhook":
			f, err = forwarders.NewWebhook(forwarders.WebhookConfig{Name: t.Name, Method: t.Method, URL: t.URL,
				Headers: headerMap(t.Headers), Batch: t.Batch, Timeout: t.Timeout.Duration, HMACSecret: t.HMACSecret})
		}
		if err != nil {
			return nil, fmt.Errorf("targets[%d] (%s): %w", i, t.Name, err)
		}
		b := forwarders.NewBreaker(f, breakerConfig(t.Breaker), onState)
		breakers[t.Name] = b
		targets = append(targets, &dispatch.Target{Name: t.Name, Sender: b, BatchSize: t.BatchSize,
			Concurrency: t.Concurrency, Retry: retryPolicy(t.Retry), Timeout: t.Timeout.Duration, LeaseExtra: testLeaseExtra})
	}
	targets = append(targets, &dispatch.Target{Name: dispatch.PersonalTarget, BatchSize: pd.BatchSize,
		Concurrency: pd.Concurrency, Retry: retryPolicy(pd.Retry), Timeout: pd.Timeout.Duration, LeaseExtra: testLeaseExtra})

	rt := &router{engine: engine, personal: personal, log: log}
	d = &dispatch.Dispatcher{Outbox: db, Targets: targets, Transform: engine, Personal: personal,
		PollInterval: cfg.Forwarding.PollInterval.Duration, Logger: log, Registry: reg}
	admin := &dispatch.Admin{Outbox: db, Store: db, Personal: personal, Sealer: sealer, Rules: engine.Rules(),
		Breakers: breakers, Route: rt.route, WakeFunc: d.Wake}
	return &forwarding{engine: engine, router: rt, dispatcher: d, admin: admin}, nil
}
