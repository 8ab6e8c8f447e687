package xapi

import (
	"encoding/json"
	"fmt"
	"testing"
)

// batchBody is a POST body of 100 realistic statements.
func batchBody() []byte {
	var stmts []any
	for i := 0; i < 100; i++ {
		stmts = append(stmts, map[string]any{
			"actor": map[string]any{"name": fmt.Sprint("Learner ", i), "account": map[string]any{"homePage": "https://moodle.example.org", "name": fmt.Sprint(i)}},
			"verb":  map[string]any{"id": "http://adlnet.gov/expapi/verbs/completed", "display": map[string]any{"en": "completed"}},
			"object": map[string]any{"id": fmt.Sprintf("https://moodle.example.org/mod/quiz/view.php?id=%d", i), "definition": map[string]any{
				"type": "http://adlnet.gov/expapi/activities/assessment", "name": map[string]any{"en": "Unit quiz"},
				"description": map[string]any{"en": "A twenty-question quiz on the safeguarding policy and the escalation steps."}}},
			"result":  map[string]any{"score": map[string]any{"raw": 17, "min": 0, "max": 20, "scaled": 0.85}, "success": true, "duration": "PT14M32S"},
			"context": map[string]any{"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7", "platform": "Moodle", "contextActivities": map[string]any{"parent": []any{map[string]any{"id": "https://moodle.example.org/course/view.php?id=12"}}}},
		})
	}
	b, _ := json.Marshal(stmts)
	return b
}

// BenchmarkDecodeStatements compares the fast path with the token-by-token
// one on a 100-statement body.
func BenchmarkDecodeStatements(b *testing.B) {
	body := batchBody()
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			if _, _, err := DecodeStatements(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("token-by-token", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for i := 0; i < b.N; i++ {
			if _, err := decodeSlow(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
