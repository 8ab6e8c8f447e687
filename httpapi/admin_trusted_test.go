package httpapi

import (
	"reflect"
	"testing"

	"github.com/xapibridge/bridge/lrs/admin"
)

// Credentials are created and patched with "trusted" (issue 15, Low #10:
// only Moodle sources and trusted credentials may have statements
// forwarded to learners' personal LRSs).
func TestAdminCredentialTrusted(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		name, method, path, body string
		call                     string
		args                     []any
	}{
		{"create trusted", "POST", "/api/v1/stores/7/credentials", `{"key":"k9","scopes":["statements/write"],"trusted":true}`,
			"Tenants.CreateCredential", []any{int64(42), admin.CredentialSpec{Key: "k9", Scopes: []string{"statements/write"}, Trusted: true}}},
		{"trust", "PATCH", "/api/v1/credentials/k9", `{"trusted":true}`,
			"Tenants.UpdateCredential", []any{"k9", admin.CredentialUpdate{Trusted: &yes}}},
		{"untrust", "PATCH", "/api/v1/credentials/k9", `{"trusted":false}`,
			"Tenants.UpdateCredential", []any{"k9", admin.CredentialUpdate{Trusted: &no}}},
		{"scopes only", "PATCH", "/api/v1/credentials/k9", `{"scopes":["all"]}`,
			"Tenants.UpdateCredential", []any{"k9", admin.CredentialUpdate{Scopes: []string{"all"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes()
			w := serve(f.handler(), adminRequest(tc.method, tc.path, tc.body))
			if w.Code >= 300 {
				t.Fatalf("status %d; body %s", w.Code, w.Body.String())
			}
			var found bool
			for _, c := range f.log.all() {
				if c.name == tc.call {
					found = true
					if !reflect.DeepEqual(c.args, tc.args) {
						t.Errorf("%s%#v, want %#v", c.name, c.args, tc.args)
					}
				}
			}
			if !found {
				t.Errorf("calls %v, want %s", f.log.names(), tc.call)
			}
		})
	}
}
