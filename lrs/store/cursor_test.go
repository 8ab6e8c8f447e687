package store_test

import (
	"context"
	"testing"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
)

// PutSyncCursors writes several cursors in one transaction, apart from any
// statement, and replaces what a batch wrote (a rewind of a Moodle source).
func TestPutSyncCursors(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.InsertStatementsAt(ctx, 1, nil, &lrs.Checkpoint{Source: "site", Position: 250, Status: []byte(`{"rows_read":250}`)}); err != nil {
			t.Fatal(err)
		}
		err := db.PutSyncCursors(ctx,
			&lrs.Checkpoint{Source: "site#rewind", Position: 100, Status: []byte(`{"id":"r1","to":100}`)},
			&lrs.Checkpoint{Source: "site", Position: 100, Status: []byte(`{"rows_read":250,"rewind_applied":"r1"}`)})
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []struct {
			source string
			pos    int64
			status string
		}{{"site", 100, `{"rows_read":250,"rewind_applied":"r1"}`}, {"site#rewind", 100, `{"id":"r1","to":100}`}} {
			cp, err := db.SyncCursor(ctx, want.source)
			if err != nil || cp.Position != want.pos || string(cp.Status) != want.status {
				t.Errorf("%s: %+v (%s), %v; want position %d, status %s", want.source, cp, cp.Status, err, want.pos, want.status)
			}
		}
		// A cursor without status gets an empty one, like a batch's.
		if err := db.PutSyncCursors(ctx, &lrs.Checkpoint{Source: "other", Position: 7}); err != nil {
			t.Fatal(err)
		}
		if cp, _ := db.SyncCursor(ctx, "other"); cp.Position != 7 || string(cp.Status) != "{}" {
			t.Errorf("other: %+v %s", cp, cp.Status)
		}
	})
}
