package store_test

import (
	"context"
	"testing"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

func credential(key string, scopes ...string) *lrs.Principal {
	auth := map[string]any{"objectType": "Agent", "account": map[string]any{"homePage": "http://lrs.test", "name": key}}
	return &lrs.Principal{Key: key, StoreID: 1, Scopes: scopes, Authority: auth, AuthorityKey: "account::http://lrs.test::" + key}
}

// attStmt is a statement declaring attachment a; with fileURL set, it
// declares a fileUrl, which needs no multipart part.
func attStmt(id string, a lrs.Attachment, fileURL string) map[string]any {
	att := map[string]any{
		"usageType":   "http://example.org/usage/report",
		"display":     map[string]any{"en-US": "report"},
		"contentType": a.ContentType,
		"length":      len(a.Content),
		"sha2":        a.SHA2,
	}
	if fileURL != "" {
		att["fileUrl"] = fileURL
	}
	return stmt(id, "ann", "attached", "a1", map[string]any{"attachments": []any{att}})
}

// attachmentsFor is what GET /statements?statementId=id&attachments=true
// sends p: the attachment contents it is given with the statement.
func attachmentsFor(t *testing.T, svc *lrs.Service, p *lrs.Principal, id string) map[string]string {
	t.Helper()
	st, err := svc.GetStatement(context.Background(), p, id, false)
	if err != nil {
		t.Fatalf("%s GET %s: %v", p.Key, id, err)
	}
	atts, err := svc.Attachments(context.Background(), p, [][]byte{st.Body})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range atts {
		out[a.SHA2] = string(a.Content)
	}
	return out
}

// Contents are stored once per hash and store. A statements/read/mine
// credential must not obtain another credential's attachment by declaring
// its sha2 (with a fileUrl, so without sending the bytes) in a statement of
// its own.
func TestAttachmentsReadMine(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		svc := service(db)
		alice := credential("alice", lrs.ScopeStatementsWrite, lrs.ScopeStatementsReadMine)
		mallory := credential("mallory", lrs.ScopeStatementsWrite, lrs.ScopeStatementsReadMine)
		auditor := credential("auditor", lrs.ScopeStatementsRead)
		secret := lrs.NewAttachment("text/plain", []byte("alice's medical certificate"))

		aliceID := newID()
		if err := storeAs(svc, alice, attStmt(aliceID, secret, ""), secret); err != nil {
			t.Fatal(err)
		}
		// Mallory learned the hash (it is in every copy of the statement,
		// forwarded or exported) and declares it with a fileUrl.
		malloryID := newID()
		if err := storeAs(svc, mallory, attStmt(malloryID, secret, "http://evil.example/x")); err != nil {
			t.Fatal(err)
		}
		if got := attachmentsFor(t, svc, mallory, malloryID); got[secret.SHA2] != "" {
			t.Errorf("mallory (statements/read/mine) got alice's attachment through its own statement: %q", got[secret.SHA2])
		}
		// Alice still gets hers.
		if got := attachmentsFor(t, svc, alice, aliceID); got[secret.SHA2] != string(secret.Content) {
			t.Errorf("alice's own attachment: %q", got)
		}
		// A credential that sent the bytes itself gets them, even though
		// they were stored before, once, for alice.
		bob := credential("bob", lrs.ScopeStatementsWrite, lrs.ScopeStatementsReadMine)
		bobID := newID()
		if err := storeAs(svc, bob, attStmt(bobID, secret, ""), secret); err != nil {
			t.Fatal(err)
		}
		if got := attachmentsFor(t, svc, bob, bobID); got[secret.SHA2] != string(secret.Content) {
			t.Errorf("bob uploaded the same bytes and got %q", got)
		}
		// A reader of every statement of the store may read alice's
		// statement, so gets the contents with any statement.
		if got := attachmentsFor(t, svc, auditor, malloryID); got[secret.SHA2] != string(secret.Content) {
			t.Errorf("statements/read credential: %q", got)
		}
	})
}
