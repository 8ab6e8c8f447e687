// Package config loads the configuration of the bridge xAPI Learning Record
// Store.
//
// Configuration is assembled in four steps by [Load]:
//
//  1. An optional YAML file. Unknown keys and values of the wrong type are
//     errors that name the file, the line and the key. Inside scalar values,
//     ${VAR} and ${VAR:-default} are replaced from the environment (the
//     default is used when VAR is unset or empty; a bare "$" is kept as is;
//     substituted text is not expanded again nor parsed as YAML).
//  2. Environment overrides: every scalar key can be set with BRIDGE_ followed
//     by its upper-cased path, "_" between levels (BRIDGE_DATABASE_DSN,
//     BRIDGE_CREDENTIALS_0_SECRET, ...). Appending "_FILE" to any of these
//     names reads the value from the named file instead (trailing newlines
//     trimmed). See [EnvVarNames] for the full list.
//  3. Defaults for everything left empty.
//  4. Validation; every error names the offending key.
//
// No package-level state is used: the caller passes the environment.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Default values applied by [Load] to keys that are left empty.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultDataDir         = "bridge-data"
	DefaultShutdownTimeout = 30 * time.Second
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultDriver          = DriverSQLite
	DefaultSQLiteFile      = "bridge.db"
	DefaultMySQLMaxOpen    = 16
	DefaultXAPIVersion     = "2.0.0"
	DefaultMaxBodyBytes    = 16 << 20
	DefaultLimit           = 100
	DefaultMaxLimit        = 1000
)

// Database drivers accepted in database.driver.
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"
)

// RedactedSecret replaces secrets in the result of [Config.Redacted].
const RedactedSecret = "***"

// Config is the complete configuration of the bridge.
type Config struct {
	// Listen is the host:port the HTTP server listens on. Default "127.0.0.1:8080".
	Listen string `yaml:"listen"`
	// BaseURL is the public URL of the bridge, e.g. https://lrs.example.org.
	// It must be an absolute http(s) URL without query, fragment or user
	// info; a trailing "/" is removed. Default: "http://" + Listen (with
	// "localhost" substituted for an empty or unspecified host).
	BaseURL string `yaml:"base_url"`
	// DataDir is where the embedded SQLite file lives, relative to the
	// working directory unless absolute. Default "bridge-data".
	DataDir string `yaml:"data_dir"`
	// ShutdownTimeout bounds the graceful shutdown. Default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// Log configures logging.
	Log Log `yaml:"log"`
	// Database configures the statement store.
	Database Database `yaml:"database"`
	// XAPI configures the xAPI endpoints.
	XAPI XAPI `yaml:"xapi"`
	// Credentials are the HTTP Basic key/secret pairs accepted by the LRS.
	Credentials []Credential `yaml:"credentials"`
	// Admin configures the admin API.
	Admin Admin `yaml:"admin"`
	// Forwarding, Targets and Rules configure statement forwarding.
	Forwarding Forwarding `yaml:"forwarding"`
	Targets    []Target   `yaml:"targets"`
	Rules      []Rule     `yaml:"rules"`
	// Moodle configures the Moodle adapter's sources.
	Moodle Moodle `yaml:"moodle"`
	// HTTP bounds client connections; Metrics guards /metrics.
	HTTP    HTTP    `yaml:"http"`
	Metrics Metrics `yaml:"metrics"`
}

// Log configures logging.
type Log struct {
	// Level is one of debug, info, warn, error. Default info.
	Level string `yaml:"level"`
	// Format is text or json. Default text.
	Format string `yaml:"format"`
}

// Database configures the statement store.
type Database struct {
	// Driver is "sqlite" (the default) or "mysql".
	Driver string `yaml:"driver"`
	// DSN is, for sqlite, the database file path (default DataDir/bridge.db);
	// for mysql, a github.com/go-sql-driver/mysql DSN
	// ([user[:password]@][net[(addr)]]/dbname[?params]), required.
	DSN string `yaml:"dsn"`
	// AutoMigrate applies schema migrations at start-up. Default true for
	// sqlite, false for mysql. Read it with [Database.AutoMigrateEnabled].
	AutoMigrate *bool `yaml:"auto_migrate"`
	// MaxOpenConns limits open connections; 0 means no limit. Default 16 for
	// mysql. Must not be negative.
	MaxOpenConns int `yaml:"max_open_conns"`
}

