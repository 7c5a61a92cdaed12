package filter

import (
	"math/rand"
	"strings"
	"testing"
)

// TestWords checks the word comparisons against the string functions on
// random short strings (at every capacity, so that both ways of reading a
// short string are covered) and ASCII folding against appendFold.
func TestWords(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	alphabet := "abAB\"\\z{`@[\x00\x7f\xc3\xa9"
	rnd := func(max int) string {
		b := make([]byte, r.Intn(max+1))
		for k := range b {
			b[k] = alphabet[r.Intn(len(alphabet))]
		}
		return string(b)
	}
	for n := 0; n < 50000; n++ {
		v := rnd(20)
		buf := []byte(v + rnd(10))
		b := buf[: len(v) : len(v)+r.Intn(len(buf)-len(v)+1)]
		h, tl := strWords(b)
		if wh, wt := wordsOf(v); wh != h || (len(v) > 0 && wt != tl) {
			t.Fatalf("%q: strWords %x %x, wordsOf %x %x", v, h, tl, wh, wt)
		}
		x := newAffix(rnd(18), 0)
		if got, want := x.equalWords(v, h, tl), x.s == v; got != want {
			t.Fatalf("equalWords(%q, %q) = %v", x.s, v, got)
		}
		if got, want := x.hasPrefixWords(v, h), strings.HasPrefix(v, x.s); got != want {
			t.Fatalf("hasPrefixWords(%q, %q) = %v", v, x.s, got)
		}
		if got, want := x.hasSuffixWords(v, tl), strings.HasSuffix(v, x.s); got != want {
			t.Fatalf("hasSuffixWords(%q, %q) = %v", v, x.s, got)
		}
		if len(v) <= 8 && (h&hi8) == 0 {
			f := string(appendFold(nil, v))
			if fh, _ := wordsOf(f); foldASCIIWord(h) != fh {
				t.Fatalf("foldASCIIWord(%q) = %x, want %x (%q)", v, foldASCIIWord(h), fh, f)
			}
		}
		// Exact and affix equality for a true prefix/suffix too.
		if len(v) > 0 {
			k := r.Intn(len(v) + 1)
			p, s := newAffix(v[:k], 0), newAffix(v[len(v)-k:], 0)
			if !p.hasPrefixWords(v, h) || !s.hasSuffixWords(v, tl) || !equalSelf(v, h, tl) {
				t.Fatalf("%q: own prefix/suffix of %d bytes not found", v, k)
			}
		}
	}
}

func equalSelf(v string, h, tl uint64) bool {
	x := newAffix(v, 0)
	return x.equalWords(v, h, tl)
}
