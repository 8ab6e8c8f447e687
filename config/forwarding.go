package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Admin configures the admin API (/api/v1).
type Admin struct {
	// Tokens are bearer tokens for the admin API; empty turns it off. They
	// are never the xAPI credentials.
	Tokens []string `yaml:"tokens"`
}

// Forwarding holds settings shared by every forwarding target.
type Forwarding struct {
	// PollInterval is how often idle workers look for due deliveries that
	// another process stored or that fell due for a retry. Statements this
	// process stores wake the workers at once. Default 1s.
	PollInterval Duration `yaml:"poll_interval"`
	// SecretKey encrypts the credentials of registered personal LRSs. Any
	// string (it is hashed to an AES-256 key); processes sharing a database
	// must share it. Default: a random key kept in <data_dir>/forwarding.key.
	SecretKey string `yaml:"secret_key"`
	// HashSalt salts the SHA-256 of transform.hash values other than mbox.
	HashSalt string `yaml:"hash_salt"`
	// RuleBudget bounds the steps (predicate evaluations) a rule may take
	// on one statement: 0 is the default (100,000), -1 no limit.
	RuleBudget int `yaml:"rule_budget"`
	// Personal tunes deliveries to learners' personal LRSs.
	Personal Delivery `yaml:"personal"`
}

// Delivery tunes how a target is delivered to.
type Delivery struct {
	BatchSize   int      `yaml:"batch_size"`  // statements per request; default 50
	Timeout     Duration `yaml:"timeout"`     // per request; default 10s
	Concurrency int      `yaml:"concurrency"` // parallel workers; default 1
	Retry       Retry    `yaml:"retry"`
	Breaker     Breaker  `yaml:"breaker"`
}

// Retry is a retry policy: exponential backoff with full jitter.
type Retry struct {
	InitialBackoff Duration `yaml:"initial_backoff"` // default 1s
	MaxBackoff     Duration `yaml:"max_backoff"`     // default 10m
	MaxAttempts    int      `yaml:"max_attempts"`    // then dead; default 20
	MaxAge         Duration `yaml:"max_age"`         // then dead; default 72h
}

// Breaker is a circuit breaker's thresholds.
type Breaker struct {
	Failures int      `yaml:"failures"` // consecutive failed requests that open it; default 5
	OpenFor  Duration `yaml:"open_for"` // before a probe; default 30s
}

// Target is somewhere statements are forwarded to.
type Target struct {
	Name string `yaml:"name"` // [a-z0-9_-]+, unique; "personal" is reserved
	Type string `yaml:"type"` // xapi or webhook

	// xapi: another LRS.
	Endpoint string `yaml:"endpoint"` // e.g. https://lrs.example.org/xapi
	Version  string `yaml:"version"`  // xAPI version to speak: 1.0.3 (default) or 2.0.0
	Username string `yaml:"username"` // Basic auth
	Password string `yaml:"password"`
	Token    string `yaml:"token"` // Bearer auth

	// webhook: any HTTP endpoint.
	URL        string `yaml:"url"`
	Method     string `yaml:"method"`      // default POST
	Batch      bool   `yaml:"batch"`       // body: a JSON array per batch (true) or one statement per request
	HMACSecret string `yaml:"hmac_secret"` // signs requests (X-Bridge-Signature)

	// Headers are extra request headers, "Name: value".
	Headers []string `yaml:"headers"`

	Delivery `yaml:"delivery"`
}

// Rule forwards the statements that match it.
type Rule struct {
	Name      string    `yaml:"name"`
	Stores    []string  `yaml:"stores"`  // store names; empty = all
	When      string    `yaml:"when"`    // expr-lang expression; empty = every statement
	Targets   []string  `yaml:"targets"` // target names, or "personal"
	Transform Transform `yaml:"transform"`
}

// Transform changes what is sent, for targets outside the organisation.
type Transform struct {
	Drop []string `yaml:"drop"` // e.g. actor.name
	Hash []string `yaml:"hash"` // e.g. actor.mbox (becomes mbox_sha1sum)
}

var targetName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

func (d *Delivery) applyDefaults() {
	if d.BatchSize == 0 {
		d.BatchSize = 50
	}
	if d.Timeout.Duration == 0 {
		d.Timeout.Duration = 10e9
	}
	if d.Concurrency == 0 {
		d.Concurrency = 1
	}
}

func (c *Config) forwardingDefaults() {
	if c.Forwarding.PollInterval.Duration == 0 {
		c.Forwarding.PollInterval.Duration = 1e9
	}
	c.Forwarding.Personal.applyDefaults()
	for i := range c.Targets {
		t := &c.Targets[i]
		t.Delivery.applyDefaults()
		if t.Type == "xapi" && t.Version == "" {
			t.Version = "1.0.3"
		}
		if t.Type == "webhook" && t.Method == "" {
			t.Method = "POST"
		}
	}
}

func validateDelivery(key string, d Delivery, add func(key, format string, args ...any)) {
	if d.BatchSize < 1 || d.BatchSize > 1000 {
		add(key+".batch_size", "must be between 1 and 1000, got %d", d.BatchSize)
	}
	if d.Concurrency < 1 || d.Concurrency > 64 {
		add(key+".concurrency", "must be between 1 and 64, got %d", d.Concurrency)
	}
	if d.Timeout.Duration < 0 || d.Retry.MaxAttempts < 0 || d.Breaker.Failures < 0 {
		add(key, "durations and counts must not be negative")
	}
}

