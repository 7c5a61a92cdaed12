package oracle

import (
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/evcli/evcli/filter/internal/rulerc"
)

// The classes of disagreement filter/COMPATIBILITY.md decides as
// deliberate: evcli differs from event-ruler on purpose. A disagreement in no
// class is a bug to fix.
var deliberate = map[string]string{
	"jdk-double-tostring":        "event-ruler refuses a number JDK 17's Double.toString does not print shortest (5e-324): a JDK bug",
	"ruler-crash":                "event-ruler throws (ArrayIndexOutOfBoundsException) on a numeric bound of the largest double",
	"legacy-fallback":            "event-ruler reads a pattern its JSON compiler refuses with the legacy compiler ($or as a field name)",
	"event-duplicate-keys":       "an event repeats a member name: evcli reads the first, event-ruler all",
	"dotted-field-names":         "a field name with a dot is not a nested path in evcli (docs: same nesting structure)",
	"cidr-range-bug":             "event-ruler's cidr compares hex strings: a range matches numbers and addresses of the other family",
	"ip-canonical-exact":         "event-ruler matches an exact IP string against other spellings of the address (docs: exact, character by character)",
	"ignore-case-astral":         "event-ruler's equals-ignore-case fails on characters outside the BMP (even identical ones)",
	"ignore-case-titlecase":      "event-ruler's equals-ignore-case does not match a title-case letter (ǅ) to itself",
	"nondeterministic":           "event-ruler's verdict differs between two runs of the same pair",
	"ruler-candidates-interfere": "event-ruler contradicts itself: a field's list of candidates matches where no candidate alone does (a leading-* wildcard beside equals-ignore-case or suffix)",
	"event-number-precision":     "an event number that is not exactly a double (more than 15 digits) never matches a numeric range in event-ruler; evcli compares its nearest double",
	"exists-false-order":         "event-ruler checks an exists:false beside other fields under an array of objects in every element or in the selected one, by the fields' alphabetical order",
}

// Deliberate reports whether a class is one of the deliberate classes.
func Deliberate(class string) bool { _, ok := deliberate[class]; return ok }

// Classify names the class of a disagreement, re-asking the oracle about
// variants of the pair where that decides it. Unnamed classes are the
// outcome pair and the shape of the pattern.
func Classify(o *Oracle, d Disagreement, v Verdict) string {
	pat, err1 := ParseJ(d.Pattern)
	ev, err2 := ParseJ(d.Event)
	if err1 != nil || err2 != nil {
		return d.Key() + " (not JSON)"
	}
	msg := v.Err
	if v.Legacy {
		msg = v.JSONErr // what EventBridge's JSON compiler said before the legacy retry
	}
	if (d.Oracle == PatternErr || v.Legacy) && strings.Contains(msg, "Cannot compare number : ") {
		n := msg[strings.Index(msg, "Cannot compare number : ")+len("Cannot compare number : "):]
		if i := strings.IndexAny(n, "\n "); i >= 0 {
			n = n[:i]
		}
		if rulerc.NumComparable(n) {
			return "jdk-double-tostring"
		}
	}
	if (d.Oracle == PatternErr || v.Legacy) && strings.Contains(msg, "ArrayIndexOutOfBounds") {
		return "ruler-crash"
	}
	if hasSubnormal(pat) || hasSubnormal(ev) {
		return "jdk-double-tostring"
	}
	if d.Evcli == Match && d.Oracle == NoMatch && strings.Contains(d.Pattern, `"numeric"`) && hasIncomparable(ev) {
		return "event-number-precision"
	}
	if v.Legacy && d.Evcli == PatternErr {
		return "legacy-fallback"
	}
	ask := func(p, e *J) Outcome { return o.EvalAll([]Pair{{p.String(), e.String()}})[0].Outcome }
	if hasDupKeys(ev) {
		e2 := dedupe(ev.clone())
		w := o.EvalAll([]Pair{{pat.String(), e2.String()}})[0]
		if w.Outcome == d.Evcli {
			return "event-duplicate-keys"
		}
		// Without the repeats both verdicts stand (evcli reads the first
		// occurrence, which dedupe keeps): the repeats are not the cause,
		// the pair without them is classified instead.
		if x, _ := Evcli(pat.String(), e2.String()); x == d.Evcli && w.Outcome == d.Oracle {
			return Classify(o, Disagreement{Pattern: pat.String(), Event: e2.String(), Evcli: x, Oracle: w.Outcome, OracleErr: w.Err}, w)
		}
	}
	if hasDot(pat) || hasDot(ev) {
		p2, e2 := undot(pat.clone()), undot(ev.clone())
		if x, _ := Evcli(p2.String(), e2.String()); x == d.Evcli && ask(p2, e2) == d.Evcli {
			return "dotted-field-names"
		}
	}
	ps := pat.String()
	if strings.Contains(ps, `"equals-ignore-case"`) {
		if hasRune(pat, ev, func(r rune) bool { return r > 0xffff }) {
			return "ignore-case-astral"
		}
		if hasRune(pat, ev, unicode.IsTitle) {
			return "ignore-case-titlecase"
		}
	}
	if strings.Contains(ps, `"exists":false`) && hasArrayOfObjects(ev) {
		for _, only := range []bool{false, true} {
			p2, e2 := existsLast(pat.clone(), ev.clone(), only)
			if x, _ := Evcli(p2.String(), e2.String()); x == d.Evcli && ask(p2, e2) == d.Evcli {
				return "exists-false-order"
			}
		}
	}
	if d.Evcli != PatternErr && d.Oracle != PatternErr && interfere(o, pat, ev) {
		return "ruler-candidates-interfere"
	}
	if d.Evcli == NoMatch && d.Oracle == Match && cidrOddValue(pat, ev) {
		return "cidr-range-bug"
	}
	if again := o.EvalAll([]Pair{{d.Pattern, d.Event}})[0].Outcome; again != d.Oracle {
		return "nondeterministic"
	}
	return d.Key() + " " + Shape(pat)
}

