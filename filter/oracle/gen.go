package oracle

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode/utf16"
)

// J is a JSON value as the generator and minimiser see it: members keep
// their order and may repeat, numbers keep their spelling, and strings may be
// written with \u escapes.
type J struct {
	K    byte   // 'o' object, 'a' array, 's' string, 'n' number, 'l' literal (true, false, null)
	S    string // string value, or the number's/literal's text
	Esc  bool   // write non-ASCII and some ASCII of a string as \u escapes
	Keys []string
	Vals []*J
}

// Pair is one (pattern, event) pair as text.
type Pair struct {
	Pattern string `json:"pattern"`
	Event   string `json:"event"`
}

func (j *J) clone() *J {
	c := *j
	c.Keys = append([]string(nil), j.Keys...)
	c.Vals = make([]*J, len(j.Vals))
	for i, v := range j.Vals {
		c.Vals[i] = v.clone()
	}
	return &c
}

// String encodes j as JSON text.
func (j *J) String() string {
	var b strings.Builder
	j.write(&b)
	return b.String()
}

func (j *J) write(b *strings.Builder) {
	switch j.K {
	case 'o':
		b.WriteByte('{')
		for i, k := range j.Keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeStr(b, k, false)
			b.WriteByte(':')
			j.Vals[i].write(b)
		}
		b.WriteByte('}')
	case 'a':
		b.WriteByte('[')
		for i, v := range j.Vals {
			if i > 0 {
				b.WriteByte(',')
			}
			v.write(b)
		}
		b.WriteByte(']')
	case 's':
		writeStr(b, j.S, j.Esc)
	default:
		b.WriteString(j.S)
	}
}