func (c *Config) validateForwarding(add func(key, format string, args ...any)) {
	for i, tok := range c.Admin.Tokens {
		if strings.TrimSpace(tok) == "" {
			add(fmt.Sprintf("admin.tokens[%d]", i), "empty: an admin token must not be empty (it would let anyone in); remove it or set a long random one")
		}
	}
	validateDelivery("forwarding.personal", c.Forwarding.Personal, add)
	names := map[string]int{}
	for i, t := range c.Targets {
		key := fmt.Sprintf("targets[%d]", i)
		switch {
		case !targetName.MatchString(t.Name):
			add(key+".name", "must match [a-z0-9][a-z0-9_-]*, got %q", t.Name)
		case t.Name == "personal":
			add(key+".name", `"personal" is reserved for learners' personal LRSs`)
		default:
			if j, dup := names[t.Name]; dup {
				add(key+".name", "duplicate target %q (also targets[%d])", t.Name, j)
			}
			names[t.Name] = i
		}
		switch t.Type {
		case "xapi":
			if !httpURL(t.Endpoint) {
				add(key+".endpoint", "must be an http(s) URL such as https://lrs.example.org/xapi, got %q", t.Endpoint)
			}
			if t.Version != "1.0.3" && t.Version != "2.0.0" {
				add(key+".version", "must be 1.0.3 or 2.0.0, got %q", t.Version)
			}
			if t.Token != "" && (t.Username != "" || t.Password != "") {
				add(key+".token", "use either username/password (Basic) or token (Bearer), not both")
			}
		case "webhook":
			if !httpURL(t.URL) {
				add(key+".url", "must be an http(s) URL, got %q", t.URL)
			}
			switch t.Method {
			case "POST", "PUT", "PATCH":
			default:
				add(key+".method", "must be POST, PUT or PATCH, got %q", t.Method)
			}
		default:
			add(key+".type", "must be xapi or webhook, got %q", t.Type)
		}
		for j, h := range t.Headers {
			if name, _, ok := strings.Cut(h, ":"); !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(strings.TrimSpace(name), " \t") {
				add(fmt.Sprintf("%s.headers[%d]", key, j), `must be "Name: value", got %q`, h)
			}
		}
		validateDelivery(key+".delivery", t.Delivery, add)
	}
	rules := map[string]int{}
	for i, r := range c.Rules {
		key := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" {
			add(key+".name", "is required")
		} else if j, dup := rules[r.Name]; dup {
			add(key+".name", "duplicate rule %q (also rules[%d])", r.Name, j)
		}
		rules[r.Name] = i
		if len(r.Targets) == 0 {
			add(key+".targets", "at least one target is required")
		}
		for j, tn := range r.Targets {
			if _, ok := names[tn]; !ok && tn != "personal" {
				add(fmt.Sprintf("%s.targets[%d]", key, j), "unknown target %q; define it under targets: (or use \"personal\")", tn)
			}
		}
	}
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// redactForwarding hides the secrets of targets, admin tokens and keys.
func (r *Config) redactForwarding(c *Config) {
	hide := func(s string) string {
		if s == "" {
			return s
		}
		return RedactedSecret
	}
	if c.Admin.Tokens != nil {
		r.Admin.Tokens = make([]string, len(c.Admin.Tokens))
		for i := range c.Admin.Tokens {
			r.Admin.Tokens[i] = RedactedSecret
		}
	}
	r.Forwarding.SecretKey = hide(c.Forwarding.SecretKey)
	r.Forwarding.HashSalt = hide(c.Forwarding.HashSalt)
	if c.Moodle.Sources != nil {
		r.Moodle.Sources = make([]MoodleSource, len(c.Moodle.Sources))
		for i, m := range c.Moodle.Sources {
			if m.Driver == "postgres" {
				if u, err := url.Parse(m.DSN); err == nil && u.User != nil {
					if _, has := u.User.Password(); has {
						u.User = url.UserPassword(u.User.Username(), RedactedSecret)
						m.DSN = u.String()
					}
				}
			} else {
				m.DSN = redactDSN(m.DSN)
			}
			r.Moodle.Sources[i] = m
		}
	}
	if c.Targets != nil {
		r.Targets = make([]Target, len(c.Targets))
		for i, t := range c.Targets {
			t.Password, t.Token, t.HMACSecret = hide(t.Password), hide(t.Token), hide(t.HMACSecret)
			// Header values are credentials as often as not (X-Api-Key,
			// Authorization); the names stay.
			t.Headers = make([]string, len(c.Targets[i].Headers))
			for j, h := range c.Targets[i].Headers {
				name, _, _ := strings.Cut(h, ":")
				t.Headers[j] = strings.TrimSpace(name) + ": " + RedactedSecret
			}
			t.URL, t.Endpoint = redactURL(t.URL), redactURL(t.Endpoint)
			r.Targets[i] = t
		}
	}
}

// redactURL hides what a URL may carry as a credential: the password of
// its user info and the values of its query parameters (?token=...).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return s
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), RedactedSecret)
			changed = true
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{RedactedSecret}
		}
		u.RawQuery = q.Encode()
		changed = true
	}
	if !changed {
		return s
	}
	return u.String()
}
