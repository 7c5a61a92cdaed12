package filter

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CompatNotes lists, for each construct of the pattern that COMPATIBILITY.md
// discusses, one line saying how EventBridge (its engine, event-ruler) reads
// it and where evcli deliberately differs. `evcli filter test -v` prints them.
func (p *Pattern) CompatNotes() []string {
	var notes []string
	seen := map[string]bool{}
	add := func(key, format string, args ...any) {
		if !seen[key] {
			seen[key] = true
			notes = append(notes, fmt.Sprintf(format, args...))
		}
	}
	if p.overridden {
		add("override", "a field is given more than once: the last one wins, path by path, also across $or branches, as EventBridge reads it (COMPATIBILITY.md, first table)")
	}
	var walk func(n *pnode, nested bool)
	walk = func(n *pnode, nested bool) {
		for _, b := range n.or {
			walk(b, nested)
		}
		for _, f := range n.fields {
			if strings.Contains(f.name, ".") {
				add("dot", "%s: a field name with a dot is one name here; EventBridge's engine also matches it against nested fields (%s), a difference evcli keeps (dotted-field-names)", f.path, strings.ReplaceAll(f.name, ".", " > "))
			}
			if f.nested != nil {
				walk(f.nested, true)
				continue
			}
			hasWildStar, hasICorSuffix := false, false
			for _, m := range f.leaf {
				notesFor(m, f, nested, add)
				if m.op == opWildcard && strings.HasPrefix(m.raw, `"*`) {
					hasWildStar = true
				}
				if m.op == opEqualsIC || m.op == opSuffix || m.op == opSuffixIC {
					hasICorSuffix = true
				}
			}
			if hasWildStar && hasICorSuffix {
				add("interfere", "%s: a leading-* wildcard beside equals-ignore-case or suffix: EventBridge's engine may match strings neither candidate matches; evcli matches their OR (ruler-candidates-interfere)", f.path)
			}
		}
	}
	walk(p.root, false)
	return notes
}

func notesFor(m *matcher, f *pfield, nested bool, add func(key, format string, args ...any)) {
	switch m.op {
	case opExactStr:
		if m.isIP {
			add("ip", "%s: %s is an IP address: it matches every spelling of the address (e.g. leading zeros, upper-case hex), as EventBridge does; {\"exactly\": ...} would not", f.path, m.json)
		}
		if strings.HasPrefix(m.json, `{"exactly"`) {
			add("exactly", "%s: \"exactly\" is not in EventBridge's documentation, though its engine accepts it", f.path)
		}
	case opExactNum:
		if !m.numOK {
			add("num"+m.raw, "%s: %s is not exactly a double: it matches only the same text, never another spelling or a numeric range (as EventBridge)", f.path, m.raw)
		}
		bigNum(m.f, f, add)
	case opNumeric:
		bigNum(m.lo, f, add)
		bigNum(m.hi, f, add)
	case opAnythingBut:
		if (m.abOp == opPrefix || m.abOp == opSuffix) && m.abList {
			add("ablist", "%s: anything-but with a list of prefixes or suffixes is not in EventBridge's documentation, though its engine accepts it", f.path)
		}
		if m.abOp == opEqualsIC {
			for _, s := range m.strs {
				icNote(s, f, add)
			}
		}
	case opEqualsIC, opPrefixIC, opSuffixIC:
		icNote(m.raw, f, add)
	case opCIDR:
		add("cidr", "%s: cidr matches strings only, IPv4-mapped IPv6 addresses only in hex form (::ffff:a00:1); EventBridge's engine also matches numbers and other-family addresses against wide ranges (cidr-range-bug)", f.path)
	case opExists:
		if !m.exists && nested {
			add("existsfalse", "%s: under an array of objects, exists:false alone holds only when no element has the field; beside a field that selects an element, in that element (EventBridge's engine decides by field-name order there: exists-false-order)", f.path)
		}
	}
}

func bigNum(x float64, f *pfield, add func(key, format string, args ...any)) {
	if x != 0 && math.Abs(x) < 2.2250738585072014e-308 || math.Abs(x) == math.MaxFloat64 {
		add("extreme", "%s: EventBridge's engine refuses or fails on subnormal numbers and the largest double; evcli compares them by value (jdk-double-tostring, ruler-crash)", f.path)
	}
}

func icNote(s string, f *pfield, add func(key, format string, args ...any)) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
		}
	}
	if ascii {
		return
	}
	add("ic", "%s: ignoring case beyond ASCII follows EventBridge: each character matches its lower or upper case only (ß matches SS, not ss; σ matches Σ, not ς)", f.path)
	for _, r := range s {
		switch {
		case r > 0xffff:
			add("icastral", "%s: EventBridge's engine cannot ignore case for characters outside the BMP (it fails even on identical ones); evcli matches them (ignore-case-astral)", f.path)
		case unicode.IsTitle(r):
			add("ictitle", "%s: EventBridge's engine does not match a title-case letter such as ǅ to itself ignoring case; evcli does (ignore-case-titlecase)", f.path)
		}
	}
}
