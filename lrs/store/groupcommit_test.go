package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// heldStore holds the first insert made after hold is set until release is
// closed, so requests arriving meanwhile queue behind the writer (and are
// grouped) however fast the database is.
type heldStore struct {
	lrs.StatementStore
	hold    atomic.Bool
	release chan struct{}
}

func (h *heldStore) InsertStatements(ctx context.Context, storeID int64, stmts []*lrs.NewStatement, atts []lrs.Attachment) (int, error) {
	if h.hold.CompareAndSwap(true, false) {
		<-h.release
	}
	return h.StatementStore.InsertStatements(ctx, storeID, stmts, atts)
}

// TestGroupCommitIsolatesRequests sends many single-statement requests at
// once through one writer, so they share transactions, with a conflicting
// id, duplicated ids and a voiding statement among them. Each request must
// get the answer it would get alone.
func TestGroupCommitIsolatesRequests(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		held := &heldStore{StatementStore: db, release: make(chan struct{})}
		group := store.NewGroupCommit(held, 1)
		svc := &lrs.Service{Statements: group, DefaultLimit: 100, MaxLimit: 500}

		taken := newID()
		mustStore(t, svc, stmt(taken, "ann", "attempted", "a1", nil))
		before, err := db.GetStatement(ctx, 1, taken)
		if err != nil {
			t.Fatal(err)
		}
		target := newID()
		mustStore(t, svc, stmt(target, "ann", "attempted", "a2", nil))
		same := newID()
		sameStmt := stmt(same, "bob", "attempted", "a3", nil)

		type req struct {
			body     []map[string]any
			conflict bool
		}
		var reqs []req
		for i := 0; i < 60; i++ {
			reqs = append(reqs, req{body: []map[string]any{stmt(newID(), "cat", "experienced", "a4", nil)}})
			switch i {
			case 10, 30:
				// Same id as a stored statement, other content: 409.
				reqs = append(reqs, req{body: []map[string]any{stmt(taken, "ann", "failed", "a1", nil)}, conflict: true})
			case 20, 21, 40:
				// The same new statement from three requests: stored once.
				reqs = append(reqs, req{body: []map[string]any{sameStmt}})
			case 25:
				reqs = append(reqs, req{body: []map[string]any{voiding(target)}})
			case 50:
				// A batch of two with a conflict: neither is stored.
				reqs = append(reqs, req{body: []map[string]any{
					stmt(newID(), "dan", "attempted", "a5", nil),
					stmt(taken, "ann", "passed", "a1", nil),
				}, conflict: true})
			}
		}
		errs := make([]error, len(reqs))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, r := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				in := make([]map[string]any, len(r.body))
				for j, s := range r.body {
					in[j] = clone(s)
				}
				_, errs[i] = svc.StoreStatements(ctx, writer, xapi.V200, in, len(in) > 1, nil)
			}()
		}
		// The first request to reach the writer is held there while the
		// others queue; then the writer takes them all as one group.
		held.hold.Store(true)
		close(start)
		time.Sleep(200 * time.Millisecond)
		close(held.release)
		wg.Wait()
		for i, r := range reqs {
			switch {
			case r.conflict && lrs.ErrorCode(errs[i]) != lrs.ECONFLICT:
				t.Errorf("request %d: got %v, want a conflict", i, errs[i])
			case !r.conflict && errs[i] != nil:
				t.Errorf("request %d: %v", i, errs[i])
			}
		}
		gs := group.Stats()
		t.Logf("group commit: %+v", gs)
		if gs.Shared == 0 || gs.Retried == 0 {
			t.Errorf("no request shared a transaction or was retried alone (%+v): the test did not exercise groups", gs)
		}
		after, _ := db.GetStatement(ctx, 1, taken)
		if string(after.Body) != string(before.Body) {
			t.Errorf("a conflicting request changed the stored statement")
		}
		if got := queryIDs(t, svc, lrs.Query{Agent: "mbox::mailto:cat@example.org", Limit: 500}); len(got) != 60 {
			t.Errorf("cat: %d statements stored, want 60", len(got))
		}
		if got := queryIDs(t, svc, lrs.Query{Agent: "mbox::mailto:bob@example.org"}); len(got) != 1 || got[0] != same {
			t.Errorf("bob: got %v, want only %s", got, same)
		}
		if got := queryIDs(t, svc, lrs.Query{Agent: "mbox::mailto:dan@example.org"}); len(got) != 0 {
			t.Errorf("dan: the conflicting batch was partly stored: %v", got)
		}
		if st, err := db.GetStatement(ctx, 1, target); err != nil || !st.Voided {
			t.Errorf("voiding in a group: target voided=%v err=%v", st != nil && st.Voided, err)
		}
	})
}
