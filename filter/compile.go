package filter

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"sync"
)

// maxConjunctions bounds the $or expansion of one rule; a rule that expands
// to more is evaluated by walking the decoded event instead.
const maxConjunctions = 4096

// smallAffix is the number of prefixes (or suffixes) of one field up to which
// they are compared one by one rather than through per-length maps.
const smallAffix = 8

// engine is a compiled RuleSet.
type engine struct {
	ids      []string // distinct ids, in first-added order
	rules    []rule
	conds    []cond
	anchors  [][]int32    // conds[c].conjs, compact for the scanner
	lazyOf   [][]lazyCand // per condition, its lazy candidates (nil: none)
	conjs    []conj
	negOnly  []int32 // conjunctions without positive conditions
	slow     []int32 // rules evaluated on the decoded event
	root     *tnode
	nfields  int
	npred    int // layout slots (predSlots per node with children)
	pool     sync.Pool
	maxDepth int
}

type rule struct {
	id int32 // index into ids
	p  *Pattern
}

// cond is "some leaf value at a field matches one of these candidates".
type cond struct {
	field  *fieldIdx
	conjs  []int32 // conjunctions this condition is the anchor of
	weight int     // how likely it is to hold: lower is more selective
}

// condWeight ranks a condition by how often it is expected to hold.
func condWeight(ms []*matcher) int {
	w := 0
	for _, m := range ms {
		k := 1 // exact values
		switch m.op {
		case opPrefix, opSuffix, opPrefixIC, opSuffixIC, opEqualsIC, opWildcard, opCIDR:
			k = 2
		case opNumeric:
			k = 4
		case opAnythingBut:
			k = 64
		case opExists:
			k = 256
		}
		w += k
	}
	return w
}

// conj is one conjunction of a rule's $or expansion.
type conj struct {
	rule   int32
	pos    []int32 // conds
	neg    []int32 // fields that must have no leaf value
	single bool    // one positive condition and no negative one
}

// tnode is a node of the trie of field paths the rules use.
type tnode struct {
	names []string
	kids  []*tnode
	field *fieldIdx // non-nil when a rule has a leaf here

	// keys is an open-addressing table of the children, hashed on the name's
	// length and first 8 bytes; shift is 64 - log2(len(keys)).
	keys  []keySlot
	shift uint8
	pred  int32 // this node's layout slots in state.pred (nodes with children)
}

// keySlot is one entry of tnode.keys: w holds the first (up to) 8 bytes of
// the name, little-endian and zero-padded; idx is -1 for an empty slot.
type keySlot struct {
	w, w2 uint64 // w2: the last 8 bytes of names of 9 to 16 bytes
	n     int32
	idx   int32
}

func (n *tnode) child(name string, create bool) *tnode {
	for i, k := range n.names {
		if k == name {
			return n.kids[i]
		}
	}
	if !create {
		return nil
	}
	c := &tnode{}
	n.names = append(n.names, name)
	n.kids = append(n.kids, c)
	return c
}

// keyHash spreads a name's first word over a table of 1<<(64-shift) slots
// (names sharing their first 8 bytes share a probe sequence).
func keyHash(w uint64, shift uint8) uint64 {
	return (w * 0x9e3779b97f4a7c15) >> (shift & 63)
}

// wordOf returns the first min(8, len(b)) bytes of b as a little-endian word.
func wordOf(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var w uint64
	for k := len(b) - 1; k >= 0; k-- {
		w = w<<8 | uint64(b[k])
	}
	return w
}

// buildKeys fills the key table (load factor at most 1/4).
func (n *tnode) buildKeys() {
	size := 4
	for size < 4*len(n.names) {
		size *= 2
	}
	n.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	n.keys = make([]keySlot, size)
	for i := range n.keys {
		n.keys[i].idx = -1
	}
	for i, name := range n.names {
		w := wordOf([]byte(name))
		h := keyHash(w, n.shift)
		for n.keys[h].idx >= 0 {
			h = (h + 1) & uint64(size-1)
		}
		sl := keySlot{w: w, n: int32(len(name)), idx: int32(i)}
		if len(name) > 8 && len(name) <= 16 {
			sl.w2 = binary.LittleEndian.Uint64([]byte(name[len(name)-8:]))
		}
		n.keys[h] = sl
	}
}

// find returns the index of the child named k, or -1; w is the name's
// first word (wordOf).
func (n *tnode) find(k []byte, w uint64) int {
	keys := n.keys
	mask := uint64(len(keys) - 1)
	for h := keyHash(w, n.shift); ; h = (h + 1) & mask {
		sl := &keys[h]
		if sl.idx < 0 {
			return -1
		}
		if sl.w == w && int(sl.n) == len(k) && (len(k) <= 8 || n.names[sl.idx][8:] == string(k[8:])) {
			return int(sl.idx)
		}
	}
}

