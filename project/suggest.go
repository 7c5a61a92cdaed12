package project

import (
	"strings"
	"unicode/utf8"
)

// levenshtein returns the edit distance between a and b in runes, counting
// a swap of two neighbours as one edit (optimal string alignment), so
// "azrue" is one edit from "azure".
func levenshtein(a, b string) int {
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

// suggest returns the option closest to s, or "" when none is close enough
// to be what the user meant. Case is ignored; ties go to the earlier option.
func suggest(s string, options []string) string {
	if s == "" || utf8.RuneCountInString(s) > 64 {
		return ""
	}
	ls := strings.ToLower(s)
	best, bestD := "", 1<<30
	for _, o := range options {
		d := levenshtein(ls, strings.ToLower(o))
		if d < bestD {
			best, bestD = o, d
		}
	}
	// Allow about one edit in three, at least one and at most three; a
	// prefix of at least three letters also counts; the last such option wins
	// ("node" suggests "nodejs22.x", the newest Node.js runtime).
	n := utf8.RuneCountInString(best)
	limit := max(1, min(3, n/3))
	if bestD <= limit {
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

// quoteList renders options as "a", "b" or "c".
func quoteList(options []string) string {
	var b strings.Builder
	for i, o := range options {
		switch {
		case i == 0:
		case i == len(options)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(`"` + o + `"`)
	}
	return b.String()
}
