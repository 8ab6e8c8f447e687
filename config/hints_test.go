package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The YAML mistakes the README's users made get a message that says what
// to do (issue 14): a ${VAR} in a flow list must be quoted; tabs cannot
// indent.
func TestYAMLSyntaxHints(t *testing.T) {
	for _, c := range []struct {
		name, yaml, want string
	}{
		{"unquoted var in a flow list", "admin:\n  tokens: [${ADMIN_TOKEN}]\n",
			`line 2: a ${VAR} inside [...] or {...} must be quoted, e.g. tokens: ["${ADMIN_TOKEN}"]`},
		{"unquoted var after a comma", "admin:\n  tokens: [\"a-token-0123456789abc\", ${T2}]\n", "line 2: a ${VAR} inside [...] or {...} must be quoted"},
		{"unquoted var in a flow map", "forwarding: {secret_key: ${KEY}}\n", "line 1: a ${VAR} inside [...] or {...} must be quoted"},
		{"tab indentation", "database:\n\tdriver: sqlite\n", "line 2 is indented with a tab: YAML allows only spaces for indentation"},
		{"tab after spaces", "log:\n  level: info\n \tformat: text\n", "line 3 is indented with a tab"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bridge.yaml")
			os.WriteFile(path, []byte(c.yaml), 0o600)
			_, err := Load(path, []string{"ADMIN_TOKEN=x", "T2=y", "KEY=z"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load: %v\nwant a message containing %q", err, c.want)
			}
		})
	}
	// Quoted, the README's example loads.
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	os.WriteFile(path, []byte("admin:\n  tokens: [\"${ADMIN_TOKEN}\"]\n"), 0o600)
	cfg, err := Load(path, []string{"ADMIN_TOKEN=admin-token-0123456789abcdef"})
	if err != nil || len(cfg.Admin.Tokens) != 1 || cfg.Admin.Tokens[0] != "admin-token-0123456789abcdef" {
		t.Errorf("quoted: %v %+v", err, cfg)
	}
}
