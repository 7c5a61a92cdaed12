package filter

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
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

// TestStrTables: a field with enough exact values, equals-ignore-case
// values, prefixes and suffixes (plain and ignore-case) to be kept in
// strTables matches as the reference evaluator does, for values and
// operands of every length class (under 8, 8, 9-16, over 16 bytes) and
// values that share their words but not their length.
func TestStrTables(t *testing.T) {
	ops := []string{"", "prefix", "suffix", "equals-ignore-case", "pi", "si"}
	vals := []string{"a", "ab", "abc", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "abcdefghijklmnopq",
		"abcdefghijklmnopqrstuvwxyz", "hgfedcba", "ponmlkjihgfedcba", "zyxwvutsrqponmlkjihgfedcba", "b", "ba", "Straße", "ÀÉÎ"}
	for _, op := range ops {
		rs := NewRuleSet()
		var ps []*Pattern
		for i, v := range vals {
			var c string
			switch op {
			case "":
				c = fmt.Sprintf("%q", v)
			case "pi":
				c = fmt.Sprintf(`{"prefix":{"equals-ignore-case":%q}}`, strings.ToUpper(v))
			case "si":
				c = fmt.Sprintf(`{"suffix":{"equals-ignore-case":%q}}`, strings.ToUpper(v))
			default:
				c = fmt.Sprintf(`{%q:%q}`, op, v)
			}
			p, err := Parse([]byte(`{"v":[` + c + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
			rs.Add(strconv.Itoa(i), p)
		}
		var evs []string
		for _, v := range vals {
			evs = append(evs, v, strings.ToUpper(v), v+"x", "x"+v, v+v, v[:len(v)-1], v[1:])
		}
		for _, v := range evs {
			if !utf8.ValidString(v) {
				continue
			}
			ev := []byte(fmt.Sprintf(`{"v":%q}`, v))
			got, err := rs.Match(ev)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i, p := range ps {
				if ok, _ := p.Match(ev); ok {
					want = append(want, strconv.Itoa(i))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s %q: RuleSet %v, reference %v", op, v, got, want)
			}
		}
	}
}

// TestStrTableBloom: a table of 1 to 600 strings finds each of its own,
// with its conditions, and nothing for strings it does not hold, whether
// its bloom word answers or its slots do.
func TestStrTableBloom(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	word := func() string {
		b := make([]byte, r.Intn(24))
		for k := range b {
			b[k] = "abc019XYZ"[r.Intn(9)]
		}
		return string(b)
	}
	for _, n := range []int{1, 5, 13, 40, 600} {
		m := map[string][]int32{}
		for len(m) < n {
			m[word()] = []int32{int32(len(m))}
		}
		tb := newStrTable(m)
		for s, cs := range m {
			h, tl := wordsOf(s)
			if got := tb.get(s, h, tl); fmt.Sprint(got) != fmt.Sprint(cs) {
				t.Fatalf("%d strings: get(%q) = %v, want %v", n, s, got, cs)
			}
		}
		rejected := 0
		for k := 0; k < 5000; k++ {
			s := word()
			h, tl := wordsOf(s)
			if got, want := tb.get(s, h, tl), m[s]; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%d strings: get(%q) = %v, want %v", n, s, got, want)
			}
			if b := bloomBit(strHash(h, tl, len(s))); tb.bloom[b>>6]>>(b&63)&1 == 0 {
				rejected++
			}
		}
		if n <= 40 && rejected == 0 {
			t.Errorf("%d strings: the bloom word rejected none of 5000 absent strings", n)
		}
	}
}
