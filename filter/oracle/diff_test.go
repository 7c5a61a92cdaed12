package oracle

import (
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"
)

var (
	diffN    = flag.Int("diff.n", 2000, "pairs the differential fuzzer generates")
	diffSeed = flag.Uint64("diff.seed", 1, "the generator's seed")
	diffMin  = flag.Int("diff.min", 3, "disagreements minimised per class")
)

func startOracle(t *testing.T) *Oracle {
	t.Helper()
	path, ok := Path()
	if !ok {
		t.Skipf("%v (looked for %s)", ErrAbsent, path)
	}
	o, err := Start(path)
	if err != nil {
		t.Skipf("oracle: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// TestDiff is the differential fuzzer: go test ./filter/oracle -run TestDiff
// -diff.n=200000 -v. It reports every disagreement by class, with counts and
// minimised examples; it fails on a disagreement outside the deliberate
// classes of COMPATIBILITY.md.
func TestDiff(t *testing.T) {
	o := startOracle(t)
	g := NewGen(*diffSeed)
	const batch = 5000
	type group struct {
		n        int
		examples []Disagreement
	}
	classes := map[string]*group{}
	inconsistent := 0
	total := 0
	for total < *diffN {
		n := min(batch, *diffN-total)
		pairs := make([]Pair, n)
		trees := make([][2]*J, n)
		for i := range pairs {
			p := g.Pattern()
			e := g.Event()
			if i%3 != 0 {
				e = g.EventFor(p)
			}
			trees[i] = [2]*J{p, e}
			pairs[i] = Pair{p.String(), e.String()}
		}
		verdicts := o.EvalAll(pairs)
		for i, v := range verdicts {
			ev, inc := Evcli(pairs[i].Pattern, pairs[i].Event)
			if inc {
				inconsistent++
				t.Errorf("evcli RuleSet and Pattern.Match disagree: %s %s", pairs[i].Pattern, pairs[i].Event)
			}
			if sameOutcome(ev, v.Outcome) {
				continue
			}
			d := Disagreement{Pattern: pairs[i].Pattern, Event: pairs[i].Event, Evcli: ev, Oracle: v.Outcome, OracleErr: v.Err}
			cls := Classify(o, d, v)
			gr := classes[cls]
			if gr == nil {
				gr = &group{}
				classes[cls] = gr
			}
			gr.n++
			if len(gr.examples) < *diffMin {
				if v.Outcome != Hang {
					keep := func(p, e *J) bool {
						ps, es := p.String(), e.String()
						if x, _ := Evcli(ps, es); x != ev {
							return false
						}
						w := o.EvalAll([]Pair{{ps, es}})[0]
						if w.Outcome != v.Outcome {
							return false
						}
						c := Classify(o, Disagreement{Pattern: ps, Event: es, Evcli: ev, Oracle: w.Outcome, OracleErr: w.Err}, w)
						return c == cls || !Deliberate(cls) && !Deliberate(c)
					}
					mp, me := Minimise(trees[i][0], trees[i][1], keep)
					d.Pattern, d.Event = mp.String(), me.String()
				}
				gr.examples = append(gr.examples, d)
			}
		}
		total += n
	}
	keys := make([]string, 0, len(classes))
	disagree := 0
	unexplained := 0
	for k, gr := range classes {
		keys = append(keys, k)
		disagree += gr.n
		if !Deliberate(k) {
			unexplained += gr.n
		}
	}
	sort.Slice(keys, func(i, j int) bool { return classes[keys[i]].n > classes[keys[j]].n })
	var b strings.Builder
	fmt.Fprintf(&b, "%d pairs, %d disagreements (%.3f%%), %d outside the deliberate classes, %d RuleSet/Pattern.Match inconsistencies\n",
		total, disagree, 100*float64(disagree)/float64(total), unexplained, inconsistent)
	for _, k := range keys {
		gr := classes[k]
		fmt.Fprintf(&b, "%7d  %s (deliberate: %v)\n", gr.n, k, Deliberate(k))
		for _, d := range gr.examples {
			fmt.Fprintf(&b, "           %s  %s  %s %s\n", d.Pattern, d.Event, d.Key(), d.OracleErr)
		}
	}
	t.Log("\n" + b.String())
	if unexplained > 0 {
		t.Errorf("%d disagreements outside the deliberate classes of filter/COMPATIBILITY.md", unexplained)
	}
}

// sameOutcome: evcli and the oracle agree. An event error on either side
// counts as agreement with "no match" only when both engines reject.
func sameOutcome(a, b Outcome) bool { return a == b }
