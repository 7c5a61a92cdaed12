package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrNotObject is returned (wrapped) for an event that is not a JSON object.
var ErrNotObject = errors.New("an event must be a JSON object")

func decodeEvent(event []byte) (*jval, error) {
	v, err := decodeJSON(event)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotObject, err)
	}
	if v.k != kObj {
		return nil, fmt.Errorf("%w, not %s %s", ErrNotObject, article(v.k), v.k)
	}
	return v, nil
}

// Match reports whether event matches the pattern. The error is non-nil only
// for an event that is not a JSON object (its message says where).
func (p *Pattern) Match(event []byte) (bool, error) {
	v, err := decodeEvent(event)
	if err != nil {
		return false, err
	}
	return evalNode(p.root, v), nil
}

// flatten appends the non-array values of v (v itself, or the elements of v
// and of nested arrays) to dst.
func flatten(dst []*jval, v *jval) []*jval {
	if v == nil {
		return dst
	}
	if v.k != kArr {
		return append(dst, v)
	}
	for _, e := range v.vals {
		dst = flatten(dst, e)
	}
	return dst
}

// evalNode evaluates a pattern (or a part of one) on a decoded event.
func evalNode(n *pnode, root *jval) bool { return evalIn(n, root, nil) }

// arrCtx is where an exists:false is checked when nothing pins an array
// element: in every element of the outermost array of objects above it that
// no positive condition has pinned (elems), at the path rel below them. As
// event-ruler does: "b does not exist" under an array of objects, with no
// other field selecting an element, means in none of the elements; beside a
// field that selects one, in that element (COMPATIBILITY.md, "exists:false
// under arrays of objects").
type arrCtx struct {
	elems []*jval
	rel   []string
}

func (c *arrCtx) down(name string) *arrCtx {
	if c == nil {
		return nil
	}
	return &arrCtx{elems: c.elems, rel: append(c.rel[:len(c.rel):len(c.rel)], name)}
}

// absent reports whether no element of c has a scalar value at c.rel+name.
func (c *arrCtx) absent(name string) bool {
	cur := c.elems
	for _, seg := range append(c.rel[:len(c.rel):len(c.rel)], name) {
		var next []*jval
		for _, v := range cur {
			for _, e := range flatten(nil, v) {
				if x := e.get(seg); x != nil {
					next = append(next, x)
				}
			}
		}
		cur = next
	}
	for _, v := range cur {
		for _, e := range flatten(nil, v) {
			if e.k != kObj {
				return false
			}
		}
	}
	return true
}

// hasPos reports whether a field (or any field below it) has a candidate
// other than exists:false, or an $or: a condition that selects elements.
func hasPos(f *pfield) bool {
	if f.nested == nil {
		return !onlyExistsFalse(f.leaf)
	}
	return nodeHasPos(f.nested)
}

func nodeHasPos(n *pnode) bool {
	if n.or != nil {
		return true
	}
	for _, g := range n.fields {
		if hasPos(g) {
			return true
		}
	}
	return false
}

// fieldCtx is the context for field f of n: none once another field of n
// selects an element.
func fieldCtx(n *pnode, f *pfield, ctx *arrCtx) *arrCtx {
	if ctx == nil {
		return nil
	}
	if n.or != nil {
		return nil
	}
	for _, g := range n.fields {
		if g != f && hasPos(g) {
			return nil
		}
	}
	return ctx
}

// nestedCtx is the context inside nested field f whose value is v.
func nestedCtx(fctx *arrCtx, f *pfield, v *jval, objs []*jval) *arrCtx {
	if fctx != nil {
		return fctx.down(f.name)
	}
	if v != nil && v.k == kArr && len(objs) > 0 {
		return &arrCtx{elems: objs}
	}
	return nil
}

// readings returns n as event-ruler reads it under an array of objects: the
// disjunction of $or- and mixed-free nodes. An $or forks the rule once per
// branch (JsonRuleCompiler), so the fields beside it are siblings of each
// branch's fields; a field whose candidates mix exists:false with others is
// either absent or matched by one of the others (as expand does for the
// compiled matcher), and only the latter selects an element. Under an array
// of objects a field's context depends on its siblings (fieldCtx), so these
// readings can differ from the tree read as it stands. nil when n needs no
// splitting or has more than maxConjunctions readings (then n is read as it
// stands).
func readings(n *pnode) []*pnode {
	alts, _ := readingsMerged(n)
	return alts
}