// lookup returns the index of the child named k, or -1.
func (n *tnode) lookup(k []byte) int {
	if len(n.keys) == 0 {
		return -1
	}
	return n.find(k, wordOf(k))
}

type affix struct {
	s          string
	cond       int32
	head, tail uint64 // wordsOf(s)
	// For s of up to 8 bytes: the bytes of a head word that s covers as a
	// prefix, those of a tail word it covers as a suffix, and s's bytes
	// placed there.
	pmask, smask, sword uint64
}

type lenMap struct {
	n int
	t *strTable
}

// affixSet indexes prefixes or suffixes of one field.
type affixSet struct {
	small []affix
	byLen []lenMap
}

func (a *affixSet) add(s string, c int32) { a.small = append(a.small, newAffix(s, c)) }

func (a *affixSet) build() {
	if len(a.small) <= smallAffix {
		return
	}
	byLen := map[int]map[string][]int32{}
	for _, x := range a.small {
		m := byLen[len(x.s)]
		if m == nil {
			m = map[string][]int32{}
			byLen[len(x.s)] = m
		}
		m[x.s] = append(m[x.s], x.cond)
	}
	for n, m := range byLen {
		a.byLen = append(a.byLen, lenMap{n, newStrTable(m)})
	}
	sort.Slice(a.byLen, func(i, j int) bool { return a.byLen[i].n < a.byLen[j].n })
	a.small = nil
}

func (a *affixSet) empty() bool { return len(a.small) == 0 && len(a.byLen) == 0 }

// numIndex maps a number to the conditions whose ranges contain it: bounds
// are the distinct range ends, segs[2i] the conditions for the open interval
// below bounds[i], segs[2i+1] those for bounds[i] itself, segs[2n] above all.
type numIndex struct {
	bounds []float64
	segs   [][]int32
}

// wildIndexMin is how many wildcards a field needs before they are indexed
// by the head of their first piece (fieldIdx.wildT): below it, a loop over
// all is as fast.
const wildIndexMin = 8

// wildCand is a wildcard candidate of condition cond.
type wildCand struct {
	w    *wildcard
	cond int32
}

type other struct {
	m    *matcher
	cond int32
}

// lazyCand is an anything-but candidate of a condition that anchors no
// conjunction: it is checked against the field's string value only when a
// conjunction whose anchor held needs the condition (state.lazyHit).
type lazyCand struct {
	f *fieldIdx
	m *matcher
}

// fieldIdx holds the candidates of every rule for one field path.
type fieldIdx struct {
	id        int32
	exact     *strTable
	exactList []affix // when few exact strings
	lits      [3][]int32
	prefix    affixSet
	suffix    affixSet
	prefixIC  affixSet
	suffixIC  affixSet
	eqIC      map[string][]int32 // folded values (while compiling)
	eqICList  []affix            // eqIC as a list, when it is small
	eqICT     *strTable          // eqIC as a table, when it is not
	exists    []int32
	existsNS  []int32    // exists candidates of lazy conditions: hit at once for values other than strings
	ranges    []*matcher // numeric and exact-number candidates, with rangeConds
	rangeCond []int32
	numText   map[string][]int32  // exact numbers that are not comparable (rulerc.NumComparable): by their text
	points    map[float64][]int32 // exact-number candidates by value: they need the event's number comparable
	num       numIndex
	cidrs     []other // cidr candidates (m.prefix)
	others    []other // anything-but
	// For string values, others splits into the candidates checked at
	// once (eagerStr) and lazy: anything-but candidates of conditions
	// that anchor nothing, checked only when a conjunction needs them
	// (state.lazyStr). lazy also holds those conditions' candidates that
	// match only strings, and their exists (addCandidates).
	eagerStr []other
	lazy     []other
	lazyOnly bool // every candidate for strings is lazy
	wilds    []wildCand
	// wildT indexes wilds by the first wildKey bytes of their first
	// piece when a field has many (wildIndexMin): wildKey is the shortest
	// first piece's length (at most 8), and a value is tried only against
	// those whose key it starts with (the table holds indexes into wilds)
	// and those starting with a star (wildAny). nil: try every one.
	wildT    *strTable
	wildKey  int
	wildAny  []wildCand
	needFold bool
	needNum  bool
	hasAffix bool // prefix or suffix candidates
	moreStr  bool // candidates for strings other than exact values
	negUsed  bool // a conjunction needs to know whether the field has a value
}

