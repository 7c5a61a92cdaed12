package rulerc

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// equals-ignore-case as event-ruler defines it (input/EqualsIgnoreCaseParser):
// each character c of the pattern matches exactly the text of Java's
// String.valueOf(c).toLowerCase(Locale.ROOT) or .toUpperCase(Locale.ROOT), so
// "ß" matches "ß" and "SS" (not "ss"), "σ" matches "σ" and "Σ" (not "ς"),
// "k" does not match the Kelvin sign. Two event-ruler bugs are not copied:
// a title-case letter (ǅ) also matches itself, and characters outside the
// BMP (which event-ruler turns into "?") follow the same rule with Go's
// case mappings.

func javaLower(r rune) string {
	if m, ok := javaCase[r]; ok {
		return m[0]
	}
	return string(unicode.ToLower(r))
}

func javaUpper(r rune) string {
	if m, ok := javaCase[r]; ok {
		return m[1]
	}
	return string(unicode.ToUpper(r))
}

func single(s string) (rune, bool) {
	r, n := utf8.DecodeRuneInString(s)
	return r, n == len(s) && r != utf8.RuneError
}

// regular reports whether r's case class is a simple pair: its lower and
// upper case are single characters L and U, r is one of them, and L and U map
// to each other. For a regular character, "equals ignoring case" is
// "FoldRune equal"; only patterns with irregular characters (ß, ς, ǅ, İ, ...)
// need ICSeq.
func regular(r rune) (upper rune, ok bool) {
	l, ok1 := single(javaLower(r))
	u, ok2 := single(javaUpper(r))
	if !ok1 || !ok2 || (r != l && r != u) {
		return 0, false
	}
	l2, ok3 := single(javaLower(u))
	u2, ok4 := single(javaUpper(l))
	if !ok3 || !ok4 || l2 != l || u2 != u {
		return 0, false
	}
	return u, true
}

var (
	foldOnce sync.Once
	foldBMP  []uint16
)

// FoldRune maps a regular character to its upper case and any other to
// itself: for a pattern of regular characters, an event string equals it
// ignoring case exactly when the two fold to the same text.
func FoldRune(r rune) rune {
	if r < 0x80 {
		if 'a' <= r && r <= 'z' {
			return r - ('a' - 'A')
		}
		return r
	}
	if r < 0x10000 {
		foldOnce.Do(func() {
			foldBMP = make([]uint16, 0x10000)
			for c := rune(0); c < 0x10000; c++ {
				foldBMP[c] = uint16(c)
				if u, ok := regular(c); ok && u < 0x10000 {
					foldBMP[c] = uint16(u)
				}
			}
		})
		return rune(foldBMP[r])
	}
	if u, ok := regular(r); ok {
		return u
	}
	return r
}

// ICSeq returns, for a pattern string with an irregular character, the
// texts each of its characters matches; nil when every character is regular
// (then compare folded strings).
func ICSeq(s string) [][]string {
	irregular := false
	for _, r := range s {
		if _, ok := regular(r); !ok && (unicode.ToLower(r) != r || unicode.ToUpper(r) != r || javaLower(r) != string(r) || javaUpper(r) != string(r)) {
			irregular = true
			break
		}
	}
	if !irregular {
		return nil
	}
	seq := make([][]string, 0, len(s))
	for _, r := range s {
		alts := []string{string(r)}
		for _, a := range []string{javaLower(r), javaUpper(r)} {
			if a != alts[0] && (len(alts) < 2 || a != alts[1]) {
				alts = append(alts, a)
			}
		}
		seq = append(seq, alts)
	}
	return seq
}

// Modes of MatchIC.
const (
	Equal = iota
	Prefix
	Suffix
)

// MatchIC reports whether s equals (Equal), starts with (Prefix) or ends
// with (Suffix) a text the sequence seq matches.
func MatchIC(seq [][]string, s string, mode int) bool {
	if mode == Suffix {
		for i := 0; i <= len(s); i++ {
			if matchAt(seq, s[i:], Equal) {
				return true
			}
		}
		return false
	}
	return matchAt(seq, s, mode)
}

func matchAt(seq [][]string, s string, mode int) bool {
	// offsets reachable after each character of the pattern
	cur := []int{0}
	for _, alts := range seq {
		var next []int
		for _, off := range cur {
			for _, a := range alts {
				if len(s)-off >= len(a) && s[off:off+len(a)] == a {
					next = appendOnce(next, off+len(a))
				}
			}
		}
		if len(next) == 0 {
			return false
		}
		cur = next
	}
	if mode == Prefix {
		return true
	}
	for _, off := range cur {
		if off == len(s) {
			return true
		}
	}
	return false
}

func appendOnce(xs []int, x int) []int {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}
