package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/forwarders/dispatch"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// `bridge credential create --trusted` and `credential set-trusted` mark a
// credential whose statements may go to learners' personal LRSs; the
// bridge's wiring forwards only those (and Moodle sources') to them
// (issue 15, Low #10).
func TestCredentialTrustedCLI(t *testing.T) {
	e := newEnv(t, "rules:\n  - name: learners-own\n    targets: [personal]\n")
	db, fwd := e.open()
	ctx := context.Background()

	out := e.mustBridge("credential", "create", "--store", "1", "--key", "learning-app", "--scopes", "statements/write", "--trusted")
	if !strings.Contains(out, "trusted") {
		t.Errorf("credential create --trusted:\n%s", out)
	}
	e.mustBridge("credential", "create", "--store", "1", "--key", "other-app", "--scopes", "statements/write")
	if c, err := db.GetCredential(ctx, "learning-app"); err != nil || !c.Trusted() {
		t.Fatalf("learning-app: %+v %v, want trusted", c, err)
	}
	out = e.mustBridge("credential", "list", "--store", "1")
	if !strings.Contains(out, "TRUSTED") || !strings.Contains(out, "statements/write  yes") || !strings.Contains(out, "statements/write  no") {
		t.Errorf("credential list:\n%s", out)
	}

	if _, err := fwd.Admin.RegisterPersonal(ctx, 1, dispatch.PersonalRegistration{Agent: map[string]any{"mbox": "mailto:ann@example.org"},
		Endpoint: "https://ann-lrs.example/xapi", PersonalCredentials: dispatch.PersonalCredentials{Username: "ann", Password: "pw"}}); err != nil {
		t.Fatal(err)
	}
	svc := &lrs.Service{Statements: db, Router: fwd.Router, DefaultLimit: 10, MaxLimit: 10}
	pending := func() int64 {
		t.Helper()
		stats, err := db.OutboxStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stats {
			if s.Target == dispatch.PersonalTarget {
				return s.Pending
			}
		}
		return 0
	}
	by := func(key string) {
		t.Helper()
		p := &lrs.Principal{Key: key, StoreID: 1, Scopes: []string{lrs.ScopeStatementsWrite},
			Authority: map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://lrs.test", "name": key}}}
		stmt := statements(1)[0]
		stmt["actor"] = map[string]any{"mbox": "mailto:ann@example.org"}
		if _, err := svc.StoreStatements(ctx, p, xapi.V200, []map[string]any{stmt}, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	by("other-app")
	if n := pending(); n != 0 {
		t.Errorf("a statement of an untrusted credential: %d personal deliveries, want 0", n)
	}
	by("learning-app")
	if n := pending(); n != 1 {
		t.Errorf("a statement of a trusted credential: %d personal deliveries, want 1", n)
	}

	out = e.mustBridge("credential", "set-trusted", "learning-app", "false")
	if !strings.Contains(out, "not trusted") {
		t.Errorf("set-trusted false: %s", out)
	}
	if c, _ := db.GetCredential(ctx, "learning-app"); c.Trusted() || !strings.Contains(strings.Join(c.Scopes, " "), "statements/write") {
		t.Errorf("after set-trusted false: %v", c.Scopes)
	}
	if out, err := e.bridge("credential", "set-trusted", "learning-app", "perhaps"); err == nil {
		t.Errorf("set-trusted perhaps succeeded: %s", out)
	}
	if out, err := e.bridge("credential", "create", "--store", "1", "--scopes", "all,personal/forward"); err == nil || !strings.Contains(out+err.Error(), "--trusted") {
		t.Errorf("personal/forward as a scope: %v %s", err, out)
	}
}
