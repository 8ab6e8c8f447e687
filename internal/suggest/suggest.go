// Package suggest proposes, for a misspelt name, the known name it was
// probably meant to be: the "did you mean" of error messages.
package suggest

import "strings"

// Closest returns the candidate closest to s and true, if one is close
// enough to be a likely typo of s; otherwise "", false.
//
// Names are compared case-insensitively by optimal string alignment
// distance (Levenshtein distance with transpositions of adjacent letters
// counted as one edit). A candidate is close enough if it is at most
// max(1, len(s)/3) edits away (len in runes), so that short names allow one
// typo and longer ones proportionally more. Among equally close candidates
// the one that sorts first wins, whatever the order of candidates. A
// candidate equal to s suggests nothing: s is known.
func Closest(s string, candidates []string) (string, bool) {
	ls := strings.ToLower(s)
	best, bestD := "", -1
	for _, c := range candidates {
		d := Distance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(1, len([]rune(s))/3) || best == s {
		return "", false
	}
	return best, true
}

// Distance is the optimal string alignment distance between a and b (in
// runes, case-sensitive): the number of insertions, deletions,
// substitutions and transpositions of adjacent runes that turn a into b,
// no substring being edited more than once.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