// AutoMigrateEnabled reports whether migrations run at start-up, applying the
// per-driver default when AutoMigrate is unset.
func (d Database) AutoMigrateEnabled() bool {
	if d.AutoMigrate != nil {
		return *d.AutoMigrate
	}
	return d.Driver == "" || d.Driver == DriverSQLite
}

// XAPI configures the xAPI endpoints.
type XAPI struct {
	// DefaultVersion is the xAPI version assumed when a request does not
	// send X-Experience-API-Version: "1.0.3" or "2.0.0" (the default).
	DefaultVersion string `yaml:"default_version"`
	// MaxBodyBytes limits request bodies. Default 16 MiB; must be > 0.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// DefaultLimit is the page size of GET /statements when the request has
	// no limit. Default 100 (or MaxLimit if smaller); 1..MaxLimit.
	DefaultLimit int `yaml:"default_limit"`
	// MaxLimit caps the limit parameter of GET /statements. Default 1000.
	MaxLimit int `yaml:"max_limit"`
	// CORSOrigins lists the origins browsers may call the xAPI endpoint from
	// (xAPI content runs in browsers): exact origins such as
	// "https://moodle.example.org", or "*" for any. Default ["*"]; an empty
	// list given explicitly in YAML ([]) is also read as the default, so use
	// ["none"] to turn CORS off.
	CORSOrigins []string `yaml:"cors_origins"`
	// MaxStatements caps the statements of one POST/PUT (413 past it).
	// Default 5000.
	MaxStatements int `yaml:"max_statements"`
	// MaxResponseBytes caps the bytes one GET /statements page assembles:
	// a page that would pass it is cut short with a more link. Default
	// 16 MiB.
	MaxResponseBytes int64 `yaml:"max_response_bytes"`
	// MaxFormBytesBeforeAuth is how much of an alternate-syntax form
	// (POST ...?method=) is read before its credentials are checked.
	// Default 64 KiB.
	MaxFormBytesBeforeAuth int64 `yaml:"max_form_bytes_before_auth"`
	// MaxDocumentBytes caps the document a POST merge produces. Default
	// max_body_bytes.
	MaxDocumentBytes int64 `yaml:"max_document_bytes"`
	// MaxDefinitionBytes, MaxDefinitionLanguages and
	// MaxDefinitionExtensions cap a canonical Activity definition (compact
	// JSON bytes, entries per language map, extensions). Defaults 64 KiB,
	// 100, 100.
	MaxDefinitionBytes      int `yaml:"max_definition_bytes"`
	MaxDefinitionLanguages  int `yaml:"max_definition_languages"`
	MaxDefinitionExtensions int `yaml:"max_definition_extensions"`
}

// HTTP bounds how long clients may take and what they may make the server
// hold.
type HTTP struct {
	// ReadHeaderTimeout bounds the request headers. Default 10s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// BodyReadTimeout bounds a request body's arrival (408 past it).
	// Default 60s.
	BodyReadTimeout Duration `yaml:"body_read_timeout"`
	// IdleTimeout closes idle keep-alive connections. Default 30s.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds a request's line and headers. Default 64 KiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxInflightBodyBytes bounds the request body bytes all requests in
	// flight hold together (503 with Retry-After past it). Default 128 MiB.
	MaxInflightBodyBytes int64 `yaml:"max_inflight_body_bytes"`
}

// Metrics configures GET /metrics.
type Metrics struct {
	// Token, when set, is the bearer token /metrics requires.
	Token string `yaml:"token"`
}

// Credential is one HTTP Basic key/secret pair.
type Credential struct {
	// Key is the Basic-auth user name: required, unique, [A-Za-z0-9._-]{1,64}.
	Key string `yaml:"key"`
	// Secret is the Basic-auth password; required. Never log it: use
	// [Config.Redacted].
	Secret string `yaml:"secret"`
	// Scopes are the xAPI authorization scopes granted (see [ValidScopes]).
	// Default [all]. In YAML a comma-separated string is accepted too.
	Scopes []string `yaml:"scopes"`
	// Name is an optional display name.
	Name string `yaml:"name"`
	// Trusted lets the statements this credential stores be forwarded to
	// learners' personal LRSs (target personal); Moodle sources always may.
	Trusted bool `yaml:"trusted"`
}

