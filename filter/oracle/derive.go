package oracle

import (
	"strings"
	"unicode"
)

// EventFor returns an event built to come close to matching p: its fields
// hold values derived from p's candidates (the same, case-changed, extended,
// respelled, just inside or outside a bound), nested objects sometimes as
// arrays of objects, one or more $or branches taken.
func (g *Gen) EventFor(p *J) *J {
	ev := &J{K: 'o'}
	g.fill(ev, p)
	if g.p(0.3) {
		ev.Keys = append(ev.Keys, pick(g, names))
		ev.Vals = append(ev.Vals, g.eventValue(2))
	}
	if len(ev.Keys) == 0 {
		ev.Keys, ev.Vals = []string{"a"}, []*J{g.scalar()}
	}
	return ev
}

func (g *Gen) fill(ev, p *J) {
	if p.K != 'o' {
		return
	}
	for i, k := range p.Keys {
		v := p.Vals[i]
		if k == "$or" && v.K == 'a' {
			for _, b := range v.Vals {
				if g.p(0.5) {
					g.fill(ev, b)
				}
			}
			continue
		}
		if g.p(0.08) {
			continue // leave the field out
		}
		switch v.K {
		case 'o':
			if g.p(0.3) {
				a := arr()
				for j := 0; j < 1+g.n(3); j++ {
					o := &J{K: 'o'}
					g.fill(o, v)
					if g.p(0.3) && len(o.Keys) > 1 {
						j := g.n(len(o.Keys))
						o.Keys, o.Vals = append(o.Keys[:j:j], o.Keys[j+1:]...), append(o.Vals[:j:j], o.Vals[j+1:]...)
					}
					a.Vals = append(a.Vals, o)
				}
				ev.Keys, ev.Vals = append(ev.Keys, k), append(ev.Vals, a)
			} else {
				o := &J{K: 'o'}
				g.fill(o, v)
				ev.Keys, ev.Vals = append(ev.Keys, k), append(ev.Vals, o)
			}
		case 'a':
			if len(v.Vals) == 0 {
				continue
			}
			val := g.derive(pick(g, v.Vals))
			if val == nil {
				continue
			}
			if g.p(0.15) {
				val = arr(val, g.derive(pick(g, v.Vals)))
				if val.Vals[1] == nil {
					val.Vals = val.Vals[:1]
				}
			}
			ev.Keys, ev.Vals = append(ev.Keys, k), append(ev.Vals, val)
		}
	}
}

// derive returns an event value near candidate c (nil: leave the field out).
func (g *Gen) derive(c *J) *J {
	switch c.K {
	case 's':
		return g.nearStr(c.S)
	case 'n':
		return num(g.respell(c.S))
	case 'l':
		return lit(c.S)
	case 'o':
		if len(c.Keys) == 0 {
			return g.scalar()
		}
		op, a := c.Keys[0], c.Vals[0]
		switch op {
		case "prefix", "suffix", "equals-ignore-case", "exactly":
			s := ""
			if a.K == 's' {
				s = a.S
			} else if a.K == 'o' && len(a.Vals) > 0 {
				s = a.Vals[0].S
			}
			s = g.caseVariant(s)
			switch op {
			case "prefix":
				s += pick(g, []string{"", "x", "-1", "é"})
			case "suffix":
				s = pick(g, []string{"", "x", "ab/", "É"}) + s
			}
			return str(s)
		case "wildcard":
			if a.K != 's' {
				return g.scalar()
			}
			return str(strings.ReplaceAll(strings.ReplaceAll(a.S, "\\*", "*"), "*", pick(g, []string{"", "x", "*", "ab"})))
		case "anything-but":
			switch a.K {
			case 's', 'n':
				return g.derive(a)
			case 'a':
				if len(a.Vals) > 0 {
					return g.derive(pick(g, a.Vals))
				}
			case 'o':
				if len(a.Vals) > 0 {
					inner := a.Vals[0]
					if inner.K == 'a' && len(inner.Vals) > 0 {
						inner = pick(g, inner.Vals)
					}
					return g.derive(obj1(a.Keys[0], inner))
				}
			}
			return g.scalar()
		case "numeric":
			if a.K == 'a' && len(a.Vals) >= 2 {
				b := a.Vals[1+2*g.n(len(a.Vals)/2)]
				if b.K == 'n' {
					return num(g.respell(b.S))
				}
			}
			return num(pick(g, numPool))
		case "exists":
			if g.p(0.5) {
				return nil
			}
			return g.scalar()
		case "cidr":
			if a.K == 's' {
				base := a.S
				if i := strings.IndexByte(base, '/'); i >= 0 {
					base = base[:i]
				}
				return str(pick(g, []string{base, strings.Replace(base, "0", "1", 1), strings.ToUpper(base), "::ffff:" + base, base + "0"}))
			}
		}
	}
	return g.scalar()
}

var caseSets = [][]string{
	{"ß", "SS", "ss", "ẞ", "Ss"}, {"σ", "ς", "Σ"}, {"ǅ", "ǆ", "Ǆ"}, {"k", "K", "\u212a"}, {"i", "I", "İ", "ı"},
	{"s", "S", "ſ"}, {"µ", "μ", "Μ"}, {"ﬁ", "FI", "fi"}, {"𐐀", "𐐨"}, {"Å", "å", "\u212b"}, {"é", "É", "e\u0301"},
}

func (g *Gen) caseVariant(s string) string {
	switch g.n(6) {
	case 0:
		return s
	case 1:
		return strings.ToUpper(s)
	case 2:
		return strings.ToLower(s)
	case 3:
		for _, set := range caseSets {
			for _, x := range set {
				if strings.Contains(s, x) {
					return strings.Replace(s, x, pick(g, set), 1)
				}
			}
		}
		return strings.Map(unicode.SimpleFold, s)
	case 4:
		set := pick(g, caseSets)
		return s + pick(g, set)
	}
	return strings.Map(unicode.SimpleFold, s)
}

func (g *Gen) nearStr(s string) *J {
	if g.p(0.6) {
		return str(s)
	}
	return str(g.caseVariant(s))
}

func (g *Gen) respell(n string) string {
	switch g.n(6) {
	case 0:
		if strings.ContainsAny(n, ".eE") || strings.TrimLeft(n, "-") != "0" {
			return n + "0"
		}
	case 1:
		if !strings.ContainsAny(n, ".eE") {
			return n + ".0"
		}
	case 2:
		if !strings.ContainsAny(n, "eE") {
			return n + "e0"
		}
	case 3:
		return pick(g, numPool)
	}
	return n
}
