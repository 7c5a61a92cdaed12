package project

import (
	"strings"

	textsuggest "github.com/evcli/evcli/internal/suggest"
)

// suggest returns the option closest to s, or "" (see suggest.Closest).
func suggest(s string, options []string) string { return textsuggest.Closest(s, options) }

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
