package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// An admin API body over its 1 MiB limit is a 413 that names the limit, as
// on the xAPI paths, not a 400 "invalid body" (review of issue 15).
func TestAdminBodyOverLimit(t *testing.T) {
	h := newFakes().server().Handler()
	big := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	for _, path := range []string{"/api/v1/orgs", "/api/v1/personal-lrs", "/api/v1/forwarding/dead/replay"} {
		w := serve(h, adminRequest("POST", path, big))
		if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "1048576") {
			t.Errorf("POST %s with 2 MiB: %d %s, want 413 naming 1048576", path, w.Code, w.Body.String())
		}
	}
}