// readingsMerged is readings, and whether a reading joined two fields that
// name the same object (mergeFields): a field named beside an $or and
// again in one of its branches is one object of the forked rule, so one
// element of an array of objects must hold both, wherever the $or is.
func readingsMerged(n *pnode) ([]*pnode, bool) {
	alts := readingsSplit(n)
	merged := false
	for _, a := range alts {
		if fs, ok := mergeFields(a.fields); ok {
			a.fields, merged = fs, true
		}
	}
	return alts, merged
}

// mergeFields joins the nested fields of fs that have the same name into
// one (recursively), as event-ruler's flattened rule reads them (a.x and
// a.y are fields of one object); ok reports whether it joined any.
func mergeFields(fs []*pfield) ([]*pfield, bool) {
	var out []*pfield
	idx := map[string]int{}
	merged := false
	for _, f := range fs {
		if f.nested != nil && f.nested.or == nil {
			if i, ok := idx[f.name]; ok {
				g := out[i]
				inner := append(g.nested.fields[:len(g.nested.fields):len(g.nested.fields)], f.nested.fields...)
				inner, _ = mergeFields(inner)
				slices.SortStableFunc(inner, func(a, b *pfield) int { return strings.Compare(a.name, b.name) })
				out[i] = &pfield{name: g.name, path: g.path, nested: &pnode{path: g.nested.path, fields: inner}}
				merged = true
				continue
			}
			idx[f.name] = len(out)
		}
		out = append(out, f)
	}
	return out, merged
}

func readingsSplit(n *pnode) []*pnode {
	alts := []*pnode{{path: n.path}}
	split := false
	cross := func(fs [][]*pfield, or []*pnode) bool {
		if len(alts)*len(fs) > maxConjunctions {
			return false
		}
		out := make([]*pnode, 0, len(alts)*len(fs))
		for _, a := range alts {
			for _, f := range fs {
				out = append(out, &pnode{path: a.path, fields: append(a.fields[:len(a.fields):len(a.fields)], f...), or: or})
			}
		}
		alts = out
		return true
	}
	for _, f := range n.fields {
		var fs [][]*pfield
		switch {
		case f.nested != nil:
			sub := readings(f.nested)
			if sub == nil {
				fs = [][]*pfield{{f}}
				break
			}
			split = true
			for _, x := range sub {
				fs = append(fs, []*pfield{{name: f.name, path: f.path, nested: x}})
			}
		default:
			var neg, pos []*matcher
			for _, m := range f.leaf {
				if m.op == opExists && !m.exists {
					neg = append(neg, m)
				} else {
					pos = append(pos, m)
				}
			}
			if len(neg) == 0 || len(pos) == 0 {
				fs = [][]*pfield{{f}}
				break
			}
			split = true
			fs = [][]*pfield{{{name: f.name, path: f.path, leaf: neg}}, {{name: f.name, path: f.path, leaf: pos}}}
		}
		if !cross(fs, nil) {
			return nil
		}
	}
	if n.or != nil {
		split = true
		var fs [][]*pfield
		for _, b := range n.or {
			sub := readings(b)
			if sub == nil {
				sub = []*pnode{b}
			}
			for _, x := range sub {
				if x.or != nil {
					return nil // b has more than maxConjunctions readings
				}
				fs = append(fs, x.fields)
			}
		}
		if !cross(fs, nil) {
			return nil
		}
	}
	if !split {
		return nil
	}
	return alts
}

func evalIn(n *pnode, obj *jval, ctx *arrCtx) bool {
	if ctx != nil || n.or != nil {
		if alts, merged := readingsMerged(n); alts != nil && (ctx != nil || merged) {
			for _, a := range alts {
				if evalIn(a, obj, ctx) {
					return true
				}
			}
			return false
		}
	}
	for _, f := range n.fields {
		if !evalField(f, obj.get(f.name), fieldCtx(n, f, ctx)) {
			return false
		}
	}
	if n.or != nil {
		for _, b := range n.or {
			if evalIn(b, obj, nil) {
				return true
			}
		}
		return false
	}
	return true
}