// ValidScopes lists the scopes accepted in credentials[].scopes.
var ValidScopes = []string{
	"all", "all/read",
	"statements/write", "statements/read", "statements/read/mine",
	"state", "define", "profile",
}

var (
	validLogLevels   = []string{"debug", "info", "warn", "error"}
	validLogFormats  = []string{"text", "json"}
	validDrivers     = []string{DriverSQLite, DriverMySQL}
	validXAPIVersion = []string{"1.0.3", "2.0.0"}
	credentialKeyRE  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// Duration is a time.Duration written in configuration as a Go duration
// string such as "30s", "2m" or "1h30m" (see time.ParseDuration).
type Duration struct{ time.Duration }

// String returns the duration formatted by time.Duration.String.
func (d Duration) String() string { return d.Duration.String() }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration such as \"30s\", got a %s", kindName(n.Kind))
	}
	return d.UnmarshalText([]byte(n.Value))
}

// MarshalYAML implements yaml.Marshaler, writing the String form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalText implements encoding.TextUnmarshaler (used for environment
// overrides).
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("cannot parse %q as a duration (e.g. \"30s\", \"2m\")", s)
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// EnvConfigFile is the environment variable holding the configuration file
// path. It is read by the command line, and Load does not treat it as an
// unknown override.
const EnvConfigFile = "BRIDGE_CONFIG"

// EnvPrefix starts every environment override.
const EnvPrefix = "BRIDGE_"

// EnvFileSuffix, appended to an override name, reads the value from a file.
const EnvFileSuffix = "_FILE"

// Load reads the YAML file at path (path == "" means no file: defaults
// only), applies environment overrides from environ (a slice like
// os.Environ()), applies defaults, and validates. Errors name the key; when
// several problems are found they are joined with errors.Join.
func Load(path string, environ []string, opts ...LoadOption) (*Config, error) {
	var o loadOptions
	for _, f := range opts {
		f(&o)
	}
	env := envMap(environ)
	cfg := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(path, data, env, cfg, o.lenient()); err != nil {
			return nil, err
		}
	}
	if err := applyEnv(cfg, env); err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	if err := cfg.validate(o.lenient()); err != nil {
		return nil, err
	}
	return cfg, nil
}

// A LoadOption changes what Load checks.
type LoadOption func(*loadOptions)

type loadOptions struct {
	only map[string]bool // nil: every section is checked
}

// alwaysChecked are the sections every command uses.
var alwaysChecked = map[string]bool{"listen": true, "base_url": true, "data_dir": true, "shutdown_timeout": true,
	"log": true, "database": true, "xapi": true}

// Sections says which of the other top-level sections (credentials,
// admin, forwarding, targets, rules, moodle) the command uses. The others
// are still read (an unknown key is still an error), but an unset ${VAR}
// in them is not, nor are the values they would check: `bridge store
// export` must not need the Moodle password.
func Sections(names ...string) LoadOption {
	return func(o *loadOptions) {
		o.only = map[string]bool{}
		for _, n := range names {
			o.only[n] = true
		}
	}
}

// lenient reports, for a key path ("moodle.sources[0].dsn", "rules[1]"),
// whether its section is one the command does not use; nil when every
// section is checked.
func (o loadOptions) lenient() func(string) bool {
	if o.only == nil {
		return nil
	}
	return func(path string) bool {
		top := path
		if i := strings.IndexAny(top, ".[ "); i >= 0 {
			top = top[:i]
		}
		return top != "" && !alwaysChecked[top] && !o.only[top]
	}
}

// envMap turns "K=V" entries into a map; later entries win.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

