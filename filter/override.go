package filter

import "strings"

// A pattern that names a field twice — "a" twice in one object, or "a"
// outside an $or and again inside a branch — means what event-ruler makes
// of it (JsonRuleCompiler with rule overriding, EventBridge's setting): the
// pattern is read member by member into sub-rules keyed by field path, an
// $or forks every sub-rule so far once per branch, and a path given again
// replaces the earlier list in every sub-rule it reaches ("last one wins").
// Nested objects given twice are merged, path by path. See COMPATIBILITY.md,
// "Repeated field names".

type flatLeaf struct {
	segs []string
	val  *jval
}

type flatRule struct {
	leaves []flatLeaf
	at     map[string]int // joined path -> index in leaves
}

func (r *flatRule) clone() *flatRule {
	c := &flatRule{leaves: append([]flatLeaf(nil), r.leaves...), at: make(map[string]int, len(r.at))}
	for k, v := range r.at {
		c.at[k] = v
	}
	return c
}

type flattener struct {
	changed bool // a name repeated or a path overridden
	tooMany bool
}

// overrideRules reports whether v names some field path more than once in
// one sub-rule; if so it returns the equivalent pattern with every path once:
// the sub-rules as $or branches (or the one sub-rule itself).
func overrideRules(v *jval) (*jval, bool, error) {
	fl := &flattener{}
	rules := fl.object(v, nil, nil)
	if !fl.changed {
		return nil, false, nil
	}
	if fl.tooMany {
		return nil, false, perr("", "the pattern names a field more than once and expands to more than %d combinations of $or branches; give each field once", maxConjunctions)
	}
	objs := make([]*jval, len(rules))
	for i, r := range rules {
		objs[i] = r.object()
	}
	if len(objs) == 1 {
		return objs[0], true, nil
	}
	return &jval{k: kObj, keys: []string{"$or"}, vals: []*jval{{k: kArr, vals: objs}}}, true, nil
}

func (fl *flattener) object(v *jval, prefix []string, rules []*flatRule) []*flatRule {
	seen := make(map[string]bool, len(v.keys))
	for i, name := range v.keys {
		if seen[name] {
			fl.changed = true
		}
		seen[name] = true
		val := v.vals[i]
		switch {
		case name == "$or" && val.k == kArr:
			var out []*flatRule
			for _, b := range val.vals {
				fork := make([]*flatRule, 0, max(len(rules), 1))
				for _, r := range rules {
					fork = append(fork, r.clone())
				}
				if len(fork) == 0 {
					fork = append(fork, &flatRule{at: map[string]int{}})
				}
				if b.k == kObj {
					fork = fl.object(b, prefix, fork)
				}
				out = append(out, fork...)
				if len(out) > maxConjunctions {
					fl.tooMany = true
					return out[:maxConjunctions]
				}
			}
			rules = out
		case val.k == kObj:
			rules = fl.object(val, append(prefix[:len(prefix):len(prefix)], name), rules)
		default:
			if len(rules) == 0 {
				rules = append(rules, &flatRule{at: map[string]int{}})
			}
			segs := append(prefix[:len(prefix):len(prefix)], name)
			key := strings.Join(segs, "\x00")
			for _, r := range rules {
				if j, ok := r.at[key]; ok {
					r.leaves[j].val = val
					fl.changed = true
					continue
				}
				r.at[key] = len(r.leaves)
				r.leaves = append(r.leaves, flatLeaf{segs, val})
			}
		}
	}
	return rules
}

// object rebuilds a pattern object from a sub-rule's paths. A name that is
// both a leaf and an object gets two members (one of each).
func (r *flatRule) object() *jval {
	root := &jval{k: kObj}
	for _, l := range r.leaves {
		n := root
		for _, seg := range l.segs[:len(l.segs)-1] {
			var next *jval
			for i, k := range n.keys {
				if k == seg && n.vals[i].k == kObj {
					next = n.vals[i]
					break
				}
			}
			if next == nil {
				next = &jval{k: kObj}
				n.keys = append(n.keys, seg)
				n.vals = append(n.vals, next)
			}
			n = next
		}
		n.keys = append(n.keys, l.segs[len(l.segs)-1])
		n.vals = append(n.vals, l.val)
	}
	return root
}
