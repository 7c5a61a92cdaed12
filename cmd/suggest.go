package cmd

import textsuggest "github.com/evcli/evcli/internal/suggest"

// suggest returns the candidate closest to s for a did-you-mean, or "".
func suggest(s string, candidates []string) string { return textsuggest.Closest(s, candidates) }