func (c *Config) applyDefaults() {
	c.forwardingDefaults()
	c.moodleDefaults()
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.BaseURL == "" {
		host, port, err := net.SplitHostPort(c.Listen)
		if err == nil {
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "localhost"
			}
			c.BaseURL = "http://" + net.JoinHostPort(host, port)
		} else {
			c.BaseURL = "http://" + c.Listen
		}
	}
	if u, err := url.Parse(c.BaseURL); err == nil && u.Path != "" {
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.ShutdownTimeout.Duration == 0 {
		c.ShutdownTimeout.Duration = DefaultShutdownTimeout
	}

	c.Log.Level = strings.ToLower(strings.TrimSpace(c.Log.Level))
	if c.Log.Level == "" {
		c.Log.Level = DefaultLogLevel
	}
	c.Log.Format = strings.ToLower(strings.TrimSpace(c.Log.Format))
	if c.Log.Format == "" {
		c.Log.Format = DefaultLogFormat
	}

	db := &c.Database
	db.Driver = strings.ToLower(strings.TrimSpace(db.Driver))
	if db.Driver == "" {
		db.Driver = DefaultDriver
	}
	switch db.Driver {
	case DriverSQLite:
		if db.DSN == "" {
			db.DSN = filepath.Join(c.DataDir, DefaultSQLiteFile)
		}
	case DriverMySQL:
		if db.MaxOpenConns == 0 {
			db.MaxOpenConns = DefaultMySQLMaxOpen
		}
	}
	if db.AutoMigrate == nil {
		v := db.AutoMigrateEnabled()
		db.AutoMigrate = &v
	}

	x := &c.XAPI
	if x.DefaultVersion == "" {
		x.DefaultVersion = DefaultXAPIVersion
	}
	if x.MaxBodyBytes == 0 {
		x.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if x.MaxLimit == 0 {
		x.MaxLimit = DefaultMaxLimit
	}
	if x.DefaultLimit == 0 {
		x.DefaultLimit = min(DefaultLimit, x.MaxLimit)
	}
	if len(x.CORSOrigins) == 0 {
		x.CORSOrigins = []string{"*"}
	}

	for i := range c.Credentials {
		if len(c.Credentials[i].Scopes) == 0 {
			c.Credentials[i].Scopes = []string{"all"}
		}
	}
}

// validate checks a Config after defaults; it returns every problem found.
func (c *Config) validate(lenient func(key string) bool) error {
	var errs []error
	add := func(key, format string, args ...any) {
		if lenient != nil && lenient(key) {
			return // a section this command does not use
		}
		errs = append(errs, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...)))
	}
	c.validateForwarding(add)
	c.validateMoodle(add)

	if host, port, err := net.SplitHostPort(c.Listen); err != nil {
		add("listen", "must be host:port (e.g. \"127.0.0.1:8080\" or \":8080\"), got %q", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		add("listen", "invalid port %q in %q", port, c.Listen)
	} else if strings.ContainsAny(host, " /") {
		add("listen", "invalid host %q", host)
	}

	if u, err := url.Parse(c.BaseURL); err != nil {
		add("base_url", "invalid URL %q", c.BaseURL)
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			add("base_url", "must be an absolute http or https URL, got %q", c.BaseURL)
		case u.Host == "":
			add("base_url", "missing host in %q", c.BaseURL)
		case u.User != nil:
			add("base_url", "must not contain user info")
		case u.RawQuery != "" || u.ForceQuery:
			add("base_url", "must not contain a query, got %q", c.BaseURL)
		case u.Fragment != "":
			add("base_url", "must not contain a fragment, got %q", c.BaseURL)
		}
	}

	if c.ShutdownTimeout.Duration < 0 {
		add("shutdown_timeout", "must not be negative, got %s", c.ShutdownTimeout)
	}

	if !slices.Contains(validLogLevels, c.Log.Level) {
		add("log.level", "unknown level %q; valid: %s", c.Log.Level, strings.Join(validLogLevels, ", "))
	}
	if !slices.Contains(validLogFormats, c.Log.Format) {
		add("log.format", "unknown format %q; valid: %s", c.Log.Format, strings.Join(validLogFormats, ", "))
	}

	db := c.Database
	switch db.Driver {
	case DriverSQLite:
	case DriverMySQL:
		if db.DSN == "" {
			add("database.dsn", "required when database.driver is %q", DriverMySQL)
		} else if err := checkMySQLDSN(db.DSN); err != nil {
			add("database.dsn", "%v", err)
		}
	default:
		add("database.driver", "unknown driver %q; valid: %s", db.Driver, strings.Join(validDrivers, ", "))
	}
	if db.MaxOpenConns < 0 {
		add("database.max_open_conns", "must not be negative, got %d", db.MaxOpenConns)
	}

	x := c.XAPI
	if !slices.Contains(validXAPIVersion, x.DefaultVersion) {
		add("xapi.default_version", "unsupported version %q; valid: %s", x.DefaultVersion, strings.Join(validXAPIVersion, ", "))
	}
	if x.MaxBodyBytes <= 0 {
		add("xapi.max_body_bytes", "must be greater than 0, got %d", x.MaxBodyBytes)
	}
	if x.MaxLimit < 1 {
		add("xapi.max_limit", "must be at least 1, got %d", x.MaxLimit)
	}
	for key, v := range map[string]int64{"xapi.max_statements": int64(x.MaxStatements), "xapi.max_response_bytes": x.MaxResponseBytes,
		"xapi.max_form_bytes_before_auth": x.MaxFormBytesBeforeAuth, "xapi.max_document_bytes": x.MaxDocumentBytes,
		"xapi.max_definition_bytes": int64(x.MaxDefinitionBytes), "xapi.max_definition_languages": int64(x.MaxDefinitionLanguages),
		"xapi.max_definition_extensions": int64(x.MaxDefinitionExtensions), "http.max_inflight_body_bytes": c.HTTP.MaxInflightBodyBytes,
		"http.read_header_timeout": int64(c.HTTP.ReadHeaderTimeout.Duration), "http.body_read_timeout": int64(c.HTTP.BodyReadTimeout.Duration),
		"http.idle_timeout": int64(c.HTTP.IdleTimeout.Duration), "http.max_header_bytes": int64(c.HTTP.MaxHeaderBytes)} {
		if v < 0 {
			add(key, "must not be negative (0 or unset: the default), got %d", v)
		}
	}
	if t := c.Metrics.Token; t != "" && len(t) < 16 {
		add("metrics.token", "too short (%d characters): use 16 or more random characters", len(t))
	}
	if x.DefaultLimit < 1 || (x.MaxLimit >= 1 && x.DefaultLimit > x.MaxLimit) {
		add("xapi.default_limit", "must be between 1 and xapi.max_limit (%d), got %d", x.MaxLimit, x.DefaultLimit)
	}
	for i, o := range x.CORSOrigins {
		if o == "*" || o == "none" {
			if len(x.CORSOrigins) > 1 {
				add(fmt.Sprintf("xapi.cors_origins[%d]", i), "%q must be the only entry", o)
			}
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			add(fmt.Sprintf("xapi.cors_origins[%d]", i), "%q is not an origin like https://moodle.example.org (or \"*\", or \"none\")", o)
		}
	}

	seen := make(map[string]int, len(c.Credentials))
	for i, cr := range c.Credentials {
		p := fmt.Sprintf("credentials[%d]", i)
		switch {
		case cr.Key == "":
			add(p+".key", "required")
		case !credentialKeyRE.MatchString(cr.Key):
			add(p+".key", "invalid key %q: must be 1 to 64 characters from A-Z a-z 0-9 . _ -", cr.Key)
		default:
			if j, dup := seen[cr.Key]; dup {
				add(p+".key", "duplicate key %q (also credentials[%d].key)", cr.Key, j)
			} else {
				seen[cr.Key] = i
			}
		}
		if cr.Secret == "" {
			add(p+".secret", "required")
		}
		for j, s := range cr.Scopes {
			if !slices.Contains(ValidScopes, s) {
				add(fmt.Sprintf("%s.scopes[%d]", p, j), "unknown scope %q; valid: %s", s, strings.Join(ValidScopes, ", "))
			}
		}
	}
	return errors.Join(errs...)
}

// Redacted returns a deep copy of c with every secret replaced by "***":
// credential secrets (when set) and the password of a mysql DSN. The
// original is not modified. It is meant for logging and `bridge config print`.
func (c *Config) Redacted() *Config {
	if c == nil {
		return nil
	}
	r := *c
	if c.Database.AutoMigrate != nil {
		v := *c.Database.AutoMigrate
		r.Database.AutoMigrate = &v
	}
	if c.Database.Driver == DriverMySQL {
		r.Database.DSN = redactDSN(c.Database.DSN)
	}
	if c.Credentials != nil {
		r.Credentials = make([]Credential, len(c.Credentials))
		for i, cr := range c.Credentials {
			if cr.Secret != "" {
				cr.Secret = RedactedSecret
			}
			if cr.Scopes != nil {
				cr.Scopes = append([]string(nil), cr.Scopes...)
			}
			r.Credentials[i] = cr
		}
	}
	r.redactForwarding(c)
	return &r
}
