package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/admin"
	"github.com/xapibridge/bridge/lrs/store"
)

// A credential may be marked trusted: the statements it stores may be
// forwarded to the personal LRS of their actor (issue 15, Low #10). The
// mark is stored with the credential's scopes (lrs.ScopePersonalForward),
// shown and set apart from them, kept when the scopes are replaced, and
// grants no xAPI access.
func TestCredentialTrusted(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, _ := newAdmin(db)
		info, _, err := a.CreateCredential(ctx, 1, admin.CredentialSpec{Key: "learning-app", Scopes: []string{lrs.ScopeStatementsWrite}, Trusted: true})
		if err != nil || !info.Trusted || !slices.Equal(info.Scopes, []string{lrs.ScopeStatementsWrite}) {
			t.Fatalf("create trusted: %+v %v", info, err)
		}
		stored, err := db.GetCredential(ctx, "learning-app")
		if err != nil || !stored.Trusted() {
			t.Fatalf("stored: %+v %v, want trusted", stored, err)
		}
		p := &lrs.Principal{Scopes: stored.Scopes}
		if !p.CanWriteStatements() {
			t.Errorf("a trusted writer cannot write")
		}
		if ok, _ := p.CanReadStatements(); ok {
			t.Errorf("trusted granted reading")
		}

		plain, _, err := a.CreateCredential(ctx, 1, admin.CredentialSpec{Key: "other-app"})
		if err != nil || plain.Trusted {
			t.Fatalf("a credential is trusted only when asked: %+v %v", plain, err)
		}
		for _, scopes := range [][]string{{lrs.ScopePersonalForward}, {lrs.ScopeAll, lrs.ScopePersonalForward}} {
			_, _, err := a.CreateCredential(ctx, 1, admin.CredentialSpec{Scopes: scopes})
			wantCode(t, err, lrs.EINVALID)
			_, err = a.UpdateCredential(ctx, "other-app", admin.CredentialUpdate{Scopes: scopes})
			wantCode(t, err, lrs.EINVALID)
		}

		// Replacing the scopes keeps the mark; only Trusted changes it.
		info, err = a.UpdateCredential(ctx, "learning-app", admin.CredentialUpdate{Scopes: []string{lrs.ScopeAll}})
		if err != nil || !info.Trusted || !slices.Equal(info.Scopes, []string{lrs.ScopeAll}) {
			t.Fatalf("new scopes: %+v %v, want [all], still trusted", info, err)
		}
		no, yes := false, true
		if info, err = a.UpdateCredential(ctx, "learning-app", admin.CredentialUpdate{Trusted: &no}); err != nil || info.Trusted || !slices.Equal(info.Scopes, []string{lrs.ScopeAll}) {
			t.Fatalf("untrust: %+v %v", info, err)
		}
		if c, _ := db.GetCredential(ctx, "learning-app"); c.Trusted() {
			t.Errorf("stored still trusted: %v", c.Scopes)
		}
		if info, err = a.UpdateCredential(ctx, "other-app", admin.CredentialUpdate{Trusted: &yes}); err != nil || !info.Trusted {
			t.Fatalf("trust: %+v %v", info, err)
		}
		list, err := a.ListCredentials(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			if want := c.Key == "other-app"; c.Trusted != want || slices.Contains(c.Scopes, lrs.ScopePersonalForward) {
				t.Errorf("listed %+v, want trusted %v and the mark not among the scopes", c, want)
			}
		}
		// Credentials from the config file are marked there (trusted: true).
		salt, hash := lrs.HashSecret("a config secret")
		if err := db.PutCredential(ctx, &lrs.Credential{Key: "from-config", StoreID: 1, Scopes: []string{lrs.ScopeAll},
			SecretSalt: salt, SecretHash: hash, Source: "config"}); err != nil {
			t.Fatal(err)
		}
		_, err = a.UpdateCredential(ctx, "from-config", admin.CredentialUpdate{Trusted: &yes})
		wantCode(t, err, lrs.ECONFLICT)
	})
}
