// Package suggest finds the did-you-mean for a misspelt name: of a key,
// runtime, provider, function, template, pattern operator or flag value.
// Every command and package uses it, so a typo gets the same help everywhere.
package suggest

import (
	"strings"
	"unicode/utf8"
)

// Distance returns the edit distance between a and b in runes, counting a
// swap of two neighbours as one edit (optimal string alignment), so "azrue"
// is one edit from "azure".
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 {
		return len(rb)
	}
	if len(rb) == 0 {
		return len(ra)
	}
	// Three rows: two back (for swaps), the previous and the current.
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

// Closest returns the option closest to s, or "" when none is close enough
// to be what the user meant. Case is ignored; ties go to the earlier option.
// Close enough is about one edit in three of the option's length (at least
// one, at most three); failing that, an option that s (of three letters or
// more) begins, the last such one ("node" suggests "nodejs22.x", the newest
// Node.js runtime).
func Closest(s string, options []string) string {
	if s == "" || utf8.RuneCountInString(s) > 64 {
		return ""
	}
	ls := strings.ToLower(s)
	best, bestD := "", 1<<30
	for _, o := range options {
		if d := Distance(ls, strings.ToLower(o)); d < bestD {
			best, bestD = o, d
		}
	}
	if best != "" && bestD <= max(1, min(3, utf8.RuneCountInString(best)/3)) {
		return best
	}
	prefixed := ""
	if utf8.RuneCountInString(s) >= 3 {
		for _, o := range options {
			if strings.HasPrefix(strings.ToLower(o), ls) {
				prefixed = o
			}
		}
	}
	return prefixed
}