func evalField(f *pfield, v *jval, ctx *arrCtx) bool {
	vals := flatten(nil, v)
	if f.nested != nil {
		var objs []*jval
		for _, e := range vals {
			if e.k == kObj {
				objs = append(objs, e)
			}
		}
		nctx := nestedCtx(ctx, f, v, objs)
		for _, e := range objs {
			if evalIn(f.nested, e, nctx) {
				return true
			}
		}
		return len(objs) == 0 && evalIn(f.nested, nil, nctx)
	}
	return leafMatch(f, vals, ctx) >= 0
}

// leafMatch returns the index of the first candidate of f that matches one of
// the values, or -1. Objects among vals are not leaf values.
func leafMatch(f *pfield, vals []*jval, ctx *arrCtx) int {
	ms := f.leaf
	scalars := 0
	for _, e := range vals {
		if e.k != kObj {
			scalars++
		}
	}
	for i, m := range ms {
		if m.op == opExists {
			if m.exists && scalars > 0 || !m.exists && scalars == 0 && (ctx == nil || ctx.absent(f.name)) {
				return i
			}
			continue
		}
		for _, e := range vals {
			if e.k != kObj && m.matchScalar(e.k, e.s, e.f) {
				return i
			}
		}
	}
	return -1
}

// Explanation says why an event did or did not match a pattern.
type Explanation struct {
	Match   bool     `json:"match"`
	Reasons []Reason `json:"reasons"`
}

// Reason is the outcome for one field of the pattern (or one $or).
type Reason struct {
	// Path is the event path, e.g. detail.items[1].name; "$or" paths end in .$or.
	Path  string `json:"path"`
	Match bool   `json:"match"`
	// Pattern is the field's candidates (leaf fields).
	Pattern json.RawMessage `json:"pattern,omitempty"`
	// Values are the event's scalar values at Path; empty when Missing.
	Values  []json.RawMessage `json:"values,omitempty"`
	Missing bool              `json:"missing,omitempty"`
	Message string            `json:"message"`
	// Branches explain each branch of a $or.
	Branches []*Explanation `json:"branches,omitempty"`
}

// Explain evaluates the pattern against event and says why it did or did not
// match: for each field, the candidates, the event's values (or that the field
// is missing) and the outcome; for a $or, each branch.
func (p *Pattern) Explain(event []byte) (*Explanation, error) {
	v, err := decodeEvent(event)
	if err != nil {
		return nil, err
	}
	ok, rs := explainNode(p.root, v, nil, "")
	return &Explanation{Match: ok, Reasons: rs}, nil
}

// String renders the explanation as lines: "match" or "no match", then one
// indented line per field.
func (e *Explanation) String() string {
	var b strings.Builder
	if e.Match {
		b.WriteString("match\n")
	} else {
		b.WriteString("no match\n")
	}
	writeReasons(&b, e.Reasons, "  ")
	return b.String()
}

func writeReasons(b *strings.Builder, rs []Reason, indent string) {
	for _, r := range rs {
		mark := "ok  "
		if !r.Match {
			mark = "FAIL"
		}
		fmt.Fprintf(b, "%s%s %s: %s\n", indent, mark, r.Path, r.Message)
		for i, br := range r.Branches {
			res := "no match"
			if br.Match {
				res = "match"
			}
			fmt.Fprintf(b, "%s  branch %d: %s\n", indent, i, res)
			writeReasons(b, br.Reasons, indent+"    ")
		}
	}
}

// Failures returns one "path: message" line per failed field, $or branches
// flattened as "path[branch]".
func (e *Explanation) Failures() []string {
	var out []string
	var walk func(rs []Reason, prefix string)
	walk = func(rs []Reason, prefix string) {
		for _, r := range rs {
			if r.Match {
				continue
			}
			out = append(out, prefix+r.Path+": "+r.Message)
			for i, br := range r.Branches {
				walk(br.Reasons, fmt.Sprintf("%s$or[%d] ", prefix, i))
			}
		}
	}
	walk(e.Reasons, "")
	return out
}

