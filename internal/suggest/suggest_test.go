package suggest

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"verb", "verb", 0},
		{"verbb", "verb", 1},     // insertion
		{"archiv", "archive", 1}, // deletion
		{"dirver", "driver", 1},  // transposition
		{"databse", "database", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3},      // optimal string alignment, not unrestricted Damerau
		{"héllo", "hello", 1}, // runes, not bytes
	}
	for _, tt := range tests {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestClosest(t *testing.T) {
	tests := []struct {
		s          string
		candidates []string
		want       string // "" for no suggestion
	}{
		{"databse", []string{"listen", "database", "log"}, "database"},
		{"idd", []string{"id", "display"}, "id"},
		{"actr", []string{"actor", "verb", "object"}, "actor"},
		{"SECRT", []string{"KEY", "SECRET", "SCOPES"}, "SECRET"},
		{"Verb", []string{"verb", "object"}, "verb"},      // case differs only
		{"VERB", []string{"Verb", "verb"}, "Verb"},        // a tie: the first in sort order
		{"ab", []string{"xy"}, ""},                        // 2 edits in a short name: not a typo
		{"verbs", []string{"verb", "verbs"}, ""},          // known already
		{"scor", []string{"score", "scores"}, "score"},    // the closest wins
		{"abcdefghi", []string{"abcxyzghi"}, "abcxyzghi"}, // 3 edits in 9 letters
		{"abcdefgh", []string{"abcxyzgh"}, ""},            // 3 edits in 8 letters
		{"x", nil, ""},
	}
	for _, tt := range tests {
		got, ok := Closest(tt.s, tt.candidates)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Closest(%q, %q) = %q, %v; want %q, %v", tt.s, tt.candidates, got, ok, tt.want, tt.want != "")
		}
	}
}
