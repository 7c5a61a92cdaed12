package filter

import (
	"github.com/evcli/evcli/filter/internal/rulerc"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// bstr views b as a string without copying; the string must not outlive a
// change to b.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// fold returns s with every rune replaced by foldRune, so that for a pattern
// string p without irregular characters (rulerc.ICSeq(p) == nil), an event
// string s equals p ignoring case, as EventBridge decides, exactly when
// fold(s) == fold(p). Invalid UTF-8 bytes are kept as they are.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || ('a' <= c && c <= 'z') {
			return string(appendFold(nil, s))
		}
	}
	return s
}

func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < 0x80 {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
			i++
			continue
		}
		dst = utf8.AppendRune(dst, foldRune(r))
		i += n
	}
	return dst
}

// foldRune is equals-ignore-case's fold (rulerc.FoldRune): a character
// whose case class is a simple pair folds to its upper case, any other to
// itself; patterns with such other characters match through ICSeq instead.
func foldRune(r rune) rune { return rulerc.FoldRune(r) }

// wildcard is a compiled wildcard: literal pieces between unescaped '*'.
type wildcard struct {
	lits []string
	ends [2]affix // the first and last pieces with their words
	// minLen is the length of the first and last pieces (of the only
	// piece when there is no star); middle is set when there are pieces
	// between the first and the last.
	minLen int
	middle bool
}

// parseWildcard compiles s; the second result is a message when s is invalid.
func parseWildcard(s string) (*wildcard, string) {
	w := &wildcard{}
	var cur strings.Builder
	prevStar := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*':
			if prevStar {
				return nil, "consecutive wildcard characters (**) are not allowed; one * already matches any run of characters"
			}
			w.lits = append(w.lits, cur.String())
			cur.Reset()
			prevStar = true
			continue
		case '\\':
			if i+1 >= len(s) || (s[i+1] != '*' && s[i+1] != '\\') {
				return nil, `a backslash in a wildcard must escape * or \ (write \* for a literal star, \\ for a backslash)`
			}
			i++
			cur.WriteByte(s[i])
		default:
			cur.WriteByte(c)
		}
		prevStar = false
	}
	w.lits = append(w.lits, cur.String())
	w.ends = [2]affix{newAffix(w.lits[0], 0), newAffix(w.lits[len(w.lits)-1], 0)}
	w.minLen = len(w.lits[0]) + len(w.lits[len(w.lits)-1])
	if len(w.lits) == 1 {
		w.minLen = len(w.lits[0])
	}
	w.middle = len(w.lits) > 2
	return w, ""
}

func (w *wildcard) match(v string) bool {
	lits := w.lits
	if len(lits) == 1 {
		return v == lits[0]
	}
	first, last := lits[0], lits[len(lits)-1]
	if len(v) < len(first)+len(last) || !strings.HasPrefix(v, first) || !strings.HasSuffix(v, last) {
		return false
	}
	v = v[len(first) : len(v)-len(last)]
	for _, lit := range lits[1 : len(lits)-1] {
		i := strings.Index(v, lit)
		if i < 0 {
			return false
		}
		v = v[i+len(lit):]
	}
	return true
}

// matchWords is match for v with words head and tail (strWords).
func (w *wildcard) matchWords(v string, head, tail uint64) bool {
	if len(v) < w.minLen {
		return false
	}
	if len(w.lits) == 1 {
		return v == w.lits[0]
	}
	return w.ends[0].hasPrefixWords(v, head) && w.ends[1].hasSuffixWords(v, tail) && (!w.middle || w.matchMiddle(v))
}

// matchMiddle reports whether the middle pieces occur in order between the
// first and the last piece of v (which has them).
func (w *wildcard) matchMiddle(v string) bool {
	lits := w.lits
	v = v[len(lits[0]) : len(v)-len(lits[len(lits)-1])]
	for _, lit := range lits[1 : len(lits)-1] {
		var i int
		if len(lit) == 1 {
			i = strings.IndexByte(v, lit[0])
		} else {
			i = strings.Index(v, lit)
		}
		if i < 0 {
			return false
		}
		v = v[i+len(lit):]
	}
	return true
}