// Summary is the reasons as one line: the failures for a non-match, the
// matched fields for a match.
func (e *Explanation) Summary() string {
	if !e.Match {
		return strings.Join(e.Failures(), "; ")
	}
	var parts []string
	for _, r := range e.Reasons {
		parts = append(parts, r.Path+": "+r.Message)
	}
	return strings.Join(parts, "; ")
}

var _ json.Marshaler = (*Pattern)(nil)

func evJSON(v *jval) string {
	switch v.k {
	case kStr:
		return quote(v.s)
	case kNum:
		return v.s
	case kObj:
		return "{...}"
	case kArr:
		return "[...]"
	}
	return v.k.String()
}

func explainNode(n *pnode, obj *jval, ctx *arrCtx, path string) (bool, []Reason) {
	ok := true
	var rs []Reason
	if ctx != nil || n.or != nil {
		if alts, merged := readingsMerged(n); alts != nil && (ctx != nil || merged) {
			// Under an array of objects with nothing pinning an element, or
			// where a branch names an object named beside the $or: each
			// reading of n alone (evalIn), as an $or of them.
			r := Reason{Path: joinPath(path, "$or")}
			for i, a := range alts {
				bok, brs := explainNode(a, obj, ctx, path)
				r.Branches = append(r.Branches, &Explanation{Match: bok, Reasons: brs})
				if bok && !r.Match {
					r.Match = true
					r.Message = fmt.Sprintf("reading %d of %d matched (under an array of objects, each $or branch with the fields beside it, and exists:false apart from a field's other candidates, as EventBridge reads the pattern)", i, len(alts))
				}
			}
			if !r.Match {
				r.Message = fmt.Sprintf("none of the %d readings matched (under an array of objects, each $or branch with the fields beside it, and exists:false apart from a field's other candidates, as EventBridge reads the pattern)", len(alts))
			}
			return r.Match, []Reason{r}
		}
	}
	if n.or != nil {
		r := Reason{Path: joinPath(path, "$or")}
		for _, b := range n.or {
			bok, brs := explainNode(b, obj, nil, path)
			r.Branches = append(r.Branches, &Explanation{Match: bok, Reasons: brs})
			if bok && !r.Match {
				r.Match = true
			}
		}
		if r.Match {
			for i, b := range r.Branches {
				if b.Match {
					r.Message = fmt.Sprintf("branch %d of %d matched", i, len(n.or))
					break
				}
			}
		} else {
			r.Message = fmt.Sprintf("none of the %d $or branches matched", len(n.or))
			ok = false
		}
		rs = append(rs, r)
	}
	for _, f := range n.fields {
		fok, frs := explainField(f, obj.get(f.name), fieldCtx(n, f, ctx), joinPath(path, f.name))
		if !fok {
			ok = false
		}
		rs = append(rs, frs...)
	}
	return ok, rs
}

