package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/xapibridge/bridge/internal/testmysql"
	"github.com/xapibridge/bridge/lrs"
	"github.com/xapibridge/bridge/lrs/store"
	"github.com/xapibridge/bridge/lrs/xapi"
)

// benchStatement is a realistic ~2 KB statement.
func benchStatement(i int) map[string]any {
	return map[string]any{
		"id": uuid.NewString(),
		"actor": map[string]any{"objectType": "Agent", "name": fmt.Sprintf("Learner %d", i%5000),
			"account": map[string]any{"homePage": "https://moodle.example.org", "name": fmt.Sprint(i % 5000)}},
		"verb": map[string]any{"id": fmt.Sprintf("http://adlnet.gov/expapi/verbs/v%d", i%30), "display": map[string]any{"en": "completed"}},
		"object": map[string]any{"id": fmt.Sprintf("https://moodle.example.org/mod/quiz/view.php?id=%d", i%2000), "objectType": "Activity",
			"definition": map[string]any{"type": "http://adlnet.gov/expapi/activities/assessment",
				"name":        map[string]any{"en": "Unit quiz: safeguarding in practice"},
				"description": map[string]any{"en": "A twenty-question quiz on the safeguarding policy, its reporting lines and the escalation steps for volunteers and staff."}}},
		"result": map[string]any{"score": map[string]any{"raw": 17, "min": 0, "max": 20, "scaled": 0.85}, "success": true, "completion": true, "duration": "PT14M32S"},
		"context": map[string]any{"registration": uuid.NewString(), "platform": "Moodle", "language": "en",
			"contextActivities": map[string]any{
				"parent": []any{map[string]any{"id": fmt.Sprintf("https://moodle.example.org/course/view.php?id=%d", i%40), "objectType": "Activity",
					"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/lms/course", "name": map[string]any{"en": "Volunteer induction"}}}},
				"grouping": []any{map[string]any{"id": "https://moodle.example.org", "objectType": "Activity",
					"definition": map[string]any{"type": "http://id.tincanapi.com/activitytype/lms", "name": map[string]any{"en": "Charity Learning"}}}}},
			"extensions": map[string]any{"http://lrs.learninglocker.net/define/extensions/info": map[string]any{
				"http://moodle.org": "4.5.6", "event_name": "\\mod_quiz\\event\\attempt_submitted", "event_function": "attempt_submitted"}}},
		"timestamp": "2026-11-24T10:00:00Z",
	}
}

// BenchmarkIngest stores b.N statements through the LRS service in
// batches of 100 (no HTTP), on SQLite and MariaDB.
func BenchmarkIngest(b *testing.B) {
	for _, driver := range []string{store.SQLite, store.MySQL} {
		b.Run(driver, func(b *testing.B) {
			ctx := context.Background()
			dsn := filepath.Join(b.TempDir(), "b.db")
			if driver == store.MySQL {
				dsn = testmysql.New(b)
			}
			db, err := store.Open(ctx, driver, dsn, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.Migrate(ctx)
			svc := &lrs.Service{Statements: db}
			batches := make([][]map[string]any, 0, b.N/100+1)
			for i := 0; i < b.N; i += 100 {
				var batch []map[string]any
				for j := i; j < min(i+100, b.N); j++ {
					batch = append(batch, benchStatement(j))
				}
				batches = append(batches, batch)
			}
			b.ResetTimer()
			start := time.Now()
			for _, batch := range batches {
				if _, err := svc.StoreStatements(ctx, writer, xapi.V200, batch, true, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "stmts/s")
		})
	}
}
