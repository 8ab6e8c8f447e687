package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// A page of GET /statements reads at most Query.MaxBytes of statement
// bodies from the store (issue 15 #6: a 137 MiB page was read whole before
// the HTTP layer trimmed it); the rest comes with more, and no statement is
// skipped or repeated.
func TestQueryPageBytes(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc := service(db)
		var want []string
		for i := range 7 {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
			st := stmt(id, "ann", "completed", "big", map[string]any{"result": map[string]any{"response": strings.Repeat("x", 1000)}})
			if _, err := svc.StoreStatements(ctx, writer, xapi.V200, []map[string]any{st}, false, nil); err != nil {
				t.Fatal(err)
			}
			want = append(want, id)
		}
		var got []string
		pages := 0
		q := lrs.Query{Limit: 100, Ascending: true, MaxBytes: 2500}
		for {
			page, more, err := db.QueryStatements(ctx, 1, q)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			var size int
			for i, s := range page {
				got = append(got, s.ID)
				if i < len(page)-1 {
					size += len(s.Body)
				}
			}
			if size >= 2500 {
				t.Errorf("page %d held %d bytes before its last statement, past MaxBytes 2500", pages, size)
			}
			if !more {
				break
			}
			q.After = page[len(page)-1].PK
		}
		if strings.Join(got, ",") != strings.Join(want, ",") || pages < 3 {
			t.Errorf("%d pages, statements %v, want several pages of %v", pages, got, want)
		}
		// One statement over the budget still makes a page.
		page, more, err := db.QueryStatements(ctx, 1, lrs.Query{Limit: 100, Ascending: true, MaxBytes: 10})
		if err != nil || len(page) != 1 || !more {
			t.Errorf("MaxBytes below one statement: %d statements, more %v, %v", len(page), more, err)
		}
		// Through the service, its default cap applies and nothing is cut here.
		all, more, err := svc.QueryStatements(ctx, writer, lrs.Query{Limit: 100})
		if err != nil || len(all) != 7 || more {
			t.Errorf("service: %d statements, more %v, %v", len(all), more, err)
		}
	})
}