func (f *fieldIdx) build() {
	if len(f.exactList) > 4 {
		m := map[string][]int32{}
		for _, x := range f.exactList {
			m[x.s] = append(m[x.s], x.cond)
		}
		f.exact = newStrTable(m)
		f.exactList = nil
	}
	f.prefix.build()
	f.suffix.build()
	f.hasAffix = !f.prefix.empty() || !f.suffix.empty()
	f.prefixIC.build()
	f.suffixIC.build()
	if len(f.eqIC) <= smallAffix {
		for v, cs := range f.eqIC {
			for _, c := range cs {
				f.eqICList = append(f.eqICList, newAffix(v, c))
			}
		}
		// Keep the order of the conditions stable (map order is not).
		slices.SortFunc(f.eqICList, func(a, b affix) int { return int(a.cond - b.cond) })
	} else {
		f.eqICT = newStrTable(f.eqIC)
	}
	f.needFold = f.eqIC != nil || !f.prefixIC.empty() || !f.suffixIC.empty()
	for _, o := range f.others {
		if o.m.needsFold() {
			f.needFold = true
		}
		if o.m.op == opAnythingBut && o.m.abOp == opExactNum {
			f.needNum = true
		}
	}
	if len(f.wilds) >= wildIndexMin {
		f.wildKey = 8
		for _, wc := range f.wilds {
			if first := wc.w.lits[0]; first != "" {
				f.wildKey = min(f.wildKey, len(first))
			}
		}
		m := map[string][]int32{}
		for i, wc := range f.wilds {
			if first := wc.w.lits[0]; first != "" {
				m[first[:f.wildKey]] = append(m[first[:f.wildKey]], int32(i))
			} else {
				f.wildAny = append(f.wildAny, wc)
			}
		}
		f.wildT = newStrTable(m)
	}
	f.moreStr = f.hasAffix || f.needFold || len(f.exists) > 0 || len(f.others) > 0 || len(f.wilds) > 0 || len(f.cidrs) > 0 || len(f.lazy) > 0
	if len(f.numText) > 0 {
		f.needNum = true
	}
	if len(f.ranges) > 0 {
		f.needNum = true
		set := map[float64]bool{}
		for _, m := range f.ranges {
			if m.hasLo {
				set[m.lo] = true
			}
			if m.hasHi {
				set[m.hi] = true
			}
		}
		for b := range set {
			f.num.bounds = append(f.num.bounds, b)
		}
		sort.Float64s(f.num.bounds)
		n := len(f.num.bounds)
		f.num.segs = make([][]int32, 2*n+1)
		for s := 0; s <= 2*n; s++ {
			var rep float64
			switch {
			case s%2 == 1:
				rep = f.num.bounds[s/2]
			case s == 0:
				rep = math.Inf(-1)
			case s == 2*n:
				rep = math.Inf(1)
			default:
				rep = f.num.bounds[s/2-1]/2 + f.num.bounds[s/2]/2
			}
			for i, m := range f.ranges {
				if m.inRange(rep) {
					f.num.segs[s] = appendUnique(f.num.segs[s], f.rangeCond[i])
				}
			}
		}
	}
}

func appendUnique(s []int32, c int32) []int32 {
	for _, x := range s {
		if x == c {
			return s
		}
	}
	return append(s, c)
}

