package filter

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Service limits and advisory thresholds checked by Lint.
const (
	MaxPatternLength  = 2048 // characters EventBridge accepts in one pattern
	MaxOrCombinations = 1000 // EventBridge's limit on the combinations $or expands to
	numericLimit      = 5e9  // older EventBridge numeric range
)

// envelope lists the top-level fields of an EventBridge event.
var envelope = map[string]bool{
	"version": true, "id": true, "detail-type": true, "source": true, "account": true,
	"time": true, "region": true, "resources": true, "detail": true, "replay-name": true,
	"$or": true,
}

// Lint returns warnings about a valid pattern: service limits it exceeds
// (length over 2048 characters, too many $or combinations) and likely
// mistakes (top-level fields an EventBridge event does not have, duplicate
// candidates, numbers outside EventBridge's documented numeric range).
func (p *Pattern) Lint() []string {
	var w []string
	if p.srcLen > MaxPatternLength {
		msg := fmt.Sprintf("the pattern is %d characters long; EventBridge accepts at most %d", p.srcLen, MaxPatternLength)
		if len(p.canon) <= MaxPatternLength {
			msg += fmt.Sprintf(" (without white space it is %d: minify it)", len(p.canon))
		}
		w = append(w, msg)
	} else if len(p.canon) > MaxPatternLength {
		w = append(w, fmt.Sprintf("the pattern is %d characters long without white space; EventBridge accepts at most %d", len(p.canon), MaxPatternLength))
	}
	if c := combinations(p.root); c > MaxOrCombinations {
		w = append(w, fmt.Sprintf("$or expands to %d combinations; EventBridge accepts at most %d: factor common fields out of the branches", c, MaxOrCombinations))
	}
	var unknown []string
	for _, f := range p.root.fields {
		if !envelope[f.name] {
			unknown = append(unknown, f.name)
		}
	}
	if len(unknown) > 0 {
		w = append(w, fmt.Sprintf("top-level field(s) %s are not part of the EventBridge envelope (version, id, detail-type, source, account, time, region, resources, detail); events put on a bus carry their data under \"detail\"", strings.Join(unknown, ", ")))
	}
	lintNode(p.root, &w)
	return w
}

func lintNode(n *pnode, w *[]string) {
	for _, b := range n.or {
		lintNode(b, w)
	}
	for _, f := range n.fields {
		if f.nested != nil {
			lintNode(f.nested, w)
			continue
		}
		seen := map[string]bool{}
		dup := false
		for i, m := range f.leaf {
			if seen[m.json] && !dup {
				*w = append(*w, fmt.Sprintf("%s[%d]: candidate %s is listed twice", f.path, i, m.json))
				dup = true
			}
			seen[m.json] = true
			var nums []float64
			switch {
			case m.op == opExactNum:
				nums = []float64{m.f}
			case m.op == opNumeric:
				if m.hasLo {
					nums = append(nums, m.lo)
				}
				if m.hasHi {
					nums = append(nums, m.hi)
				}
			case m.op == opAnythingBut && m.abOp == opExactNum:
				nums = m.nums
			}
			for _, x := range nums {
				if math.Abs(x) > numericLimit {
					*w = append(*w, fmt.Sprintf("%s[%d]: %g is outside -5e9..5e9, the numeric range EventBridge documents for exact precision", f.path, i, x))
					break
				}
			}
		}
	}
}

// combinations is the number of conjunctions the pattern expands to.
func combinations(n *pnode) int {
	c := 1
	for _, f := range n.fields {
		if f.nested != nil {
			c = satMul(c, combinations(f.nested))
		}
	}
	if n.or != nil {
		s := 0
		for _, b := range n.or {
			s += combinations(b)
			if s > 1<<30 {
				s = 1 << 30
			}
		}
		c = satMul(c, s)
	}
	return c
}

func satMul(a, b int) int {
	if a > 0 && b > (1<<30)/a {
		return 1 << 30
	}
	return a * b
}

var _ = sort.Strings
