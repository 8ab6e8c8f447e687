package moodle

import (
	"reflect"
	"testing"
)

func TestOther(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[string]any
		err      bool
	}{
		{"absent", "", map[string]any{}, false},
		{"php null", "N;", map[string]any{}, false},
		{"php array", `a:3:{s:12:"discussionid";i:1;s:7:"forumid";i:2;s:9:"forumtype";s:7:"general";}`,
			map[string]any{"discussionid": int64(1), "forumid": int64(2), "forumtype": "general"}, false},
		{"php nested, float, bool, null, list", `a:4:{s:1:"a";a:2:{i:0;s:1:"x";i:1;s:1:"y";}s:1:"d";d:0.5;s:1:"b";b:1;s:1:"n";N;}`,
			map[string]any{"a": []any{"x", "y"}, "d": 0.5, "b": true, "n": nil}, false},
		{"php multibyte string length in bytes", `a:1:{s:4:"name";s:6:"café!";}`, map[string]any{"name": "café!"}, false},
		{"php object", `O:8:"stdClass":1:{s:1:"k";i:7;}`, map[string]any{"k": int64(7)}, false},
		{"json", `{"quizid":"1","attemptid":2,"grade":0.75,"list":[1,2]}`,
			map[string]any{"quizid": "1", "attemptid": int64(2), "grade": 0.75, "list": []any{int64(1), int64(2)}}, false},
		{"json null", "null", map[string]any{}, false},
		{"truncated php", `a:2:{s:1:"a";i:1;`, nil, true},
		{"bad length", `a:1:{s:9:"a";i:1;}`, nil, true},
		{"garbage", `x:1;`, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Other(Row{"other": tc.in})
			if tc.err {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, %v; want %#v", got, err, tc.want)
			}
		})
	}
}
