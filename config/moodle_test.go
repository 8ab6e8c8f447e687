package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gap_wait: how long a Moodle source holds its cursor before a gap in log
// ids; default one minute, a duration between 1s and 1h.
func TestMoodleGapWait(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bridge.yaml")
	var env []string
	load := func(extra string) (*Config, error) {
		y := "moodle:\n  sources:\n    - name: a\n      dsn: x@tcp(h)/m\n      wwwroot: https://m.example\n" + extra
		os.WriteFile(path, []byte(y), 0o600)
		return Load(path, env)
	}
	c, err := load("")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Moodle.Sources[0].GapWait.Duration; got != time.Minute {
		t.Errorf("default gap_wait %s, want 1m", got)
	}
	c, err = load("      gap_wait: 2m30s\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Moodle.Sources[0].GapWait.Duration; got != 150*time.Second {
		t.Errorf("gap_wait %s, want 2m30s", got)
	}
	// Like every key, from the environment too.
	env = []string{"BRIDGE_MOODLE_SOURCES_0_GAP_WAIT=45s"}
	if c, err = load(""); err != nil || c.Moodle.Sources[0].GapWait.Duration != 45*time.Second {
		t.Errorf("BRIDGE_MOODLE_SOURCES_0_GAP_WAIT=45s: %v, %v", c, err)
	}
	env = nil
	for _, b := range []struct{ yaml, want string }{
		{"      gap_wait: 500ms\n", "moodle.sources[0].gap_wait: must be between 1s and 1h, got 500ms"},
		{"      gap_wait: 2h\n", "moodle.sources[0].gap_wait: must be between 1s and 1h, got 2h0m0s"},
		{"      gap_wait: -1m\n", "moodle.sources[0].gap_wait: must be between 1s and 1h"},
		{"      gap_wait: soon\n", `cannot parse "soon" as a duration`},
	} {
		_, err := load(b.yaml)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: got %v, want %q", strings.TrimSpace(b.yaml), err, b.want)
		}
	}
}