func explainField(f *pfield, v *jval, ctx *arrCtx, path string) (bool, []Reason) {
	if f.nested != nil {
		var objs []*jval
		var idx []string
		var walk func(v *jval, p string)
		walk = func(v *jval, p string) {
			switch {
			case v == nil:
			case v.k == kArr:
				for i, e := range v.vals {
					walk(e, fmt.Sprintf("%s[%d]", p, i))
				}
			case v.k == kObj:
				objs = append(objs, v)
				idx = append(idx, p)
			}
		}
		walk(v, path)
		nctx := nestedCtx(ctx, f, v, objs)
		if len(objs) == 0 {
			ok, rs := explainNode(f.nested, nil, nctx, path)
			if ok || v == nil {
				return ok, rs
			}
			what := evJSON(v)
			if v.k == kArr {
				what = "an array without objects"
			}
			head := Reason{Path: path, Message: fmt.Sprintf("is %s, not an object; the pattern has nested fields here", what)}
			return false, append([]Reason{head}, rs...)
		}
		var best []Reason
		bestFails, bestIdx := -1, 0
		for i, o := range objs {
			ok, rs := explainNode(f.nested, o, nctx, idx[i])
			if ok {
				return true, rs
			}
			fails := 0
			for _, r := range rs {
				if !r.Match {
					fails++
				}
			}
			if bestFails < 0 || fails < bestFails {
				best, bestFails, bestIdx = rs, fails, i
			}
		}
		if len(objs) == 1 && objs[0] == v {
			return false, best
		}
		head := Reason{Path: path, Message: fmt.Sprintf("none of its %d objects matches all nested fields together (fields of different elements are not combined); closest is %s", len(objs), idx[bestIdx])}
		return false, append([]Reason{head}, best...)
	}
	vals := flatten(nil, v)
	r := Reason{Path: path, Pattern: json.RawMessage(leafJSON(f.leaf))}
	scalars := 0
	var texts []string
	for _, e := range vals {
		if e.k != kObj {
			scalars++
			texts = append(texts, evJSON(e))
			r.Values = append(r.Values, json.RawMessage(evJSON(e)))
		}
	}
	i := leafMatch(f, vals, ctx)
	r.Match = i >= 0
	r.Missing = v == nil
	switch {
	case r.Match:
		m := f.leaf[i]
		switch {
		case m.op == opExists && m.exists:
			r.Message = "exists, as " + m.json + " requires"
		case m.op == opExists:
			if v == nil {
				r.Message = "is missing, as " + m.json + " requires"
			} else {
				r.Message = "has no scalar value (" + describe(v) + "), as " + m.json + " requires"
			}
		default:
			for _, e := range vals {
				if e.k != kObj && m.matchScalar(e.k, e.s, e.f) {
					r.Message = evJSON(e) + " matches " + m.json
					break
				}
			}
		}
	case v == nil:
		r.Message = "is missing; expected " + candidates(f.leaf)
	case scalars == 0 && onlyExistsFalse(f.leaf):
		r.Message = "has no value in this element, but another element of the array has one (with no other field selecting an element, exists:false holds only when no element has the field, as EventBridge decides)"
	case scalars == 0:
		r.Message = "has no scalar value (" + describe(v) + "); expected " + candidates(f.leaf)
	default:
		if onlyExistsFalse(f.leaf) {
			r.Message = "exists (" + strings.Join(texts, ", ") + "); expected it to be absent"
		} else {
			if len(texts) > 1 {
				r.Message = "none of [" + strings.Join(texts, ",") + "] matches " + candidates(f.leaf) + typeHint(f.leaf, vals)
			} else {
				r.Message = texts[0] + " does not match " + candidates(f.leaf) + typeHint(f.leaf, vals)
			}
		}
	}
	return r.Match, []Reason{r}
}

func describe(v *jval) string {
	switch v.k {
	case kObj:
		return "it is an object; leaf patterns match strings, numbers, true, false and null"
	case kArr:
		if len(v.vals) == 0 {
			return "it is an empty array"
		}
		return "it is an array of objects"
	}
	return evJSON(v)
}

func candidates(ms []*matcher) string {
	if len(ms) == 1 {
		return ms[0].json
	}
	return "any of " + leafJSON(ms)
}

func onlyExistsFalse(ms []*matcher) bool {
	for _, m := range ms {
		if m.op != opExists || m.exists {
			return false
		}
	}
	return true
}

// typeHint points out a string candidate that equals a number's text (or the
// reverse): EventBridge never matches strings against numbers.
func typeHint(ms []*matcher, vals []*jval) string {
	for _, m := range ms {
		for _, e := range vals {
			switch {
			case m.op == opExactStr && e.k == kNum && m.s == e.s:
				return fmt.Sprintf(" (the event has the number %s, the pattern the string %s: strings never match numbers)", e.s, m.json)
			case (m.op == opNumeric || m.op == opExactNum) && e.k == kStr && scanNumber([]byte(e.s), 0) == len(e.s):
				return fmt.Sprintf(" (the event has the string %s: numeric candidates match JSON numbers only)", quote(e.s))
			case m.op == opExactStr && e.k == kStr && fold(e.s) == fold(m.s):
				return " (it differs only in case; use {\"equals-ignore-case\": ...} to ignore case)"
			}
		}
	}
	return ""
}
