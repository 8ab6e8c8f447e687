package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xapibridge/bridge/config"
	"github.com/xapibridge/bridge/forwarders"
	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/rules"
)

// CompileRules compiles the config's rules; an error names the rule and the
// position in its expression.
func CompileRules(cfg *config.Config) (*rules.Engine, error) {
	targets := make([]string, 0, len(cfg.Targets))
	for _, t := range cfg.Targets {
		targets = append(targets, t.Name)
	}
	rs := make([]rules.Rule, 0, len(cfg.Rules))
	for _, r := range cfg.Rules {
		rs = append(rs, rules.Rule{Name: r.Name, Stores: r.Stores, When: r.When, Targets: r.Targets,
			Transform: rules.Transform{Drop: r.Transform.Drop, Hash: r.Transform.Hash}})
	}
	return rules.Compile(rs, targets, cfg.Forwarding.HashSalt, rules.WithBudget(cfg.Forwarding.RuleBudget))
}

// checkRuleStores fails when a rule names a store that does not exist: such
// a rule would never match, silently.
func checkRuleStores(ctx context.Context, cfg *config.Config, db dispatch.StoreRefs) error {
	var refs map[int64]string
	for i, r := range cfg.Rules {
		for _, name := range r.Stores {
			if refs == nil {
				var err error
				if refs, err = db.StoreRefs(ctx); err != nil {
					return err
				}
			}
			if !slices.Contains(slices.Collect(maps.Values(refs)), name) {
				known := slices.Sorted(maps.Values(refs))
				return fmt.Errorf("rules[%d] (%s): stores: no store %q (the stores are %s; a store of another organisation is org/name; create it with `bridge store create` or POST /api/v1/orgs/:org/stores first)",
					i, r.Name, name, strings.Join(known, ", "))
			}
		}
	}
	return nil
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

// warnUnusedTargets warns about each configured target no rule sends to:
// nothing will ever be delivered to it, which is rarely what was meant (a
// rule's targets: list missing it, or a target left over).
func warnUnusedTargets(cfg *config.Config, log *slog.Logger) {
	used := map[string]bool{}
	for _, r := range cfg.Rules {
		for _, t := range r.Targets {
			used[t] = true
		}
	}
	for _, t := range cfg.Targets {
		if !used[t.Name] {
			log.Warn("no rule sends to this target: nothing will be forwarded to it (add it to a rule's targets, or remove it)", "target", t.Name)
		}
	}
}

// logBreaker logs a breaker transition with its cause: opening (the target
// is failing) at WARN, with the error that tripped it; half-open (a probe
// is let through) and closed again (the target recovered) at INFO.
func logBreaker(log *slog.Logger, c forwarders.StateChange) {
	attrs := []any{"target", c.Target, "from", c.From, "to", c.To, "cause", c.Cause}
	switch c.To {
	case forwarders.StateOpen:
		msg := "circuit breaker opened: deliveries to the target wait"
		if c.From == forwarders.StateHalfOpen {
			msg = "circuit breaker opened again: the probe failed"
		} else if c.Failures > 0 {
			attrs = append(attrs, "failed_batches", c.Failures)
		}
		log.Warn(msg, attrs...)
	case forwarders.StateHalfOpen:
		log.Info("circuit breaker half-open: probing the target", attrs...)
	default:
		log.Info("circuit breaker closed: the target recovered", attrs...)
	}
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

// Forwarding is the forwarding machinery of a bridge process: the rules,
// the router the statement service asks, the dispatcher that sends the
// outbox, and the operations on them.
type Forwarding struct {
	Engine     *rules.Engine
	Router     *dispatch.Router
	Dispatcher *dispatch.Dispatcher
	Admin      *dispatch.Admin
}

// NewForwarding builds targets, rules, the router, the dispatcher and the
// admin operations from the config. leaseExtra, when positive, replaces
// the constant part of the dispatcher's leases (Options.LeaseExtra).
// Nothing runs until the dispatcher's Run.
func NewForwarding(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger, reg prometheus.Registerer, leaseExtra time.Duration) (*Forwarding, error) {
	engine, err := CompileRules(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkRuleStores(ctx, cfg, db); err != nil {
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
	warnUnusedTargets(cfg, log)
	var d *dispatch.Dispatcher // set below; breakers change state only once it runs
	breakers := map[string]*forwarders.Breaker{}
	onState := func(c forwarders.StateChange) {
		logBreaker(log, c)
		if _, configured := breakers[c.Target]; configured && d != nil {
			d.BreakerChanged(c)
		}
	}
	pd := cfg.Forwarding.Personal
	// Only Moodle sources and credentials marked trusted (lrs.ScopePersonalForward)
	// may have statements forwarded to learners' personal LRSs (issue 15, Low #10).
	personal := &dispatch.Personal{Store: db, Sealer: sealer, Breaker: breakerConfig(pd.Breaker), OnState: onState,
		Delivery: dispatch.Target{Timeout: pd.Timeout.Duration}, Trust: &dispatch.TrustedCredentials{Store: db, Logger: log}, Logger: log}
	personal.Refresh(ctx)

	var targets []*dispatch.Target
	var names []string
	for i, t := range cfg.Targets {
		names = append(names, t.Name)
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
			Concurrency: t.Concurrency, Retry: retryPolicy(t.Retry), Timeout: t.Timeout.Duration, LeaseExtra: leaseExtra})
	}
	// Parallel (personal LRSs sent to at once) is dispatch.DefaultPersonalParallel
	// until config has a key for it (forwarding.personal.parallel).
	targets = append(targets, &dispatch.Target{Name: dispatch.PersonalTarget, BatchSize: pd.BatchSize,
		Concurrency: pd.Concurrency, Retry: retryPolicy(pd.Retry), Timeout: pd.Timeout.Duration, LeaseExtra: leaseExtra})

	d = &dispatch.Dispatcher{Outbox: db, Targets: targets, Transform: engine, Personal: personal,
		PollInterval: cfg.Forwarding.PollInterval.Duration, Logger: log, Registry: reg, Health: db}
	rt := dispatch.NewRouter(engine, personal, d, db, log)
	admin := &dispatch.Admin{Outbox: db, Store: db, Personal: personal, Sealer: sealer, Router: rt,
		Targets: names, Breakers: breakers, Health: db, Dispatcher: d}
	return &Forwarding{Engine: engine, Router: rt, Dispatcher: d, Admin: admin}, nil
}