// lowerBound returns the index of the first bound >= v (len(bounds) when
// none is; 0 for NaN, which no comparison holds for).
func (n *numIndex) lowerBound(v float64) int {
	b := n.bounds
	lo, hi := 0, len(b)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if b[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// segment returns the conditions whose ranges contain v.
func (n *numIndex) segment(v float64) []int32 {
	b, lo := n.bounds, n.lowerBound(v)
	if lo < len(b) && b[lo] == v {
		return n.segs[2*lo+1]
	}
	return n.segs[2*lo]
}

// segmentApprox is segment for a value known within a relative approxTol:
// ok is false when a bound is that close, so that the exact value could be
// on its other side.
func (n *numIndex) segmentApprox(v float64) (segs []int32, ok bool) {
	b, lo := n.bounds, n.lowerBound(v)
	tol := math.Abs(v) * approxTol
	if lo < len(b) && b[lo]-v <= tol || lo > 0 && v-b[lo-1] <= tol {
		return nil, false
	}
	return n.segs[2*lo], true
}

// term is one field condition of a conjunction before compilation.
type term struct {
	path []string
	f    *pfield
	neg  bool
}

// expand returns the disjunctive normal form of n: each element is one
// conjunction of terms; ok is false when it has more than maxConjunctions.
func expand(n *pnode, prefix []string) ([][]term, bool) {
	conjs := [][]term{{}}
	cross := func(alts [][]term) bool {
		if len(conjs)*len(alts) > maxConjunctions {
			return false
		}
		out := make([][]term, 0, len(conjs)*len(alts))
		for _, c := range conjs {
			for _, a := range alts {
				t := make([]term, 0, len(c)+len(a))
				t = append(append(t, c...), a...)
				out = append(out, t)
			}
		}
		conjs = out
		return true
	}
	for _, f := range n.fields {
		path := append(append([]string(nil), prefix...), f.name)
		if f.nested != nil {
			sub, ok := expand(f.nested, path)
			if !ok || !cross(sub) {
				return nil, false
			}
			continue
		}
		hasPos, hasNeg := false, false
		for _, m := range f.leaf {
			if m.op == opExists && !m.exists {
				hasNeg = true
			} else {
				hasPos = true
			}
		}
		var alts [][]term
		if hasPos {
			alts = append(alts, []term{{path: path, f: f}})
		}
		if hasNeg {
			alts = append(alts, []term{{path: path, f: f, neg: true}})
		}
		if !cross(alts) {
			return nil, false
		}
	}
	if n.or != nil {
		var alts [][]term
		for _, b := range n.or {
			sub, ok := expand(b, prefix)
			if !ok {
				return nil, false
			}
			alts = append(alts, sub...)
			if len(alts) > maxConjunctions {
				return nil, false
			}
		}
		if !cross(alts) {
			return nil, false
		}
	}
	return conjs, true
}

func compile(ids []string, patterns []*Pattern) *engine {
	e := &engine{root: &tnode{}}
	idIndex := map[string]int32{}
	condOf := map[string]int32{} // field id + candidates: identical conditions are shared
	var fields []*fieldIdx
	type pending struct {
		f    *fieldIdx
		leaf []*matcher
		c    int32
	}
	var cands []pending // every condition's candidates, added once the anchors are known
	fieldAt := func(path []string) *fieldIdx {
		n := e.root
		for _, seg := range path {
			n = n.child(seg, true)
		}
		if len(path) > e.maxDepth {
			e.maxDepth = len(path)
		}
		if n.field == nil {
			n.field = &fieldIdx{id: int32(len(fields))}
			fields = append(fields, n.field)
		}
		return n.field
	}
	for i, p := range patterns {
		id, ok := idIndex[ids[i]]
		if !ok {
			id = int32(len(e.ids))
			idIndex[ids[i]] = id
			e.ids = append(e.ids, ids[i])
		}
		ri := int32(len(e.rules))
		e.rules = append(e.rules, rule{id: id, p: p})
		conjs, ok := expand(p.root, nil)
		if !ok {
			e.slow = append(e.slow, ri)
			// Still make the scanner read nothing extra: slow rules decode the event.
			continue
		}
		for _, terms := range conjs {
			ci := int32(len(e.conjs))
			cj := conj{rule: ri}
			for _, t := range terms {
				fi := fieldAt(t.path)
				if t.neg {
					cj.neg = append(cj.neg, fi.id)
					fi.negUsed = true
					continue
				}
				key := strconv.Itoa(int(fi.id)) + "\x00" + leafJSON(t.f.leaf)
				c, ok := condOf[key]
				if !ok {
					c = int32(len(e.conds))
					condOf[key] = c
					e.conds = append(e.conds, cond{field: fi, weight: condWeight(t.f.leaf)})
					cands = append(cands, pending{fi, t.f.leaf, c})
				}
				if !slices.Contains(cj.pos, c) {
					cj.pos = append(cj.pos, c)
				}
			}
			if len(cj.pos) == 0 {
				e.negOnly = append(e.negOnly, ci)
			}
			cj.single = len(cj.pos) == 1 && len(cj.neg) == 0
			e.conjs = append(e.conjs, cj)
		}
	}
	// Each conjunction is triggered by one condition, its anchor: the one
	// least likely to hold, scored by how many conjunctions share it times
	// how broad its operator is (exists and anything-but broadest). The
	// others are checked when it fires.
	uses := make([]int, len(e.conds))
	for _, cj := range e.conjs {
		for _, c := range cj.pos {
			uses[c]++
		}
	}
	for j := range e.conjs {
		cj := &e.conjs[j]
		if len(cj.pos) == 0 {
			continue
		}
		best := cj.pos[0]
		for _, c := range cj.pos[1:] {
			if e.conds[c].weight*uses[c] < e.conds[best].weight*uses[best] {
				best = c
			}
		}
		e.conds[best].conjs = append(e.conds[best].conjs, int32(j))
	}
	e.anchors = make([][]int32, len(e.conds))
	for c := range e.conds {
		e.anchors[c] = e.conds[c].conjs
	}
	for _, p := range cands {
		addCandidates(p.f, p.leaf, p.c, len(e.anchors[p.c]) == 0)
	}
	for _, f := range fields {
		f.build()
		for _, o := range f.others {
			if o.m.op == opAnythingBut && len(e.anchors[o.cond]) == 0 {
				f.lazy = append(f.lazy, o)
			} else {
				f.eagerStr = append(f.eagerStr, o)
			}
		}
		for _, o := range f.lazy {
			if e.lazyOf == nil {
				e.lazyOf = make([][]lazyCand, len(e.conds))
			}
			e.lazyOf[o.cond] = append(e.lazyOf[o.cond], lazyCand{f, o.m})
		}
		f.lazyOnly = len(f.lazy) > 0 && f.exact == nil && len(f.exactList) == 0 && !f.hasAffix && !f.needFold &&
			len(f.exists) == 0 && len(f.wilds) == 0 && len(f.eagerStr) == 0 && len(f.cidrs) == 0
	}
	var index func(n *tnode)
	index = func(n *tnode) {
		n.buildKeys()
		if len(n.kids) > 0 {
			n.pred = int32(e.npred)
			e.npred += predSlots
		}
		for _, k := range n.kids {
			index(k)
		}
	}
	index(e.root)
	e.nfields = len(fields)
	e.pool.New = func() any { return e.newState() }
	return e
}

// addCandidates adds condition c's candidates to f's indexes. When c
// anchors no conjunction (lazy), those that match only strings, and exists
// for strings, go to f.lazy instead: checked only when a conjunction whose
// anchor held needs c (state.lazyHit).
func addCandidates(f *fieldIdx, ms []*matcher, c int32, lazy bool) {
	for _, m := range ms {
		if lazy {
			switch m.op {
			case opExactStr, opPrefix, opSuffix, opPrefixIC, opSuffixIC, opEqualsIC, opWildcard, opCIDR:
				f.lazy = append(f.lazy, other{m, c})
				continue
			case opExists:
				if m.exists {
					f.lazy = append(f.lazy, other{m, c})
					f.existsNS = appendUnique(f.existsNS, c)
				}
				continue
			}
		}
		switch m.op {
		case opExactStr:
			if m.isIP {
				f.others = append(f.others, other{m, c})
				continue
			}
			f.exactList = append(f.exactList, newAffix(m.s, c))
		case opExactNum, opNumeric:
			if m.op == opExactNum && !m.numOK {
				if f.numText == nil {
					f.numText = map[string][]int32{}
				}
				f.numText[m.raw] = appendUnique(f.numText[m.raw], c)
				continue
			}
			r := m
			if m.op == opExactNum {
				r = &matcher{op: opNumeric, lo: m.f, hi: m.f, hasLo: true, hasHi: true, loIncl: true, hiIncl: true}
				if f.points == nil {
					f.points = map[float64][]int32{}
				}
				f.points[m.f] = appendUnique(f.points[m.f], c)
			}
			f.ranges = append(f.ranges, r)
			f.rangeCond = append(f.rangeCond, c)
		case opNull:
			f.lits[0] = appendUnique(f.lits[0], c)
		case opTrue:
			f.lits[1] = appendUnique(f.lits[1], c)
		case opFalse:
			f.lits[2] = appendUnique(f.lits[2], c)
		case opPrefix:
			f.prefix.add(m.s, c)
		case opSuffix:
			f.suffix.add(m.s, c)
		case opPrefixIC, opSuffixIC, opEqualsIC:
			if m.ica != nil {
				f.others = append(f.others, other{m, c})
				continue
			}
			addIC(f, m, c)
		case opExists:
			if m.exists {
				f.exists = appendUnique(f.exists, c)
			}
		case opCIDR:
			f.cidrs = append(f.cidrs, other{m, c})
		case opWildcard:
			f.wilds = append(f.wilds, wildCand{m.wc, c})
		default: // anything-but
			f.others = append(f.others, other{m, c})
		}
	}
}

func addIC(f *fieldIdx, m *matcher, c int32) {
	switch m.op {
	case opPrefixIC:
		f.prefixIC.add(m.s, c)
	case opSuffixIC:
		f.suffixIC.add(m.s, c)
	default:
		if f.eqIC == nil {
			f.eqIC = map[string][]int32{}
		}
		f.eqIC[m.s] = appendUnique(f.eqIC[m.s], c)
	}
}
