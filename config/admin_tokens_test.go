package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An empty admin token would let in anyone who sends "Authorization:
// Bearer " (issue 15 #14): it is refused; an empty BRIDGE_ADMIN_TOKENS
// still turns the admin API off.
func TestEmptyAdminToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	os.WriteFile(path, []byte("admin:\n  tokens: [\"\"]\n"), 0o600)
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "admin.tokens[0]: empty") {
		t.Errorf("empty token in the file: %v", err)
	}
	os.WriteFile(path, []byte("admin:\n  tokens: [\"${ADMIN_TOKEN:-}\"]\n"), 0o600)
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "admin.tokens[0]: empty") {
		t.Errorf("token from an unset variable with an empty default: %v", err)
	}
	cfg, err := Load("", []string{"BRIDGE_ADMIN_TOKENS="})
	if err != nil || len(cfg.Admin.Tokens) != 0 {
		t.Errorf("BRIDGE_ADMIN_TOKENS empty: %v %q, want the admin API off", err, cfg.Admin.Tokens)
	}
}

// Redacted hides header values and the query and password of target URLs
// (issue 15 #14: they were printed in clear).
func TestRedactedTargets(t *testing.T) {
	c := &Config{Targets: []Target{{Name: "crm", Type: "webhook", URL: "https://crm.example/hook?token=s3cr3t&x=1",
		Headers: []string{"X-Api-Key: k3y-value", "Authorization: Bearer abc"}},
		{Name: "lrs", Type: "xapi", Endpoint: "https://user:pa55@lrs.example/xapi"}}}
	r := c.Redacted()
	all := strings.Join(append(r.Targets[0].Headers, r.Targets[0].URL, r.Targets[1].Endpoint), " ")
	for _, secret := range []string{"s3cr3t", "k3y-value", "abc", "pa55"} {
		if strings.Contains(all, secret) {
			t.Errorf("Redacted shows %q: %s", secret, all)
		}
	}
	for _, kept := range []string{"X-Api-Key: ", "Authorization: ", "https://crm.example/hook?", "token=", "user:", "lrs.example/xapi"} {
		if !strings.Contains(all, kept) {
			t.Errorf("Redacted lost %q: %s", kept, all)
		}
	}
	if c.Targets[0].Headers[0] != "X-Api-Key: k3y-value" || c.Targets[0].URL != "https://crm.example/hook?token=s3cr3t&x=1" {
		t.Errorf("Redacted changed the config it was given")
	}
}
