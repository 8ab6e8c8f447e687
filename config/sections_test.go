package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A command loads the config with the sections it uses: an unset ${VAR} in
// another section is no error for it (issue 14: `bridge store export`
// failed on the Moodle password), while every section is still read (an
// unknown key is an error) and serve checks them all.
func TestLoadSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	os.WriteFile(path, []byte(`credentials:
  - key: lms
    secret: ${LMS_SECRET}
targets:
  - name: employer
    type: xapi
    endpoint: ${EMPLOYER_ENDPOINT}
rules:
  - name: all
    targets: [employer]
moodle:
  sources:
    - name: site
      dsn: moodle_ro:${MOODLE_DB_PASSWORD}@tcp(db.example.org:3306)/moodle
      wwwroot: https://moodle.example.org
`), 0o600)
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "LMS_SECRET") ||
		!strings.Contains(err.Error(), "EMPLOYER_ENDPOINT") || !strings.Contains(err.Error(), "MOODLE_DB_PASSWORD") {
		t.Errorf("every section: %v, want each unset variable named", err)
	}
	if _, err := Load(path, nil, Sections()); err != nil {
		t.Errorf("database only: %v", err)
	}
	_, err := Load(path, nil, Sections("forwarding", "targets", "rules"))
	if err == nil || !strings.Contains(err.Error(), "EMPLOYER_ENDPOINT") || strings.Contains(err.Error(), "MOODLE_DB_PASSWORD") || strings.Contains(err.Error(), "LMS_SECRET") {
		t.Errorf("forwarding sections: %v, want only EMPLOYER_ENDPOINT", err)
	}
	cfg, err := Load(path, []string{"EMPLOYER_ENDPOINT=https://lrs.employer.example/xapi"}, Sections("forwarding", "targets", "rules"))
	if err != nil || cfg.Targets[0].Endpoint != "https://lrs.employer.example/xapi" {
		t.Errorf("forwarding sections with the endpoint set: %v", err)
	}
	// A typo in a section the command does not use is still an error.
	os.WriteFile(path, []byte("moodle:\n  sourcse: []\n"), 0o600)
	if _, err := Load(path, nil, Sections()); err == nil || !strings.Contains(err.Error(), `unknown key "moodle.sourcse"`) {
		t.Errorf("typo in an unused section: %v", err)
	}
}
