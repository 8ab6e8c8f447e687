package integration_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/config"
)

// Every YAML example in README.md loads as a config, with the environment
// variables it reads set (issue 14 bug 2: the forwarding example's
// `tokens: [${ADMIN_TOKEN}]` was a YAML error).
func TestREADMEConfigExamples(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?ms)^```yaml\n(.*?)^```").FindAllStringSubmatchIndex(string(b), -1)
	if len(blocks) < 3 {
		t.Fatalf("found %d yaml blocks in README.md, want the configuration, forwarding and Moodle examples", len(blocks))
	}
	vars := regexp.MustCompile(`\$\{([A-Z0-9_]+)`)
	for _, m := range blocks {
		text := string(b[m[2]:m[3]])
		line := strings.Count(string(b[:m[0]]), "\n") + 1
		var env []string
		for _, v := range vars.FindAllStringSubmatch(text, -1) {
			env = append(env, v[1]+"=example-value-0123456789")
		}
		path := filepath.Join(t.TempDir(), "bridge.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Load(path, env); err != nil {
			t.Errorf("README.md line %d: the yaml example does not load: %v", line, err)
		}
	}
}
