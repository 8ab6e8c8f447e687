package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// exampleYAML is the example shown in the README; it must load.
const exampleYAML = `listen: 127.0.0.1:8080
database:
  driver: mysql            # or sqlite (the default)
  dsn: root@tcp(127.0.0.1:3306)/bridge
credentials:
  - key: moodle-sync
    secret: ${MOODLE_SYNC_SECRET}
    scopes: [all]
`

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	t.Parallel()
	secretFile := writeFile(t, t.TempDir(), "secret", "s3cr3t-from-file\n")

	tests := []struct {
		name string
		yaml string   // "" means no file
		env  []string // "{{SECRET_FILE}}" is replaced by the path of a file holding "s3cr3t-from-file\n"
		// wantErr lists substrings that must all appear in the error; empty means success.
		wantErr []string
		check   func(t *testing.T, c *Config)
	}{
		{
			name: "defaults with no file",
			check: func(t *testing.T, c *Config) {
				want := &Config{
					Listen:          "127.0.0.1:8080",
					BaseURL:         "http://127.0.0.1:8080",
					DataDir:         "bridge-data",
					ShutdownTimeout: Duration{30 * time.Second},
					Log:             Log{Level: "info", Format: "text"},
					Database: Database{
						Driver:      "sqlite",
						DSN:         filepath.Join("bridge-data", "bridge.db"),
						AutoMigrate: ptr(true),
					},
					XAPI:       XAPI{DefaultVersion: "2.0.0", MaxBodyBytes: 16 << 20, DefaultLimit: 100, MaxLimit: 1000, CORSOrigins: []string{"*"}},
					Forwarding: defaultForwarding(),
				}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got  %+v\nwant %+v", c, want)
				}
				if !c.Database.AutoMigrateEnabled() {
					t.Error("AutoMigrateEnabled() = false for sqlite")
				}
			},
		},
		{
			name: "README example",
			yaml: exampleYAML,
			env:  []string{"MOODLE_SYNC_SECRET=hunter2"},
			check: func(t *testing.T, c *Config) {
				if c.Database.Driver != "mysql" || c.Database.DSN != "root@tcp(127.0.0.1:3306)/bridge" {
					t.Errorf("database = %+v", c.Database)
				}
				if c.Database.AutoMigrateEnabled() {
					t.Error("AutoMigrateEnabled() = true for mysql")
				}
				if c.Database.MaxOpenConns != 16 {
					t.Errorf("max_open_conns = %d, want 16", c.Database.MaxOpenConns)
				}
				want := []Credential{{Key: "moodle-sync", Secret: "hunter2", Scopes: []string{"all"}}}
				if !reflect.DeepEqual(c.Credentials, want) {
					t.Errorf("credentials = %+v, want %+v", c.Credentials, want)
				}
			},
		},
		{
			name: "full file with every key",
			yaml: `listen: 0.0.0.0:9000
base_url: https://lrs.example.org/
data_dir: /var/lib/bridge
shutdown_timeout: 2m
log:
  level: DEBUG
  format: json
database:
  driver: sqlite
  dsn: /tmp/x.db
  auto_migrate: false
  max_open_conns: 4
xapi:
  default_version: 1.0.3
  max_body_bytes: 1048576
  default_limit: 20
  max_limit: 50
credentials:
  - key: a
    secret: sa
    scopes: [statements/read, statements/write]
    name: Reader
  - key: b
    secret: sb
    scopes: "state, profile"
`,
			check: func(t *testing.T, c *Config) {
				want := &Config{
					Listen:          "0.0.0.0:9000",
					BaseURL:         "https://lrs.example.org",
					DataDir:         "/var/lib/bridge",
					ShutdownTimeout: Duration{2 * time.Minute},
					Log:             Log{Level: "debug", Format: "json"},
					Database:        Database{Driver: "sqlite", DSN: "/tmp/x.db", AutoMigrate: ptr(false), MaxOpenConns: 4},
					XAPI:            XAPI{DefaultVersion: "1.0.3", MaxBodyBytes: 1 << 20, DefaultLimit: 20, MaxLimit: 50, CORSOrigins: []string{"*"}},
					Forwarding:      defaultForwarding(),
					Credentials: []Credential{
						{Key: "a", Secret: "sa", Scopes: []string{"statements/read", "statements/write"}, Name: "Reader"},
						{Key: "b", Secret: "sb", Scopes: []string{"state", "profile"}},
					},
				}
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got  %+v\nwant %+v", c, want)
				}
			},
		},
		{
			name: "empty file gives defaults",
			yaml: "# nothing here\n",
			check: func(t *testing.T, c *Config) {
				if c.Listen != DefaultListen {
					t.Errorf("listen = %q", c.Listen)
				}
			},
		},
		{
			name: "default_limit follows a small max_limit",
			yaml: "xapi:\n  max_limit: 10\n",
			check: func(t *testing.T, c *Config) {
				if c.XAPI.DefaultLimit != 10 {
					t.Errorf("default_limit = %d, want 10", c.XAPI.DefaultLimit)
				}
			},
		},
		{
			name: "base_url from a listen address without host",
			yaml: "listen: :8080\n",
			check: func(t *testing.T, c *Config) {
				if c.BaseURL != "http://localhost:8080" {
					t.Errorf("base_url = %q", c.BaseURL)
				}
			},
		},
		{
			name:    "yaml syntax error",
			yaml:    "listen: [\n",
			wantErr: []string{"bridge.yaml: line"},
		},
		{
			name:    "unknown key at top level",
			yaml:    "listen: 127.0.0.1:8080\n\ndatabse:\n  driver: sqlite\n",
			wantErr: []string{`bridge.yaml: line 3: unknown key "databse"`, `did you mean "database"`},
		},
		{
			name:    "unknown nested key",
			yaml:    "database:\n  driver: sqlite\n  dirver: mysql\n",
			wantErr: []string{`bridge.yaml: line 3: unknown key "database.dirver"`},
		},
		{
			name:    "unknown key inside a list entry",
			yaml:    "credentials:\n  - key: a\n    secret: b\n    scope: [all]\n",
			wantErr: []string{`line 4: unknown key "credentials[0].scope"`},
		},
		{
			name:    "duplicate key",
			yaml:    "log:\n  level: info\n  level: debug\n",
			wantErr: []string{"line 3: log.level: key already set at line 2"},
		},
		{
			name:    "wrong type integer",
			yaml:    "listen: 127.0.0.1:8080\ndatabase:\n  driver: mysql\n  dsn: u@/db\n  max_open_conns: abc\n",
			wantErr: []string{`bridge.yaml: line 5: database.max_open_conns: cannot parse "abc" as an integer`},
		},
		{
			name:    "wrong type boolean",
			yaml:    "database:\n  auto_migrate: maybe\n",
			wantErr: []string{`line 2: database.auto_migrate: cannot parse "maybe" as a boolean`},
		},
		{
			name:    "wrong type duration",
			yaml:    "shutdown_timeout: 30\n",
			wantErr: []string{`line 1: shutdown_timeout: cannot parse "30" as a duration`},
		},
		{
			name:    "mapping where a value is expected",
			yaml:    "listen:\n  host: x\n",
			wantErr: []string{"line 2: listen: expected a single value, got a mapping"},
		},
		{
			name:    "value where a list is expected",
			yaml:    "credentials: foo\n",
			wantErr: []string{"line 1: credentials: expected a list"},
		},
		{
			name: "variable expansion",
			yaml: `listen: ${HOST}:${PORT:-9090}
data_dir: ${DATA:-/srv/bridge}
log:
  level: ${LEVEL:-warn}
database:
  max_open_conns: ${CONNS}
credentials:
  - key: k
    secret: pa$$word-$HOME-${SECRET}
`,
			env: []string{"HOST=10.0.0.1", "LEVEL=", "CONNS=7", "SECRET=x"},
			check: func(t *testing.T, c *Config) {
				if c.Listen != "10.0.0.1:9090" {
					t.Errorf("listen = %q", c.Listen)
				}
				if c.DataDir != "/srv/bridge" {
					t.Errorf("data_dir = %q", c.DataDir)
				}
				if c.Log.Level != "warn" {
					t.Errorf("log.level = %q (default applies to an empty variable)", c.Log.Level)
				}
				if c.Database.MaxOpenConns != 7 {
					t.Errorf("max_open_conns = %d", c.Database.MaxOpenConns)
				}
				if got := c.Credentials[0].Secret; got != "pa$$word-$HOME-x" {
					t.Errorf("secret = %q", got)
				}
			},
		},
		{
			name:    "expansion of an unset variable",
			yaml:    exampleYAML,
			wantErr: []string{"bridge.yaml: line 7: credentials[0].secret: environment variable MOODLE_SYNC_SECRET is not set"},
		},
		{
			name: "env overrides nested keys",
			yaml: "log:\n  level: info\ndatabase:\n  driver: sqlite\n",
			env: []string{
				"BRIDGE_LOG_LEVEL=debug",
				"BRIDGE_BASE_URL=https://lrs.example.org",
				"BRIDGE_SHUTDOWN_TIMEOUT=5s",
				"BRIDGE_DATABASE_DRIVER=mysql",
				"BRIDGE_DATABASE_DSN=u:p@tcp(db:3306)/lrs?parseTime=true",
				"BRIDGE_DATABASE_AUTO_MIGRATE=true",
				"BRIDGE_DATABASE_MAX_OPEN_CONNS=3",
				"BRIDGE_XAPI_DEFAULT_VERSION=1.0.3",
				"BRIDGE_XAPI_MAX_BODY_BYTES=1024",
				"BRIDGE_LOG_FORMAT=", // empty counts as unset
				"PATH=/usr/bin",      // unrelated
			},
			check: func(t *testing.T, c *Config) {
				if c.Log.Level != "debug" || c.Log.Format != "text" {
					t.Errorf("log = %+v", c.Log)
				}
				if c.BaseURL != "https://lrs.example.org" || c.ShutdownTimeout.Duration != 5*time.Second {
					t.Errorf("base_url = %q, shutdown_timeout = %s", c.BaseURL, c.ShutdownTimeout)
				}
				want := Database{Driver: "mysql", DSN: "u:p@tcp(db:3306)/lrs?parseTime=true", AutoMigrate: ptr(true), MaxOpenConns: 3}
				if !reflect.DeepEqual(c.Database, want) {
					t.Errorf("database = %+v", c.Database)
				}
				if c.XAPI.DefaultVersion != "1.0.3" || c.XAPI.MaxBodyBytes != 1024 {
					t.Errorf("xapi = %+v", c.XAPI)
				}
			},
		},
		{
			name: "env overrides credentials by index and appends",
			yaml: "credentials:\n  - key: a\n    secret: from-yaml\n",
			env: []string{
				"BRIDGE_CREDENTIALS_0_SECRET=from-env",
				"BRIDGE_CREDENTIALS_1_KEY=b",
				"BRIDGE_CREDENTIALS_1_SECRET=sb",
				"BRIDGE_CREDENTIALS_1_SCOPES=statements/read, state",
				"BRIDGE_CREDENTIALS_1_NAME=Bee",
				"BRIDGE_CREDENTIALS_2_KEY=c",
				"BRIDGE_CREDENTIALS_2_SECRET=sc",
			},
			check: func(t *testing.T, c *Config) {
				want := []Credential{
					{Key: "a", Secret: "from-env", Scopes: []string{"all"}},
					{Key: "b", Secret: "sb", Scopes: []string{"statements/read", "state"}, Name: "Bee"},
					{Key: "c", Secret: "sc", Scopes: []string{"all"}},
				}
				if !reflect.DeepEqual(c.Credentials, want) {
					t.Errorf("credentials = %+v\nwant %+v", c.Credentials, want)
				}
			},
		},
		{
			name:    "env credential index gap",
			env:     []string{"BRIDGE_CREDENTIALS_1_KEY=b", "BRIDGE_CREDENTIALS_1_SECRET=x"},
			wantErr: []string{"credentials[1].key: environment variable BRIDGE_CREDENTIALS_1_KEY: index 1 is out of range", "index 0 appends"},
		},
		{
			name:    "cors origin with a path",
			env:     []string{"BRIDGE_XAPI_CORS_ORIGINS=https://moodle.example.org/course,*"},
			wantErr: []string{`xapi.cors_origins[0]: "https://moodle.example.org/course" is not an origin`, `xapi.cors_origins[1]: "*" must be the only entry`},
		},
		{
			name:    "env value of the wrong type",
			env:     []string{"BRIDGE_XAPI_MAX_LIMIT=lots"},
			wantErr: []string{`xapi.max_limit: environment variable BRIDGE_XAPI_MAX_LIMIT: cannot parse "lots" as an integer`},
		},
		{
			name: "secret from _FILE",
			env: []string{
				"BRIDGE_CREDENTIALS_0_KEY=k",
				"BRIDGE_CREDENTIALS_0_SECRET_FILE={{SECRET_FILE}}",
			},
			check: func(t *testing.T, c *Config) {
				if got := c.Credentials[0].Secret; got != "s3cr3t-from-file" {
					t.Errorf("secret = %q", got)
				}
			},
		},
		{
			name: "dsn from _FILE",
			env: []string{
				"BRIDGE_DATABASE_DSN_FILE={{SECRET_FILE}}",
			},
			check: func(t *testing.T, c *Config) {
				if c.Database.DSN != "s3cr3t-from-file" {
					t.Errorf("dsn = %q", c.Database.DSN)
				}
			},
		},
		{
			name:    "_FILE that does not exist",
			env:     []string{"BRIDGE_DATABASE_DSN_FILE=/nonexistent/dsn"},
			wantErr: []string{"database.dsn: environment variable BRIDGE_DATABASE_DSN_FILE", "/nonexistent/dsn"},
		},
		{
			name: "both X and X_FILE",
			env: []string{
				"BRIDGE_CREDENTIALS_0_KEY=k",
				"BRIDGE_CREDENTIALS_0_SECRET=x",
				"BRIDGE_CREDENTIALS_0_SECRET_FILE={{SECRET_FILE}}",
			},
			wantErr: []string{"credentials[0].secret: set by both BRIDGE_CREDENTIALS_0_SECRET and BRIDGE_CREDENTIALS_0_SECRET_FILE"},
		},
		{
			name:    "unknown BRIDGE_ variable",
			env:     []string{"BRIDGE_DATABSE_DSN=x"},
			wantErr: []string{"environment variable BRIDGE_DATABSE_DSN does not match any config key", "did you mean BRIDGE_DATABASE_DSN?"},
		},
		{
			name:    "unknown BRIDGE_ variable for a list entry",
			env:     []string{"BRIDGE_CREDENTIALS_0_SECRT=x"},
			wantErr: []string{"BRIDGE_CREDENTIALS_0_SECRT does not match any config key", "did you mean BRIDGE_CREDENTIALS_0_SECRET?"},
		},
		{
			name:    "non-canonical list index",
			env:     []string{"BRIDGE_CREDENTIALS_00_KEY=x"},
			wantErr: []string{"BRIDGE_CREDENTIALS_00_KEY does not match any config key"},
		},
		{
			name:    "non-scalar key has no variable",
			env:     []string{"BRIDGE_DATABASE=x"},
			wantErr: []string{"BRIDGE_DATABASE does not match any config key"},
		},
		{
			name: "BRIDGE_CONFIG is ignored",
			env:  []string{"BRIDGE_CONFIG=/etc/bridge/bridge.yaml"},
			check: func(t *testing.T, c *Config) {
				if c.Listen != DefaultListen {
					t.Errorf("listen = %q", c.Listen)
				}
			},
		},
		{
			name:    "invalid driver",
			yaml:    "database:\n  driver: postgres\n",
			wantErr: []string{`database.driver: unknown driver "postgres"; valid: sqlite, mysql`},
		},
		{
			name:    "mysql without dsn",
			env:     []string{"BRIDGE_DATABASE_DRIVER=mysql"},
			wantErr: []string{`database.dsn: required when database.driver is "mysql"`},
		},
		{
			name:    "dsn without slash",
			yaml:    "database:\n  driver: mysql\n  dsn: root:pw@tcp(127.0.0.1:3306)\n",
			wantErr: []string{`database.dsn: missing "/dbname"`},
		},
		{
			name:    "dsn without database name",
			yaml:    "database:\n  driver: mysql\n  dsn: root@tcp(127.0.0.1:3306)/\n",
			wantErr: []string{`database.dsn: missing database name`},
		},
		{
			name:    "dsn with unterminated address",
			yaml:    "database:\n  driver: mysql\n  dsn: root@tcp(127.0.0.1:3306/bridge\n",
			wantErr: []string{`database.dsn: network address not terminated: missing ")"`},
		},
		{
			name:    "dsn with bad parameter",
			yaml:    "database:\n  driver: mysql\n  dsn: root@tcp(db)/bridge?parseTime\n",
			wantErr: []string{`database.dsn: invalid parameter "parseTime": missing "=value"`},
		},
		{
			name:    "dsn missing @ does not leak the password",
			yaml:    "database:\n  driver: mysql\n  dsn: root:topsecret/bridge\n",
			wantErr: []string{`database.dsn: invalid network type`},
		},
		{
			name:    "duplicate credential key",
			yaml:    "credentials:\n  - key: moodle-sync\n    secret: a\n  - key: moodle-sync\n    secret: b\n",
			wantErr: []string{`credentials[1].key: duplicate key "moodle-sync"`},
		},
		{
			name:    "credential key and secret required",
			yaml:    "credentials:\n  - name: nobody\n  - key: \"bad key!\"\n    secret: x\n",
			wantErr: []string{"credentials[0].key: required", "credentials[0].secret: required", `credentials[1].key: invalid key "bad key!"`},
		},
		{
			name:    "bad scope",
			yaml:    "credentials:\n  - key: a\n    secret: b\n    scopes: [all/read, statement/write]\n",
			wantErr: []string{`credentials[0].scopes[1]: unknown scope "statement/write"; valid: all, all/read, statements/write, statements/read, statements/read/mine, state, define, profile`},
		},
		{
			name: "other validation errors are all reported",
			yaml: `listen: localhost
base_url: ftp://x/?q=1
log:
  level: loud
  format: xml
database:
  max_open_conns: -1
xapi:
  default_version: "1.0.0"
  max_body_bytes: -5
  default_limit: 2000
`,
			wantErr: []string{
				"listen: must be host:port",
				"base_url: must be an absolute http or https URL",
				`log.level: unknown level "loud"`,
				`log.format: unknown format "xml"`,
				"database.max_open_conns: must not be negative",
				`xapi.default_version: unsupported version "1.0.0"; valid: 1.0.3, 2.0.0`,
				"xapi.max_body_bytes: must be greater than 0",
				"xapi.default_limit: must be between 1 and xapi.max_limit (1000), got 2000",
			},
		},
		{
			name:    "base_url with a query",
			env:     []string{"BRIDGE_BASE_URL=https://lrs.example.org/x?y=1"},
			wantErr: []string{"base_url: must not contain a query"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := ""
			if tt.yaml != "" {
				path = writeFile(t, t.TempDir(), "bridge.yaml", tt.yaml)
			}
			env := make([]string, len(tt.env))
			for i, e := range tt.env {
				env[i] = strings.ReplaceAll(e, "{{SECRET_FILE}}", secretFile)
			}
			c, err := Load(path, env)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Load succeeded, want error containing %q; config %+v", tt.wantErr, c)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error does not contain %q:\n%v", w, err)
					}
				}
				if strings.Contains(err.Error(), "topsecret") {
					t.Errorf("error leaks a password:\n%v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("err = %v, want one naming the file", err)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	orig := &Config{
		Database: Database{Driver: "mysql", DSN: "root:pw@tcp(db:3306)/bridge", AutoMigrate: ptr(true)},
		Credentials: []Credential{
			{Key: "a", Secret: "s1", Scopes: []string{"all"}},
			{Key: "b", Secret: "s2"},
			{Key: "c"},
		},
	}
	r := orig.Redacted()

	if r.Database.DSN != "root:***@tcp(db:3306)/bridge" {
		t.Errorf("redacted dsn = %q", r.Database.DSN)
	}
	for i, want := range []string{"***", "***", ""} {
		if got := r.Credentials[i].Secret; got != want {
			t.Errorf("redacted credentials[%d].secret = %q, want %q", i, got, want)
		}
		if r.Credentials[i].Key != orig.Credentials[i].Key {
			t.Errorf("credentials[%d].key changed", i)
		}
	}
	out, err := yaml.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"s1", "s2", ":pw@"} {
		if strings.Contains(string(out), s) {
			t.Errorf("marshalled redacted config contains %q:\n%s", s, out)
		}
	}

	// The original is untouched, and the copy shares no mutable memory.
	if orig.Credentials[0].Secret != "s1" || orig.Credentials[1].Secret != "s2" || orig.Database.DSN != "root:pw@tcp(db:3306)/bridge" {
		t.Errorf("original modified: %+v", orig)
	}
	r.Credentials[0].Scopes[0] = "changed"
	*r.Database.AutoMigrate = false
	if orig.Credentials[0].Scopes[0] != "all" || !*orig.Database.AutoMigrate {
		t.Error("Redacted copy shares memory with the original")
	}
	if (*Config)(nil).Redacted() != nil {
		t.Error("nil.Redacted() != nil")
	}
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"root:pw@tcp(db)/x", "root:***@tcp(db)/x"},
		{"root:p@ss/w:rd@tcp(db)/x", "root:***@tcp(db)/x"},
		{"root@tcp(db)/x", "root@tcp(db)/x"},
		{"root:@/x", "root:@/x"},
		{"/x", "/x"},
	} {
		if got := redactDSN(tt.in); got != tt.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckMySQLDSN(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		dsn     string
		wantErr string // "" means valid
	}{
		{"root@tcp(127.0.0.1:3306)/bridge", ""},
		{"user:p@ss/word@tcp(db:3306)/bridge?parseTime=true&loc=Europe%2FParis", ""},
		{"user:pw@unix(/var/run/mysqld/mysqld.sock)/bridge", ""},
		{"/bridge", ""},
		{"user@/bridge?", ""},
		{"bridge", `missing "/dbname"`},
		{"root@tcp(db)/", "missing database name"},
		{"root@tcp(db/bridge", `missing ")"`},
		{"root@tcp(db)x/bridge", "text after the network address"},
		{"root@tcp(db)/bridge?loc=Europe/Paris", "escape it as %2F"},
		{"root@(db)/bridge", "missing network type"},
		{"root@tcp()/bridge", "empty address"},
		{"root@tcp(db)/bri%zzdge", "invalid database name"},
		{"root@tcp(db)/bridge?a=%zz", `invalid value for parameter "a"`},
		{"root@tcp(db)/bridge?=1", "empty name"},
	} {
		err := checkMySQLDSN(tt.dsn)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("checkMySQLDSN(%q) = %v, want nil", tt.dsn, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("checkMySQLDSN(%q) = %v, want error containing %q", tt.dsn, err, tt.wantErr)
		}
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30s", 30 * time.Second, false},
		{"2m", 2 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"30", 0, true},
		{"soon", 0, true},
	} {
		var d Duration
		err := yaml.Unmarshal([]byte(tt.in), &d)
		if (err != nil) != tt.wantErr || d.Duration != tt.want {
			t.Errorf("yaml %q: got %v, %v; want %v (error %v)", tt.in, d, err, tt.want, tt.wantErr)
		}
	}
	if s := (Duration{90 * time.Second}).String(); s != "1m30s" {
		t.Errorf("String() = %q", s)
	}
	out, err := yaml.Marshal(struct {
		D Duration `yaml:"d"`
	}{Duration{time.Minute}})
	if err != nil || string(out) != "d: 1m0s\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

func TestEnvVarNames(t *testing.T) {
	t.Parallel()
	names := EnvVarNames()
	want := []string{
		"BRIDGE_LISTEN", "BRIDGE_BASE_URL", "BRIDGE_DATA_DIR", "BRIDGE_SHUTDOWN_TIMEOUT",
		"BRIDGE_LOG_LEVEL", "BRIDGE_LOG_FORMAT",
		"BRIDGE_DATABASE_DRIVER", "BRIDGE_DATABASE_DSN", "BRIDGE_DATABASE_AUTO_MIGRATE", "BRIDGE_DATABASE_MAX_OPEN_CONNS",
		"BRIDGE_XAPI_DEFAULT_VERSION", "BRIDGE_XAPI_MAX_BODY_BYTES", "BRIDGE_XAPI_DEFAULT_LIMIT", "BRIDGE_XAPI_MAX_LIMIT", "BRIDGE_XAPI_CORS_ORIGINS",
		"BRIDGE_XAPI_MAX_STATEMENTS", "BRIDGE_XAPI_MAX_RESPONSE_BYTES", "BRIDGE_XAPI_MAX_FORM_BYTES_BEFORE_AUTH", "BRIDGE_XAPI_MAX_DOCUMENT_BYTES",
		"BRIDGE_XAPI_MAX_DEFINITION_BYTES", "BRIDGE_XAPI_MAX_DEFINITION_LANGUAGES", "BRIDGE_XAPI_MAX_DEFINITION_EXTENSIONS",
		"BRIDGE_CREDENTIALS_<N>_KEY", "BRIDGE_CREDENTIALS_<N>_SECRET", "BRIDGE_CREDENTIALS_<N>_SCOPES", "BRIDGE_CREDENTIALS_<N>_NAME", "BRIDGE_CREDENTIALS_<N>_TRUSTED",
		"BRIDGE_ADMIN_TOKENS",
		"BRIDGE_FORWARDING_POLL_INTERVAL", "BRIDGE_FORWARDING_SECRET_KEY", "BRIDGE_FORWARDING_HASH_SALT", "BRIDGE_FORWARDING_RULE_BUDGET",
		"BRIDGE_FORWARDING_PERSONAL_BATCH_SIZE", "BRIDGE_FORWARDING_PERSONAL_TIMEOUT", "BRIDGE_FORWARDING_PERSONAL_CONCURRENCY",
		"BRIDGE_FORWARDING_PERSONAL_RETRY_INITIAL_BACKOFF", "BRIDGE_FORWARDING_PERSONAL_RETRY_MAX_BACKOFF",
		"BRIDGE_FORWARDING_PERSONAL_RETRY_MAX_ATTEMPTS", "BRIDGE_FORWARDING_PERSONAL_RETRY_MAX_AGE",
		"BRIDGE_FORWARDING_PERSONAL_BREAKER_FAILURES", "BRIDGE_FORWARDING_PERSONAL_BREAKER_OPEN_FOR",
		"BRIDGE_TARGETS_<N>_NAME", "BRIDGE_TARGETS_<N>_TYPE", "BRIDGE_TARGETS_<N>_ENDPOINT", "BRIDGE_TARGETS_<N>_VERSION",
		"BRIDGE_TARGETS_<N>_USERNAME", "BRIDGE_TARGETS_<N>_PASSWORD", "BRIDGE_TARGETS_<N>_TOKEN", "BRIDGE_TARGETS_<N>_URL",
		"BRIDGE_TARGETS_<N>_METHOD", "BRIDGE_TARGETS_<N>_BATCH", "BRIDGE_TARGETS_<N>_HMAC_SECRET", "BRIDGE_TARGETS_<N>_HEADERS",
		"BRIDGE_TARGETS_<N>_DELIVERY_BATCH_SIZE", "BRIDGE_TARGETS_<N>_DELIVERY_TIMEOUT", "BRIDGE_TARGETS_<N>_DELIVERY_CONCURRENCY",
		"BRIDGE_TARGETS_<N>_DELIVERY_RETRY_INITIAL_BACKOFF", "BRIDGE_TARGETS_<N>_DELIVERY_RETRY_MAX_BACKOFF",
		"BRIDGE_TARGETS_<N>_DELIVERY_RETRY_MAX_ATTEMPTS", "BRIDGE_TARGETS_<N>_DELIVERY_RETRY_MAX_AGE",
		"BRIDGE_TARGETS_<N>_DELIVERY_BREAKER_FAILURES", "BRIDGE_TARGETS_<N>_DELIVERY_BREAKER_OPEN_FOR",
		"BRIDGE_RULES_<N>_NAME", "BRIDGE_RULES_<N>_STORES", "BRIDGE_RULES_<N>_WHEN", "BRIDGE_RULES_<N>_TARGETS",
		"BRIDGE_RULES_<N>_TRANSFORM_DROP", "BRIDGE_RULES_<N>_TRANSFORM_HASH",
		"BRIDGE_MOODLE_SOURCES_<N>_NAME", "BRIDGE_MOODLE_SOURCES_<N>_DRIVER", "BRIDGE_MOODLE_SOURCES_<N>_DSN", "BRIDGE_MOODLE_SOURCES_<N>_PREFIX", "BRIDGE_MOODLE_SOURCES_<N>_WWWROOT", "BRIDGE_MOODLE_SOURCES_<N>_STORE", "BRIDGE_MOODLE_SOURCES_<N>_SCHEDULE", "BRIDGE_MOODLE_SOURCES_<N>_BATCH_SIZE", "BRIDGE_MOODLE_SOURCES_<N>_IDENTITY", "BRIDGE_MOODLE_SOURCES_<N>_ACCOUNT_HOMEPAGE", "BRIDGE_MOODLE_SOURCES_<N>_SEND_NAMES", "BRIDGE_MOODLE_SOURCES_<N>_PLATFORM", "BRIDGE_MOODLE_SOURCES_<N>_RESPONSE_CHOICES", "BRIDGE_MOODLE_SOURCES_<N>_SHORT_COURSE_ID", "BRIDGE_MOODLE_SOURCES_<N>_IDNUMBERS", "BRIDGE_MOODLE_SOURCES_<N>_SCALED_ZERO_ONE", "BRIDGE_MOODLE_SOURCES_<N>_MOODLE_RELEASE", "BRIDGE_MOODLE_SOURCES_<N>_EVENTS_ALLOW", "BRIDGE_MOODLE_SOURCES_<N>_EVENTS_DENY", "BRIDGE_MOODLE_SOURCES_<N>_GAP_WAIT",
		"BRIDGE_HTTP_READ_HEADER_TIMEOUT", "BRIDGE_HTTP_BODY_READ_TIMEOUT", "BRIDGE_HTTP_IDLE_TIMEOUT", "BRIDGE_HTTP_MAX_HEADER_BYTES", "BRIDGE_HTTP_MAX_INFLIGHT_BODY_BYTES", "BRIDGE_METRICS_TOKEN",
	}
	if !slices.Equal(names, want) {
		t.Errorf("EnvVarNames() =\n%q\nwant\n%q", names, want)
	}
	// Every name (and its _FILE form) resolves to exactly the key it was derived from.
	for _, n := range names {
		n = strings.ReplaceAll(n, "<N>", "0")
		for _, v := range []string{n, n + EnvFileSuffix} {
			_, key, ok := matchEnv(configType, strings.TrimSuffix(strings.TrimPrefix(v, EnvPrefix), EnvFileSuffix))
			if !ok || envSegment(strings.NewReplacer("[0]", "_0", ".", "_").Replace(key)) != strings.TrimPrefix(n, EnvPrefix) {
				t.Errorf("%s resolves to %q, %v", v, key, ok)
			}
		}
	}
}

func TestExpandEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"A": "1", "EMPTY": ""}
	for _, tt := range []struct {
		in, want string
		missing  []string
	}{
		{"plain", "plain", nil},
		{"${A}", "1", nil},
		{"x${A}y${A}", "x1y1", nil},
		{"${B:-def}", "def", nil},
		{"${EMPTY:-def}", "def", nil},
		{"${EMPTY}", "", nil},
		{"${A:-def}", "1", nil},
		{"${B:-}", "", nil},
		{"$A $ $$ ${ ${1X}", "$A $ $$ ${ ${1X}", nil},
		{"${B}-${C}", "-", []string{"B", "C"}},
	} {
		got, missing := expandEnv(tt.in, env)
		if got != tt.want || !slices.Equal(missing, tt.missing) {
			t.Errorf("expandEnv(%q) = %q, %q; want %q, %q", tt.in, got, missing, tt.want, tt.missing)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func defaultForwarding() Forwarding {
	return Forwarding{PollInterval: Duration{time.Second},
		Personal: Delivery{BatchSize: 50, Timeout: Duration{10 * time.Second}, Concurrency: 1}}
}

func TestForwardingConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bridge.yaml")
	good := `targets:
  - name: employer
    type: xapi
    endpoint: https://lrs.employer.example/xapi
    username: bridge
    password: ${EMPLOYER_PW}
  - name: hook
    type: webhook
    url: https://hooks.example/xapi
    hmac_secret: s3cret
    headers: ["X-Api-Key: abc"]
    delivery: {batch_size: 10, retry: {max_attempts: 3}}
rules:
  - name: completions
    when: verb.id == "http://adlnet.gov/expapi/verbs/completed"
    targets: [employer, personal]
admin:
  tokens: [tok-123]
`
	os.WriteFile(path, []byte(good), 0o600)
	c, err := Load(path, []string{"EMPLOYER_PW=pw"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Targets[0].Version != "1.0.3" || c.Targets[1].Method != "POST" || c.Targets[1].BatchSize != 10 ||
		c.Targets[1].Retry.MaxAttempts != 3 || c.Targets[0].Timeout.Duration != 10*time.Second {
		t.Errorf("defaults not applied: %+v", c.Targets)
	}
	r := c.Redacted()
	if r.Targets[0].Password != RedactedSecret || r.Targets[1].HMACSecret != RedactedSecret || r.Admin.Tokens[0] != RedactedSecret ||
		c.Targets[0].Password != "pw" {
		t.Errorf("redaction: %+v / %+v", r.Targets, c.Targets)
	}

	bad := []struct{ yaml, want string }{
		{"targets: [{name: personal, type: xapi, endpoint: http://x}]", `targets[0].name: "personal" is reserved`},
		{"targets: [{name: a, type: ftp}]", `targets[0].type: must be xapi or webhook`},
		{"targets: [{name: a, type: xapi, endpoint: nope}]", `targets[0].endpoint: must be an http(s) URL`},
		{"targets: [{name: a, type: webhook, url: http://x, headers: [nocolon]}]", `targets[0].headers[0]: must be "Name: value"`},
		{"targets: [{name: a, type: xapi, endpoint: http://x}, {name: a, type: xapi, endpoint: http://y}]", `targets[1].name: duplicate target "a"`},
		{"rules: [{name: r, targets: [nowhere]}]", `rules[0].targets[0]: unknown target "nowhere"`},
		{"rules: [{name: r, targets: [personal]}, {name: r, targets: [personal]}]", `rules[1].name: duplicate rule "r"`},
	}
	for _, b := range bad {
		os.WriteFile(path, []byte(b.yaml), 0o600)
		_, err := Load(path, nil)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: got %v, want %q", b.yaml, err, b.want)
		}
	}
}

func TestMoodleConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bridge.yaml")
	good := `moodle:
  sources:
    - name: main-site
      dsn: moodle_ro:${MOODLE_DB_PASSWORD}@tcp(db.example.org:3306)/moodle
      wwwroot: https://moodle.example.org/
      events:
        deny: ['\core\event\user_loggedin']
      courses:
        exclude: [1]
    - name: pg-site
      driver: postgres
      dsn: postgres://moodle:pw@127.0.0.1:5432/moodle
      wwwroot: https://pg.example.org
      schedule: "*/5 * * * *"
      identity: mbox
      send_names: false
`
	os.WriteFile(path, []byte(good), 0o600)
	c, err := Load(path, []string{"MOODLE_DB_PASSWORD=secret"})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Moodle.Sources[0]
	if s.Prefix != "mdl_" || s.Schedule != "* * * * *" || s.Store != "default" || s.WWWRoot != "https://moodle.example.org" ||
		!s.SendNamesEnabled() || s.BatchSize != 1000 || s.Identity != "account" || s.Courses.Exclude[0] != 1 || s.Events.Deny[0] != `\core\event\user_loggedin` {
		t.Errorf("defaults: %+v", s)
	}
	if c.Moodle.Sources[1].SendNamesEnabled() {
		t.Error("send_names: false ignored")
	}
	r := c.Redacted()
	if strings.Contains(r.Moodle.Sources[0].DSN, "secret") || strings.Contains(r.Moodle.Sources[1].DSN, "pw@") {
		t.Errorf("DSN passwords not redacted: %q %q", r.Moodle.Sources[0].DSN, r.Moodle.Sources[1].DSN)
	}
	bad := []struct{ yaml, want string }{
		{"moodle: {sources: [{name: a, wwwroot: https://m.example}]}", "moodle.sources[0].dsn: is required"},
		{"moodle: {sources: [{name: a, dsn: x@tcp(h)/m, wwwroot: nope}]}", "moodle.sources[0].wwwroot: must be the site URL"},
		{"moodle: {sources: [{name: a, dsn: x@tcp(h)/m, wwwroot: https://m.example, schedule: sometimes}]}", "moodle.sources[0].schedule: not a cron schedule"},
		{"moodle: {sources: [{name: a, dsn: x@tcp(h)/m, wwwroot: https://m.example, driver: oracle}]}", "moodle.sources[0].driver: must be mysql or postgres"},
		{"moodle: {sources: [{name: a, dsn: x@tcp(h)/m, wwwroot: https://m.example, identity: email}]}", "moodle.sources[0].identity: must be account, username or mbox"},
		{"moodle: {sources: [{name: a, dsn: x@tcp(h)/m, wwwroot: https://m.example, prefix: 'mdl-'}]}", "moodle.sources[0].prefix"},
		{"moodle: {sources: [{name: a, dsn: x@tcp(h)/m, wwwroot: https://m.example}, {name: a, dsn: x@tcp(h)/m, wwwroot: https://m.example}]}", `moodle.sources[1].name: duplicate source "a"`},
		{"moodle: {sources: [{name: a, dsn: x@tcp(h)/m, wwwroot: https://m.example, coursez: {}}]}", `unknown key "moodle.sources[0].coursez"`},
	}
	for _, b := range bad {
		os.WriteFile(path, []byte(b.yaml), 0o600)
		_, err := Load(path, nil)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s:\n got %v\nwant %q", b.yaml, err, b.want)
		}
	}
}
