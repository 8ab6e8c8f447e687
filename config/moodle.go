package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultMoodleGapWait is a Moodle source's default gap_wait.
const DefaultMoodleGapWait = time.Minute

// Moodle configures the Moodle adapter.
type Moodle struct {
	Sources []MoodleSource `yaml:"sources"`
}

// MoodleSource is one Moodle site whose logs the bridge reads.
type MoodleSource struct {
	Name   string `yaml:"name"`   // [a-z0-9_-]+, unique
	Driver string `yaml:"driver"` // mysql (default; also MariaDB) or postgres
	// DSN of Moodle's database; a read-only user is enough. mysql:
	// user:pass@tcp(host:3306)/moodle; postgres: postgres://user:pass@host/moodle.
	DSN     string `yaml:"dsn"`
	Prefix  string `yaml:"prefix"`  // table prefix; default mdl_
	WWWRoot string `yaml:"wwwroot"` // the site URL, e.g. https://moodle.example.org
	// Store receives the statements: a store name ("default") or "org/store".
	Store     string `yaml:"store"`
	Schedule  string `yaml:"schedule"`   // cron syntax; default every minute
	BatchSize int    `yaml:"batch_size"` // log rows per transaction; default 1000

	Identity        string `yaml:"identity"`         // account (default: Moodle user id), username or mbox
	AccountHomePage string `yaml:"account_homepage"` // homePage of username accounts; default wwwroot
	SendNames       *bool  `yaml:"send_names"`       // actor.name; default true
	Platform        string `yaml:"platform"`         // context.platform; default Moodle
	ResponseChoices bool   `yaml:"response_choices"` // send choice texts in responses
	ShortCourseID   bool   `yaml:"short_course_id"`  // course short name extension
	IDNumbers       bool   `yaml:"idnumbers"`        // course and module idnumber extensions
	ScaledZeroOne   bool   `yaml:"scaled_zero_one"`  // quiz scaled scores in 0..1 (see README)
	MoodleRelease   string `yaml:"moodle_release"`   // for the info extension; default read from Moodle's config
	Events          Filter `yaml:"events"`           // event names to allow / deny
	Courses         IDs    `yaml:"courses"`          // course ids to include / exclude
	Categories      IDs    `yaml:"categories"`       // course category ids to include / exclude
	// GapWait is how long the sync holds its cursor before a gap in log ids
	// (rows after the gap are held back until they are this old): Moodle
	// requests take log ids in one order and may commit in another, so the
	// missing rows may still be committing. Default 1m.
	GapWait Duration `yaml:"gap_wait"`
}

// Filter allows or denies names.
type Filter struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// IDs includes or excludes ids.
type IDs struct {
	Include []int64 `yaml:"include"`
	Exclude []int64 `yaml:"exclude"`
}

// SendNamesEnabled reports whether actor names are sent.
func (s MoodleSource) SendNamesEnabled() bool { return s.SendNames == nil || *s.SendNames }

func (c *Config) moodleDefaults() {
	for i := range c.Moodle.Sources {
		s := &c.Moodle.Sources[i]
		if s.Driver == "" {
			s.Driver = "mysql"
		}
		if s.Prefix == "" {
			s.Prefix = "mdl_"
		}
		if s.Store == "" {
			s.Store = "default"
		}
		if s.Schedule == "" {
			s.Schedule = "* * * * *"
		}
		if s.BatchSize == 0 {
			s.BatchSize = 1000
		}
		if s.GapWait.Duration == 0 {
			s.GapWait.Duration = DefaultMoodleGapWait
		}
		if s.Identity == "" {
			s.Identity = "account"
		}
		s.WWWRoot = strings.TrimSuffix(s.WWWRoot, "/")
	}
}

func (c *Config) validateMoodle(add func(key, format string, args ...any)) {
	names := map[string]int{}
	for i, s := range c.Moodle.Sources {
		key := fmt.Sprintf("moodle.sources[%d]", i)
		if !targetName.MatchString(s.Name) {
			add(key+".name", "must match [a-z0-9][a-z0-9_-]*, got %q", s.Name)
		} else if j, dup := names[s.Name]; dup {
			add(key+".name", "duplicate source %q (also moodle.sources[%d])", s.Name, j)
		}
		names[s.Name] = i
		switch s.Driver {
		case "mysql":
			if s.DSN != "" {
				if err := checkMySQLDSN(s.DSN); err != nil {
					add(key+".dsn", "%v", err)
				}
			}
		case "postgres":
		default:
			add(key+".driver", "must be mysql or postgres, got %q", s.Driver)
		}
		if s.DSN == "" {
			add(key+".dsn", "is required (Moodle's database; a read-only user is enough)")
		}
		if !httpURL(s.WWWRoot) {
			add(key+".wwwroot", "must be the site URL, e.g. https://moodle.example.org, got %q", s.WWWRoot)
		}
		for _, ch := range s.Prefix {
			if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '_') {
				add(key+".prefix", "must be letters, digits and _ (e.g. mdl_), got %q", s.Prefix)
				break
			}
		}
		if _, err := cron.ParseStandard(s.Schedule); err != nil {
			add(key+".schedule", "not a cron schedule (%v), e.g. \"*/5 * * * *\" or \"@every 30s\"", err)
		}
		if s.BatchSize < 1 || s.BatchSize > 20000 {
			add(key+".batch_size", "must be between 1 and 20000, got %d", s.BatchSize)
		}
		if s.GapWait.Duration < time.Second || s.GapWait.Duration > time.Hour {
			add(key+".gap_wait", "must be between 1s and 1h, got %s", s.GapWait)
		}
		switch s.Identity {
		case "account", "username", "mbox":
		default:
			add(key+".identity", "must be account, username or mbox, got %q", s.Identity)
		}
	}
}
