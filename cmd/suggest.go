package cmd

// suggest returns the candidate closest to s for a did-you-mean, or "".
func suggest(s string, candidates []string) string { return suggestName(s, candidates) }