func writeStr(b *strings.Builder, s string, esc bool) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(b, "\\u%04x", r)
		case esc && (r >= 0x80 || r == '*' || r == '/'):
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(b, "\\u%04X\\u%04x", r1, r2)
			} else {
				fmt.Fprintf(b, "\\u%04x", r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

func str(s string) *J        { return &J{K: 's', S: s} }
func num(s string) *J        { return &J{K: 'n', S: s} }
func lit(s string) *J        { return &J{K: 'l', S: s} }
func arr(v ...*J) *J         { return &J{K: 'a', Vals: v} }
func obj1(k string, v *J) *J { return &J{K: 'o', Keys: []string{k}, Vals: []*J{v}} }

// Gen generates (pattern, event) pairs.
type Gen struct {
	r *rand.Rand
}

// NewGen returns a generator seeded with seed.
func NewGen(seed uint64) *Gen { return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *Gen) n(k int) int         { return g.r.IntN(k) }
func (g *Gen) p(f float64) bool    { return g.r.Float64() < f }
func pick[T any](g *Gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

var names = []string{"a", "a", "b", "b", "c", "d", "a.b", "é", "x y", "prefix", "numeric", "exists"}

var strPool = []string{
	"", "a", "abc", "ABC", "Abc", "abcdef", "us-east-1", "us-west-2", "ap-south-1", "eu-west-1", "US-EAST-1",
	"10.0.0.1", "10.0.0.255", "10.1.2.3", "192.168.1.1", "0.0.0.0", "255.255.255.255", "::ffff:10.0.0.1",
	"2001:db8::1", "2001:DB8::1", "2001:0db8:0000::1", "fe80::1", "10.0.0.01", "010.0.0.1",
	"ß", "SS", "ss", "ẞ", "σ", "ς", "Σ", "ǅ", "ǆ", "Ǆ", "İ", "i", "I", "ı", "K", "k", "\u212a",
	"😀", "𐐀", "𐐨", "é", "É", "e\u0301", "日本", "Straße", "STRASSE",
	"a*b", "a*", "*b", "a\\*b", "x\"y", "tab\t", "line\n", "1", "1.0", "-0", "true", "null",
	"a.b", "abc.png", "ABC.PNG", "img/abc.png", "*",
}

var numPool = []string{
	"0", "-0", "0.0", "1", "1.0", "1e0", "10e-1", "100", "1e2", "1E2", "1.5", "-1.5", "2", "3", "5", "-5",
	"0.1", "0.30000000000000004", "1e-7", "9007199254740992", "9007199254740993", "9007199254740993.0",
	"12345678901234567890", "1e15", "1e20", "-1e9", "5e9", "4999999999.999999", "1.7976931348623157e308",
	"5e-324", "0.000001", "123456.789", "1e-9",
}

func (g *Gen) scalar() *J {
	switch x := g.n(20); {
	case x < 11:
		s := str(pick(g, strPool))
		s.Esc = g.p(0.1)
		return s
	case x < 18:
		return num(pick(g, numPool))
	default:
		return lit(pick(g, []string{"true", "false", "null"}))
	}
}

// Event returns a random event object.
func (g *Gen) Event() *J { return g.object(0, true) }

func (g *Gen) object(depth int, top bool) *J {
	o := &J{K: 'o'}
	n := 1 + g.n(4)
	if top {
		n++
	}
	for i := 0; i < n; i++ {
		k := pick(g, names)
		if g.p(0.03) && len(o.Keys) > 0 {
			k = o.Keys[0] // a repeated member name
		}
		o.Keys = append(o.Keys, k)
		o.Vals = append(o.Vals, g.eventValue(depth+1))
	}
	return o
}

func (g *Gen) eventValue(depth int) *J {
	x := g.n(20)
	switch {
	case depth < 3 && x < 4:
		return g.object(depth, false)
	case depth < 3 && x < 6: // an array of objects
		a := arr()
		for i := 0; i < 1+g.n(3); i++ {
			a.Vals = append(a.Vals, g.object(depth+1, false))
		}
		return a
	case x < 9:
		a := arr()
		for i := 0; i < g.n(4); i++ {
			if g.p(0.1) {
				a.Vals = append(a.Vals, arr(g.scalar()))
			} else {
				a.Vals = append(a.Vals, g.scalar())
			}
		}
		return a
	}
	return g.scalar()
}

// Pattern returns a random pattern object, invalid now and then.
func (g *Gen) Pattern() *J {
	p := g.pobject(0)
	if g.p(0.1) {
		g.corrupt(p)
	}
	return p
}

func (g *Gen) pobject(depth int) *J {
	o := &J{K: 'o'}
	n := 1 + g.n(3)
	for i := 0; i < n; i++ {
		if depth < 3 && g.p(0.12) {
			or := arr()
			for j := 0; j < 2+g.n(2); j++ {
				or.Vals = append(or.Vals, g.pobject(depth+1))
			}
			o.Keys = append(o.Keys, "$or")
			o.Vals = append(o.Vals, or)
			continue
		}
		k := pick(g, names)
		if g.p(0.03) && len(o.Keys) > 0 {
			k = o.Keys[0]
		}
		o.Keys = append(o.Keys, k)
		if depth < 2 && g.p(0.25) {
			o.Vals = append(o.Vals, g.pobject(depth+1))
		} else {
			o.Vals = append(o.Vals, g.leaf())
		}
	}
	return o
}

func (g *Gen) leaf() *J {
	a := arr()
	for i := 0; i < 1+g.n(3); i++ {
		a.Vals = append(a.Vals, g.candidate())
	}
	return a
}

func (g *Gen) sval() *J {
	s := str(pick(g, strPool))
	s.Esc = g.p(0.1)
	return s
}

func (g *Gen) strs() *J {
	if g.p(0.5) {
		return g.sval()
	}
	a := arr()
	for i := 0; i < 1+g.n(3); i++ {
		a.Vals = append(a.Vals, g.sval())
	}
	return a
}

var cidrPool = []string{
	"10.0.0.0/8", "10.0.0.0/24", "10.0.0.0/08", "10.0.0.1/32", "10.0.0.0", "0.0.0.0/0", "192.168.0.0/16",
	"10.0.0.5/24", "2001:db8::/32", "2001:DB8::/32", "::ffff:10.0.0.0/104", "::/0", "fe80::/10", "10.0.0.0/33",
	"10.0.0.0/-1", "2001:db8::1", "10.0.0.0/ 8", "1.2.3/24", "10.0.0.0/24 ",
}

var wildPool = []string{"*", "a*", "*b", "a*b", "*c*", "a**b", "a\\*b", "a\\\\*", "ab*.png", "*.png", "us-*-1", "*ß*", "\\x", "**", "a\\*"}

func (g *Gen) candidate() *J {
	switch g.n(16) {
	case 0, 1:
		return g.sval()
	case 2:
		return num(pick(g, numPool))
	case 3:
		return lit(pick(g, []string{"true", "false", "null"}))
	case 4:
		if g.p(0.2) {
			return obj1("prefix", obj1("equals-ignore-case", g.sval()))
		}
		return obj1("prefix", g.sval())
	case 5:
		if g.p(0.2) {
			return obj1("suffix", obj1("equals-ignore-case", g.sval()))
		}
		return obj1("suffix", g.sval())
	case 6:
		return obj1("equals-ignore-case", g.sval())
	case 7:
		return obj1("wildcard", str(pick(g, wildPool)))
	case 8, 9:
		return obj1("anything-but", g.anythingBut())
	case 10, 11:
		return obj1("numeric", g.numeric())
	case 12:
		return obj1("exists", lit(pick(g, []string{"true", "false"})))
	case 13:
		return obj1("cidr", str(pick(g, cidrPool)))
	case 14:
		if g.p(0.5) {
			return obj1("exactly", g.sval())
		}
		return obj1("anything-but", obj1("equals-ignore-case", g.strs()))
	}
	return g.sval()
}

func (g *Gen) anythingBut() *J {
	switch g.n(8) {
	case 0:
		return g.sval()
	case 1:
		return num(pick(g, numPool))
	case 2:
		a := arr()
		isNum := g.p(0.4)
		for i := 0; i < 1+g.n(3); i++ {
			if isNum {
				a.Vals = append(a.Vals, num(pick(g, numPool)))
			} else {
				a.Vals = append(a.Vals, g.sval())
			}
		}
		return a
	case 3:
		return obj1("prefix", g.strs())
	case 4:
		return obj1("suffix", g.strs())
	case 5:
		return obj1("equals-ignore-case", g.strs())
	case 6:
		if g.p(0.5) {
			return obj1("wildcard", str(pick(g, wildPool)))
		}
		return obj1("wildcard", arr(str(pick(g, wildPool)), str(pick(g, wildPool))))
	}
	return obj1("numeric", g.numeric())
}

var cmpOps = []string{"=", "<", "<=", ">", ">="}

func (g *Gen) numeric() *J {
	a := arr(str(pick(g, cmpOps)), num(pick(g, numPool)))
	if g.p(0.5) {
		a = arr(str(pick(g, []string{">", ">="})), num(pick(g, numPool)), str(pick(g, []string{"<", "<="})), num(pick(g, numPool)))
	}
	if g.p(0.05) {
		a.Vals[1] = str(a.Vals[1].S)
	}
	return a
}

// corrupt makes one random change that is likely to make a pattern invalid.
func (g *Gen) corrupt(p *J) {
	switch g.n(9) {
	case 0:
		p.Keys = append(p.Keys, p.Keys[0])
		p.Vals = append(p.Vals, p.Vals[0].clone())
	case 1:
		p.Keys = append(p.Keys, "z")
		p.Vals = append(p.Vals, arr())
	case 2:
		p.Keys = append(p.Keys, "z")
		p.Vals = append(p.Vals, g.scalar())
	case 3:
		p.Keys = append(p.Keys, "$or")
		p.Vals = append(p.Vals, arr(g.pobject(1)))
	case 4:
		p.Keys = append(p.Keys, "$or")
		p.Vals = append(p.Vals, arr(obj1("numeric", g.numeric()), obj1("prefix", g.sval())))
	case 5:
		p.Keys = append(p.Keys, "z")
		p.Vals = append(p.Vals, arr(obj1(pick(g, []string{"prefix", "suffix", "wildcard", "cidr", "equals-ignore-case"}), num(pick(g, numPool)))))
	case 6:
		p.Keys = append(p.Keys, "z")
		p.Vals = append(p.Vals, &J{K: 'o'})
	case 7:
		p.Keys = append(p.Keys, "z")
		p.Vals = append(p.Vals, arr(&J{K: 'o', Keys: []string{"prefix", "suffix"}, Vals: []*J{g.sval(), g.sval()}}))
	default:
		p.Keys = append(p.Keys, "z")
		p.Vals = append(p.Vals, arr(obj1("numeric", arr(str(pick(g, cmpOps)), num(pick(g, numPool)), str(pick(g, cmpOps)), num(pick(g, numPool))))))
	}
}

var _ = strconv.Itoa