func walk(j *J, fn func(*J)) {
	fn(j)
	for _, v := range j.Vals {
		walk(v, fn)
	}
}

func hasDupKeys(j *J) bool {
	dup := false
	walk(j, func(n *J) {
		seen := map[string]bool{}
		for _, k := range n.Keys {
			if seen[k] {
				dup = true
			}
			seen[k] = true
		}
	})
	return dup
}

func dedupe(j *J) *J {
	walk(j, func(n *J) {
		if n.K != 'o' {
			return
		}
		seen := map[string]bool{}
		var ks []string
		var vs []*J
		for i, k := range n.Keys {
			if !seen[k] {
				ks, vs = append(ks, k), append(vs, n.Vals[i])
			}
			seen[k] = true
		}
		n.Keys, n.Vals = ks, vs
	})
	return j
}

func hasDot(j *J) bool {
	dot := false
	walk(j, func(n *J) {
		for _, k := range n.Keys {
			if strings.Contains(k, ".") {
				dot = true
			}
		}
	})
	return dot
}

func undot(j *J) *J {
	walk(j, func(n *J) {
		for i, k := range n.Keys {
			n.Keys[i] = strings.ReplaceAll(k, ".", "_")
		}
	})
	return j
}

func strs(j *J) []string {
	var out []string
	walk(j, func(n *J) {
		if n.K == 's' {
			out = append(out, n.S)
		}
	})
	return out
}

func hasRune(pat, ev *J, fn func(rune) bool) bool {
	for _, s := range append(strs(pat), strs(ev)...) {
		if strings.IndexFunc(s, fn) >= 0 {
			return true
		}
	}
	return false
}

func hasArrayOfObjects(j *J) bool {
	found := false
	walk(j, func(n *J) {
		if n.K == 'a' {
			for _, e := range n.Vals {
				if e.K == 'o' {
					found = true
				}
			}
		}
	})
	return found
}

// existsLast renames, in pattern and event alike, every field that holds an
// exists:false candidate (or a field below it that does) so that it sorts
// after all others (event-ruler checks fields in name order). Fields are
// renamed by path, not by name: in {"b":{"a":[{"exists":false}],"b":[…]}}
// the outer b is renamed, the inner one (the selecting field) is not. The
// renaming changes nothing for evcli; if event-ruler then agrees with evcli,
// the order decided.
//
// With only set, a field counts only when all its candidates are
// exists:false: one that mixes exists:false with others may be the field
// that selects the element (it matched by another candidate).
func existsLast(p, e *J, only bool) (*J, *J) {
	paths := map[string]bool{} // field paths joined by \x00; $or adds no segment
	var mark func(n *J, prefix string)
	mark = func(n *J, prefix string) {
		if n.K != 'o' {
			return
		}
		for i, k := range n.Keys {
			v := n.Vals[i]
			switch {
			case k == "$or" && v.K == 'a':
				for _, b := range v.Vals {
					mark(b, prefix)
				}
			case v.K == 'o':
				if hasExistsFalseBelow(v, only) {
					paths[prefix+k] = true
				}
				mark(v, prefix+k+"\x00")
			case hasExistsFalse(v, only):
				paths[prefix+k] = true
			}
		}
	}
	mark(p, "")
	var rename func(n *J, prefix string, inPattern bool)
	rename = func(n *J, prefix string, inPattern bool) {
		switch n.K {
		case 'a':
			if inPattern {
				return // a candidate list
			}
			for _, v := range n.Vals {
				rename(v, prefix, false)
			}
		case 'o':
			for i, k := range n.Keys {
				v := n.Vals[i]
				if inPattern && k == "$or" && v.K == 'a' {
					for _, b := range v.Vals {
						rename(b, prefix, true)
					}
					continue
				}
				if paths[prefix+k] {
					n.Keys[i] = "\uffff" + k
				}
				rename(v, prefix+k+"\x00", inPattern)
			}
		}
	}
	rename(p, "", true)
	rename(e, "", false)
	return p, e
}

