package oracle

import (
	"errors"
	"fmt"
	"strings"

	"github.com/evcli/evcli/filter"
)

// Evcli is evcli's outcome on a pair: Parse, then the compiled RuleSet (what
// the bus runs); inconsistent is set when Pattern.Match disagrees with it.
func Evcli(pattern, event string) (out Outcome, inconsistent bool) {
	p, err := filter.Parse([]byte(pattern))
	if err != nil {
		return PatternErr, false
	}
	want, err := p.Match([]byte(event))
	if err != nil {
		return EventErr, false
	}
	rs := filter.NewRuleSet()
	rs.Add("r", p)
	ids, rerr := rs.Match([]byte(event))
	got := rerr == nil && len(ids) == 1
	if rerr != nil && !errors.Is(rerr, filter.ErrNotObject) {
		return EventErr, true
	}
	out = NoMatch
	if want {
		out = Match
	}
	return out, got != want
}

// Disagreement is a pair on which evcli and the oracle differ.
type Disagreement struct {
	Pattern, Event string
	Evcli, Oracle  Outcome
	OracleErr      string
}

// Key is the pair of outcomes, e.g. "evcli=match oracle=nomatch".
func (d Disagreement) Key() string { return fmt.Sprintf("evcli=%s oracle=%s", d.Evcli, d.Oracle) }

// Minimise shrinks a disagreeing pair while keep holds: members and
// elements are dropped, values hoisted, strings shortened.
func Minimise(pat, ev *J, keep func(p, e *J) bool) (*J, *J) {
	for changed := true; changed; {
		changed = false
		for _, side := range []int{0, 1} {
			root := pat
			if side == 1 {
				root = ev
			}
			for _, cand := range shrinks(root) {
				p, e := pat, ev
				if side == 0 {
					p = cand
				} else {
					e = cand
				}
				if keep(p, e) {
					pat, ev, changed = p, e, true
					break
				}
			}
			if changed {
				break
			}
		}
	}
	return pat, ev
}

// shrinks lists the one-step simplifications of j, smallest first.
func shrinks(j *J) []*J {
	var out []*J
	var walk func(path []int)
	walk = func(path []int) {
		n := at(j, path)
		if n.K == 'o' || n.K == 'a' {
			for i := range n.Vals {
				c := j.clone()
				m := at(c, path)
				m.Vals = append(m.Vals[:i], m.Vals[i+1:]...)
				if m.K == 'o' {
					m.Keys = append(m.Keys[:i], m.Keys[i+1:]...)
				}
				out = append(out, c)
			}
			if n.K == 'a' && len(path) > 0 {
				for i := range n.Vals {
					c := j.clone()
					set(c, path, n.Vals[i].clone())
					out = append(out, c)
				}
			}
			for i := range n.Vals {
				walk(append(append([]int(nil), path...), i))
			}
			return
		}
		if n.K == 's' {
			if n.Esc {
				c := j.clone()
				at(c, path).Esc = false
				out = append(out, c)
			}
			if r := []rune(n.S); len(r) > 1 {
				for _, t := range []string{string(r[1:]), string(r[:len(r)-1])} {
					c := j.clone()
					at(c, path).S = t
					out = append(out, c)
				}
			}
		}
	}
	walk(nil)
	return out
}

func at(j *J, path []int) *J {
	for _, i := range path {
		j = j.Vals[i]
	}
	return j
}

func set(j *J, path []int, v *J) {
	p := at(j, path[:len(path)-1])
	p.Vals[path[len(path)-1]] = v
}

// Shape abstracts a value for grouping: strings become s (or u when
// non-ASCII, e when empty), numbers n, other literals stay.
func Shape(j *J) string {
	var b strings.Builder
	var w func(j *J)
	w = func(j *J) {
		switch j.K {
		case 'o':
			b.WriteByte('{')
			for i, k := range j.Keys {
				if i > 0 {
					b.WriteByte(',')
				}
				if isOp(k) {
					b.WriteString(k)
				} else {
					b.WriteString("K")
				}
				b.WriteByte(':')
				w(j.Vals[i])
			}
			b.WriteByte('}')
		case 'a':
			b.WriteByte('[')
			for i, v := range j.Vals {
				if i > 0 {
					b.WriteByte(',')
				}
				w(v)
			}
			b.WriteByte(']')
		case 's':
			switch {
			case j.S == "":
				b.WriteString("e")
			case strings.ContainsFunc(j.S, func(r rune) bool { return r >= 0x80 }):
				b.WriteString("u")
			default:
				b.WriteString("s")
			}
		case 'n':
			b.WriteString("n")
		default:
			b.WriteString(j.S)
		}
	}
	w(j)
	return b.String()
}

func isOp(k string) bool {
	switch k {
	case "$or", "prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr", "exactly":
		return true
	}
	return false
}
