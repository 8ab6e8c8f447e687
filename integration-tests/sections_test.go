package integration_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Commands that do not use a config section do not fail on its unset
// ${VAR}s (issue 14): `store export` on a config whose Moodle and target
// passwords come from variables set only where the bridge serves.
func TestCommandsNeedOnlyTheirSections(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bridge.yaml")
	os.WriteFile(cfg, []byte(`data_dir: data
credentials:
  - key: lms
    secret: ${LMS_SECRET}
targets:
  - name: employer
    type: xapi
    endpoint: https://lrs.employer.example/xapi
    username: bridge
    password: ${EMPLOYER_LRS_PASSWORD}
rules:
  - name: all
    targets: [employer]
moodle:
  sources:
    - name: site
      dsn: moodle_ro:${MOODLE_DB_PASSWORD}@tcp(127.0.0.1:1)/moodle
      wwwroot: https://moodle.example.org
`), 0o600)
	if out, code := runBridge(t, dir, nil, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("migrate: %d %s", code, out)
	}
	if out, code := runBridge(t, dir, nil, "store", "export", "--config", cfg, "--store", "default"); code != 0 {
		t.Errorf("store export without the Moodle, target and credential variables: %d %s", code, out)
	}
	if out, code := runBridge(t, dir, nil, "store", "list", "--config", cfg); code != 0 || !strings.Contains(out, "default") {
		t.Errorf("store list: %d %s", code, out)
	}
	// forward uses targets (not Moodle, nor the config credentials).
	if out, code := runBridge(t, dir, nil, "forward", "status", "--config", cfg); code == 0 || !strings.Contains(out, "EMPLOYER_LRS_PASSWORD") ||
		strings.Contains(out, "MOODLE_DB_PASSWORD") || strings.Contains(out, "LMS_SECRET") {
		t.Errorf("forward status: %d %s", code, out)
	}
	if out, code := runBridge(t, dir, []string{"EMPLOYER_LRS_PASSWORD=pw"}, "forward", "status", "--config", cfg); code != 0 {
		t.Errorf("forward status with the target's password: %d %s", code, out)
	}
	out, code := runBridge(t, dir, nil, "serve", "--config", cfg)
	if code == 0 || !strings.Contains(out, "LMS_SECRET") || !strings.Contains(out, "MOODLE_DB_PASSWORD") || !strings.Contains(out, "EMPLOYER_LRS_PASSWORD") {
		t.Errorf("serve must check every section: %d %s", code, out)
	}
}