// walkFields calls fn on the pattern's objects of fields (not on operator
// objects inside candidate lists).
func walkFields(p *J, fn func(*J)) {
	if p.K != 'o' {
		return
	}
	fn(p)
	for i, v := range p.Vals {
		switch {
		case v.K == 'o':
			walkFields(v, fn)
		case p.Keys[i] == "$or" || p.Keys[i] == "\uffff$or":
			for _, b := range v.Vals {
				walkFields(b, fn)
			}
		}
	}
}

func hasExistsFalseBelow(v *J, only bool) bool {
	found := false
	walk(v, func(n *J) {
		if n.K == 'a' && hasExistsFalse(n, only) {
			found = true
		}
	})
	return found
}

// hasExistsFalse reports whether the candidate list v has an exists:false
// (with only: has one and nothing else).
func hasExistsFalse(v *J, only bool) bool {
	if v.K != 'a' {
		return false
	}
	found, other := false, false
	for _, c := range v.Vals {
		if c.K == 'o' && len(c.Keys) == 1 && c.Keys[0] == "exists" && c.Vals[0].S == "false" {
			found = true
		} else {
			other = true
		}
	}
	return found && !(only && other)
}

// hasSubnormal reports a number below the smallest normal double, where JDK
// 17's Double.toString is not the shortest (JDK-4511638: 4.9E-324).
func hasSubnormal(j *J) bool {
	found := false
	walk(j, func(n *J) {
		if n.K == 'n' {
			if f, err := strconv.ParseFloat(n.S, 64); err == nil && f != 0 && math.Abs(f) < 2.2250738585072014e-308 {
				found = true
			}
		}
	})
	return found
}

// interfere reports whether, for some field with several candidates, the
// oracle's verdict differs from the OR of its verdicts with each candidate
// alone (the other fields as they are).
func interfere(o *Oracle, pat, ev *J) bool {
	var leaves []*J
	walk(pat, func(n *J) {
		if n.K == 'o' {
			for i, k := range n.Keys {
				if v := n.Vals[i]; k != "$or" && v.K == 'a' && len(v.Vals) > 1 {
					leaves = append(leaves, v)
				}
			}
		}
	})
	whole := o.EvalAll([]Pair{{pat.String(), ev.String()}})[0].Outcome
	for _, l := range leaves {
		all := l.Vals
		any := false
		for _, c := range all {
			l.Vals = []*J{c}
			if o.EvalAll([]Pair{{pat.String(), ev.String()}})[0].Outcome == Match {
				any = true
			}
		}
		l.Vals = all
		if any != (whole == Match) {
			return true
		}
	}
	return false
}

// cidrOddValue reports whether the event has, under the name of a field with
// a cidr candidate, a number, or an address while a cidr of the other family
// is there: what event-ruler's hex-string ranges match and evcli's do not.
func cidrOddValue(pat, ev *J) bool {
	fams := map[string]map[bool]bool{} // field name -> IPv4-ness of its cidrs
	walkFields(pat, func(n *J) {
		for i, k := range n.Keys {
			if v := n.Vals[i]; v.K == 'a' {
				for _, c := range v.Vals {
					if c.K == 'o' && len(c.Keys) == 1 && c.Keys[0] == "cidr" && c.Vals[0].K == 's' {
						if fams[k] == nil {
							fams[k] = map[bool]bool{}
						}
						fams[k][!strings.Contains(c.Vals[0].S, ":")] = true
					}
				}
			}
		}
	})
	odd := false
	var look func(name string, v *J)
	look = func(name string, v *J) {
		f := fams[name]
		switch {
		case f == nil:
		case v.K == 'n':
			odd = true
		case v.K == 's':
			if a, ok := rulerc.JavaIP(v.S); ok && f[!a.Is4()] {
				odd = true
			}
		case v.K == 'a':
			for _, e := range v.Vals {
				look(name, e)
			}
		}
	}
	walk(ev, func(n *J) {
		if n.K == 'o' {
			for i, k := range n.Keys {
				look(k, n.Vals[i])
			}
		}
	})
	return odd
}

func hasIncomparable(j *J) bool {
	found := false
	walk(j, func(n *J) {
		if n.K == 'n' && !rulerc.NumComparable(n.S) {
			found = true
		}
	})
	return found
}