// needsFold reports whether matching needs the case-folded value.
func (m *matcher) needsFold() bool {
	switch m.op {
	case opPrefixIC, opSuffixIC, opEqualsIC:
		return true
	case opAnythingBut:
		return m.abOp == opEqualsIC
	}
	return false
}

// matchScalar reports whether m matches one scalar event value: k its kind,
// s its decoded string (for strings), f its value (for numbers).
func (m *matcher) matchScalar(k kind, s string, f float64) bool {
	fs := ""
	if k == kStr && m.needsFold() {
		fs = fold(s)
	}
	return m.matchScalarF(k, s, fs, f)
}

// matchScalarF is matchScalar with fs = fold(s) given by the caller (needed
// only when m.needsFold()).
func (m *matcher) matchScalarF(k kind, s, fs string, f float64) bool {
	switch m.op {
	case opExactStr:
		if m.isIP && k == kStr && s != m.s {
			a, ok := rulerc.JavaIP(s)
			return ok && a == m.ip
		}
		return k == kStr && s == m.s
	case opExactNum:
		if !m.numOK {
			return k == kNum && s == m.raw
		}
		return k == kNum && f == m.f && rulerc.NumComparable(s)
	case opNull:
		return k == kNull
	case opTrue:
		return k == kTrue
	case opFalse:
		return k == kFalse
	case opPrefix:
		return k == kStr && strings.HasPrefix(s, m.s)
	case opSuffix:
		return k == kStr && strings.HasSuffix(s, m.s)
	case opPrefixIC:
		if m.ica != nil {
			return k == kStr && rulerc.MatchIC(m.ica, s, rulerc.Prefix)
		}
		return k == kStr && strings.HasPrefix(fs, m.s)
	case opSuffixIC:
		if m.ica != nil {
			return k == kStr && rulerc.MatchIC(m.ica, s, rulerc.Suffix)
		}
		return k == kStr && strings.HasSuffix(fs, m.s)
	case opEqualsIC:
		if m.ica != nil {
			return k == kStr && rulerc.MatchIC(m.ica, s, rulerc.Equal)
		}
		return k == kStr && fs == m.s
	case opWildcard:
		return k == kStr && m.wc.match(s)
	case opAnythingBut:
		return !m.abMatches(k, s, fs, f)
	case opNumeric:
		return k == kNum && m.inRange(f)
	case opExists:
		return m.exists
	case opCIDR:
		return k == kStr && m.cidrContains(s)
	}
	return false
}

// abMatches reports whether the matcher wrapped by anything-but matches.
func (m *matcher) abMatches(k kind, s, fs string, f float64) bool {
	switch m.abOp {
	case opExactStr:
		if k != kStr {
			return false
		}
		for _, x := range m.strs {
			if x == s {
				return true
			}
		}
	case opExactNum:
		if k != kNum || !rulerc.NumComparable(s) {
			return false
		}
		for _, x := range m.nums {
			if x == f {
				return true
			}
		}
	case opPrefix:
		if k != kStr {
			return false
		}
		for _, x := range m.strs {
			if strings.HasPrefix(s, x) {
				return true
			}
		}
	case opSuffix:
		if k != kStr {
			return false
		}
		for _, x := range m.strs {
			if strings.HasSuffix(s, x) {
				return true
			}
		}
	case opEqualsIC:
		if k != kStr {
			return false
		}
		for i, x := range m.strs {
			if m.icas != nil && m.icas[i] != nil {
				if rulerc.MatchIC(m.icas[i], s, rulerc.Equal) {
					return true
				}
			} else if x == fs {
				return true
			}
		}
	case opWildcard:
		if k != kStr {
			return false
		}
		for _, w := range m.wcs {
			if w.match(s) {
				return true
			}
		}
	}
	return false
}

func (m *matcher) inRange(f float64) bool {
	if m.hasLo && (f < m.lo || (f == m.lo && !m.loIncl)) {
		return false
	}
	if m.hasHi && (f > m.hi || (f == m.hi && !m.hiIncl)) {
		return false
	}
	return f == f // not NaN
}

func (m *matcher) cidrContains(s string) bool {
	a, ok := rulerc.JavaIP(s)
	return ok && m.prefix.Contains(a)
}
