package filter

import (
	"fmt"
	"github.com/evcli/evcli/filter/internal/rulerc"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// tentry is one level of array nesting on the way to a value: the array
// (identified by the offset of its '[') and the element's index.
type tentry struct {
	arr, idx int32
}

// hitRec is a condition satisfied by a value inside an array of objects.
type hitRec struct {
	cond, start, n int32
}

// state is the per-match scratch space of an engine (pooled).
type state struct {
	e     *engine
	ev    []byte
	epoch uint32
	err   error

	cst                  []condState // per condition
	lazyRec              []lazyRec   // per field with lazy candidates
	fieldAny, fieldPlain []uint32
	ruleDone, idDone     []uint32

	cands   []int32
	matched []int32
	hits    []hitRec
	trails  []tentry
	stack   []tentry
	seen    []uint64
	buf     []byte   // unescaped string value
	kbuf    []byte   // unescaped member name
	fbuf    []byte   // folded string value
	f16     [16]byte // folded short ASCII string value
	pick    []int32
	pred    []predSlot // the member names last seen, per object node and position
	tree    *jval
	treeErr error
	treeOK  bool
	reach   int // how far into the previous event the scan went
}

func (e *engine) newState() any {
	return &state{
		e:          e,
		cst:        make([]condState, len(e.conds)),
		lazyRec:    make([]lazyRec, e.nfields),
		fieldAny:   make([]uint32, e.nfields),
		fieldPlain: make([]uint32, e.nfields),
		ruleDone:   make([]uint32, len(e.rules)),
		idDone:     make([]uint32, len(e.ids)),
		pred:       make([]predSlot, e.npred),
	}
}

func (s *state) reset(ev []byte) {
	s.epoch++
	if s.epoch == 0 { // wrapped: clear the stamps
		for _, a := range [][]uint32{s.fieldAny, s.fieldPlain, s.ruleDone, s.idDone} {
			clear(a)
		}
		clear(s.cst)
		clear(s.lazyRec)
		s.epoch = 1
	}
	s.ev = ev
	s.err = nil
	s.cands = s.cands[:0]
	s.matched = s.matched[:0]
	s.hits = s.hits[:0]
	s.trails = s.trails[:0]
	s.stack = s.stack[:0]
	s.seen = s.seen[:0]
	s.tree, s.treeErr, s.treeOK = nil, nil, false
}

// match scans ev and appends the ids of the matching rules to dst.
func (e *engine) match(dst []string, ev []byte) ([]string, error) {
	s := e.pool.Get().(*state)
	dst, err := s.run(dst, ev)
	s.tree = nil
	e.pool.Put(s)
	return dst, err
}

func (s *state) run(dst []string, ev []byte) ([]string, error) {
	s.reset(ev)
	i := 0
	if len(ev) == 0 || ev[0] != '{' {
		i = skipWS(ev, 0)
	}
	if i >= len(ev) || ev[i] != '{' {
		if _, err := decodeEvent(ev); err != nil {
			return dst, err
		}
		return dst, fmt.Errorf("%w", ErrNotObject)
	}
	// Ask for the cache lines the previous event needed read so that their
	// misses overlap instead of following the scanner one at a time, and
	// for as many lines after the event: events read from a file or a
	// store page lie one after another, so those are the next event's.
	// (An address, not a pointer: past the event it may point into
	// another object or none.)
	base := uintptr(unsafe.Pointer(unsafe.SliceData(ev)))
	if r := min(s.reach, len(ev)); r > 64 {
		prefetch(base+64, (r-1)/64)
	}
	prefetch(base+uintptr(len(ev)), s.reach/64+1)
	end, _ := s.object(s.e.root, i, true)
	s.reach = min(end+64, 2048)
	if s.err != nil {
		return dst, s.err
	}
	return s.finish(dst)
}

func skipWS(ev []byte, i int) int {
	for i < len(ev) {
		switch ev[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

func (s *state) fail(i int, what string) int {
	if s.err == nil {
		s.err = fmt.Errorf("%w: %w", ErrNotObject, newSyntaxError(s.ev, i, "%s", what))
	}
	return -1
}

// strEnd returns the index just after the closing quote of the string whose
// opening quote is at i, or -1.
func strEnd(ev []byte, i int) int {
	j, _ := strEndEsc(ev, i)
	return j
}

// strEndEsc is strEnd that also reports whether the string has escapes. It
// looks at 8 bytes at a time.
func strEndEsc(ev []byte, i int) (int, bool) {
	esc := false
	i++
	for i+8 <= len(ev) {
		x := load64(ev, i)
		m := zeroBytes(x^(0x22*lo8)) | zeroBytes(x^(0x5c*lo8))
		if m == 0 {
			i += 8
			continue
		}
		j := i + bits.TrailingZeros64(m)>>3
		if ev[j] == '"' {
			return j + 1, esc
		}
		esc = true
		i = j + 2
	}
	for ; i < len(ev); i++ {
		switch ev[i] {
		case '"':
			return i + 1, esc
		case '\\':
			esc = true
			i++
		}
	}
	return -1, esc
}

// zeroBytes has the high bit set in exactly the bytes of t that are zero.
func zeroBytes(t uint64) uint64 {
	const m7 = 0x7f7f7f7f7f7f7f7f
	y := (t & m7) + m7
	return ^(y | t | m7)
}

const (
	lo8 = 0x0101010101010101
	hi8 = 0x8080808080808080
)

// skipContainer returns the index just after the object or array that
// starts at ev[i] ('{' or '['), or -1 when the input ends first. It reads 64
// bytes at a time: bit masks of quotes and brackets (blockMasksOf), brackets
// inside strings removed with a prefix XOR of the quotes, and the depth
// updated by popcounts unless it may reach zero in the block. Blocks with a
// backslash go byte by byte. The bytes are not validated.
func skipContainer(ev []byte, i int) int {
	depth := 0
	var inStr uint64 // all ones inside a string
	var tail [64]byte
	for i < len(ev) {
		if haveSkipBlocks && len(ev)-i >= 64 {
			adv, d, ins := skipBlocks(&ev[i], len(ev)-i, depth, inStr)
			if d == 0 && adv > 0 {
				return i + adv // the closing bracket
			}
			i, depth, inStr = i+adv, d, ins
		}
		n := len(ev) - i
		var p *[64]byte
		if n >= 64 {
			p = (*[64]byte)(ev[i : i+64])
		} else {
			copy(tail[:], ev[i:])
			for k := n; k < 64; k++ {
				tail[k] = ' '
			}
			p = &tail
		}
		m := blockMasksOf(p)
		if m.bslash != 0 {
			end := i + min(n, 64)
			inS := inStr != 0
			for i < end {
				switch ev[i] {
				case '\\':
					i += 2
					continue
				case '"':
					inS = !inS
				case '{', '[':
					if !inS {
						depth++
					}
				case '}', ']':
					if !inS {
						depth--
						if depth == 0 {
							return i + 1
						}
					}
				}
				i++
			}
			inStr = 0
			if inS {
				inStr = ^uint64(0)
			}
			continue
		}
		ins := m.quote
		ins ^= ins << 1
		ins ^= ins << 2
		ins ^= ins << 4
		ins ^= ins << 8
		ins ^= ins << 16
		ins ^= ins << 32
		ins ^= inStr
		inStr = uint64(int64(ins) >> 63)
		o, c := m.open&^ins, m.close&^ins
		if nc := bits.OnesCount64(c); depth > nc {
			depth += bits.OnesCount64(o) - nc
			i += 64
			continue
		}
		for bs := o | c; bs != 0; bs &= bs - 1 {
			k := bits.TrailingZeros64(bs)
			if o>>k&1 == 1 {
				depth++
			} else if depth--; depth == 0 {
				return i + k + 1
			}
		}
		i += 64
	}
	return -1
}

func (s *state) skip(i int) int {
	ev := s.ev
	if i >= len(ev) {
		return s.fail(i, "unexpected end of input, expected a value")
	}
	switch ev[i] {
	case '"':
		j := strEnd(ev, i)
		if j < 0 {
			return s.fail(i, "unterminated string")
		}
		return j
	case '{', '[':
		if j := skipContainer(ev, i); j >= 0 {
			return j
		}
		return s.fail(len(ev), "unexpected end of input inside an object or array")
	}
	j := i
	for j < len(ev) {
		c := ev[j]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			break
		}
		j++
	}
	if j == i {
		return s.fail(i, "expected a value")
	}
	return j
}

// object scans the object at ev[i] == '{' for the fields below n. When
// abandon is true (not inside an array) it returns as soon as every field of
// n has been read, with done set, without reading the rest.
func (s *state) object(n *tnode, i int, abandon bool) (int, bool) {
	if len(n.kids) <= 64 {
		return s.members(n, i, abandon, 0)
	}
	// Children 64 and up are tracked in s.seen[base:].
	base := len(s.seen)
	for w := 0; w < (len(n.kids)-1)/64; w++ {
		s.seen = append(s.seen, 0)
	}
	end, done := s.members(n, i, abandon, base)
	s.seen = s.seen[:base]
	return end, done
}

// quoteMasks returns the high bit of every byte of x that is a double
// quote (q) and of the lowest byte that is a quote or a backslash (m, 0 when
// there is neither). Bits of q above the lowest zero byte may be wrong.
func quoteMasks(x uint64) (q, m uint64) {
	xq, xb := x^(0x22*lo8), x^(0x5c*lo8)
	q = (xq - lo8) &^ xq & hi8
	m = q | (xb-lo8)&^xb&hi8
	return q, m & -m
}

// nextMember results.
const (
	memFound = iota // a member named in the key table (-1: not named, and not a string): i is just after its ':'
	memEnd          // the object's closing '}' is at i
	memOther        // a member (or whitespace) at i needs the general path
)

// predSlots is the number of leading members of an object whose names are
// remembered (predSlot) from one event to the next.
const predSlots = 16

// predSlot remembers the name of the member at one position of an object
// node in the last event scanned (events of one stream mostly share their
// layout): when the next event has the same name there, nextMember takes
// its key-table entry from the slot instead of finding the closing quote
// and probing. The name's bytes hold no quote or backslash.
type predSlot struct {
	w, w2 uint64 // as keySlot (w masked to the name)
	mask  uint64 // the bytes of the first word that belong to the name
	kl1   int32  // the name's length + 1; 0: empty slot
	ci    int32  // the child's index, -1 for a name no rule reads
}

// nextMember skips, from i, the members whose names are not in the key table
// and whose values are strings, in their common shape (names up to 16 bytes
// and strings without escapes, no whitespace), and reports what stops it.
// ord is the position in the object of the member at i; pr are the object
// node's predSlots (nil: none). It returns the position of the member it
// stops at. It calls nothing, so that its loop stays in registers.
func nextMember(ev []byte, i int, n *tnode, pr *[predSlots]predSlot, ord int) (int, int, int, int) {
	keys := n.keys
	kmask := uint64(len(keys) - 1)
	shift := n.shift & 63
	var j, kl, k int
	var w, w2 uint64
loop:
	for ; i+17 <= len(ev); ord++ {
		if c := byte(load64(ev, i)); c != '"' { // ev[i] without a bounds check
			if c == '}' {
				return i, -1, memEnd, ord
			}
			break
		}
		if o := uint(ord); o < predSlots && pr != nil {
			if ps := &pr[o]; ps.kl1 > 0 {
				kl = int(ps.kl1 - 1)
				j = i + 1 + kl // the closing quote, when the name is the same
				if j+1 < len(ev) && load64(ev, i+1)&ps.mask == ps.w && (kl <= 8 || load64(ev, j-8) == ps.w2) &&
					uint16(ev[j])|uint16(ev[j+1])<<8 == '"'|':'<<8 {
					k = j + 2
					if ps.ci >= 0 {
						return k, int(ps.ci), memFound, ord
					}
					goto unread
				}
			}
		}
		{
			x := load64(ev, i+1)
			w, w2 = x, 0
			mask := ^uint64(0)
			if q, m := quoteMasks(x); m != 0 {
				if q&m == 0 {
					break // an escape
				}
				p := bits.TrailingZeros64(m) >> 3
				j = i + 1 + p
				mask = 1<<(uint(p)*8&63) - 1
				w = x & mask
			} else {
				q, m := quoteMasks(load64(ev, i+9))
				switch {
				case q&m != 0:
					j = i + 9 + bits.TrailingZeros64(m)>>3
				case m == 0 && i+18 <= len(ev) && ev[i+17] == '"':
					j = i + 17 // exactly 16 bytes
				default:
					break loop // longer, or an escape
				}
				w2 = load64(ev, j-8)
			}
			kl = j - i - 1
			k = j + 1
			if k >= len(ev) || ev[k] != ':' {
				break
			}
			k++
			// The key table, probed inline: w and w2 cover names up to 16 bytes.
			ci := int32(-1)
			for h := (w * 0x9e3779b97f4a7c15) >> shift; ; h++ { // keyHash
				sl := &keys[h&kmask]
				if sl.idx < 0 {
					break
				}
				if sl.w == w && int(sl.n) == kl && (kl <= 8 || sl.w2 == w2) {
					ci = sl.idx
					break
				}
			}
			if o := uint(ord); o < predSlots && pr != nil {
				pr[o] = predSlot{w: w, w2: w2, mask: mask, kl1: int32(kl + 1), ci: ci}
			}
			if ci >= 0 {
				return k, int(ci), memFound, ord
			}
		}
	unread:
		// Not read: skip a string value here, anything else in the caller.
		if k+9 > len(ev) {
			break
		}
		if byte(load64(ev, k)) != '"' { // ev[k] without a bounds check
			return k, -1, memFound, ord
		}
		if q, m := quoteMasks(load64(ev, k+1)); m != 0 {
			if q&m == 0 {
				break
			}
			k += 1 + bits.TrailingZeros64(m)>>3
		} else if k = quoteEnd(ev, k+9); k < 0 {
			break
		}
		k++ // after the closing quote
		if k >= len(ev) {
			break
		}
		switch ev[k] {
		case ',':
			i = k + 1
		case '}':
			return k, -1, memEnd, ord
		default:
			return i, -1, memOther, ord
		}
	}
	return i, -1, memOther, ord
}

// members is object's loop; base locates the seen bits of children 64 and
// up. The common shapes ("name":"string", names without escapes, no
// whitespace) are handled inline; everything else takes the general paths.
func (s *state) members(n *tnode, i int, abandon bool, base int) (int, bool) {
	ev := s.ev
	nk := len(n.kids)
	var seen uint64 // children 0..63 read
	remaining := nk
	var w uint64
	var fresh bool
	var pr *[predSlots]predSlot
	if nk > 0 {
		pr = (*[predSlots]predSlot)(s.pred[n.pred:])
	}
	ord := 0 // the member's position in the object
	i++
	for {
		ci := -1
		j, fci, st, o := nextMember(ev, i, n, pr, ord)
		ord = o
		if st == memEnd {
			return j + 1, false
		}
		i = j
		if st == memFound {
			ci = fci
			if i < len(ev) && ev[i] <= ' ' {
				i = skipWS(ev, i)
			}
			goto value
		}
		if i >= len(ev) || ev[i] != '"' {
			i = skipWS(ev, i)
			if i >= len(ev) {
				return s.fail(i, "unexpected end of input, expected a member name or '}'"), false
			}
			if ev[i] == '}' {
				return i + 1, false
			}
			if ev[i] != '"' {
				return s.fail(i, "expected a member name in double quotes"), false
			}
		}
		// The member name. Its first word gives both the closing quote
		// (for names under 8 bytes) and the key-table hash.
		j = -1 // the closing quote, when the name has no escapes
		w = 0
		if i+9 <= len(ev) {
			x := load64(ev, i+1)
			if q, m := quoteMasks(x); m != 0 {
				if q&m != 0 {
					p := bits.TrailingZeros64(m) >> 3
					j = i + 1 + p
					w = x & (1<<(uint(p)*8&63) - 1)
				}
			} else if j = quoteEnd(ev, i+9); j >= 0 {
				w = x
			}
		}
		if j >= 0 {
			kl := j - i - 1
			keys := n.keys
			sl := &keys[(w*0x9e3779b97f4a7c15)>>(n.shift&63)&uint64(len(keys)-1)] // keyHash
			if sl.w == w && int(sl.n) == kl && (kl <= 8 || kl <= 16 && sl.w2 == load64(ev, j-8)) {
				ci = int(sl.idx)
			} else if sl.idx >= 0 {
				ci = n.find(ev[i+1:j], w)
			}
			i = j + 1
		} else {
			end, esc := strEndEsc(ev, i)
			if end < 0 {
				return s.fail(i, "unterminated string"), false
			}
			if esc {
				var ok bool
				s.kbuf, ok = unescapeInto(s.kbuf[:0], ev[i+1:end-1])
				if !ok {
					return s.fail(i, "invalid escape sequence in member name"), false
				}
				if nk > 0 {
					ci = n.lookup(s.kbuf)
				}
			} else if nk > 0 {
				ci = n.lookup(ev[i+1 : end-1])
			}
			i = end
		}
		if i < len(ev) && ev[i] == ':' {
			i++
		} else {
			i = skipWS(ev, i)
			if i >= len(ev) || ev[i] != ':' {
				return s.fail(i, "expected ':' after member name"), false
			}
			i++
		}
		if i < len(ev) && ev[i] <= ' ' {
			i = skipWS(ev, i)
		}
	value:
		ord++
		fresh = false
		if ci >= 0 {
			if ci < 64 {
				fresh = seen&(1<<ci) == 0
				seen |= 1 << ci
			} else {
				w, bit := base+(ci-64)/64, uint64(1)<<((ci-64)%64)
				fresh = s.seen[w]&bit == 0
				s.seen[w] |= bit
			}
		}
		// A string value: its closing quote (j) when it has no escapes.
		j = -1
		if i+9 <= len(ev) && byte(load64(ev, i)) == '"' {
			x := load64(ev, i+1)
			if q, m := quoteMasks(x); m != 0 {
				if q&m != 0 {
					j = i + 1 + bits.TrailingZeros64(m)>>3
				}
			} else {
				j = quoteEnd(ev, i+9)
			}
		}
		if fresh {
			remaining--
			childAb := abandon && remaining == 0
			kid := n.kids[ci]
			if j >= 0 {
				if kid.field != nil {
					s.leafStr(kid.field, ev[i+1:j:len(ev)]) // capacity: strWords reads no further than the event
				}
				i = j + 1
			} else {
				var done bool
				i, done = s.value(kid, i, childAb)
				if i < 0 {
					return -1, false
				}
				if done {
					return i, true
				}
			}
			if childAb {
				return i, true
			}
		} else if j >= 0 {
			i = j + 1
		} else {
			i = s.skip(i)
			if i < 0 {
				return -1, false
			}
		}
		if i < len(ev) && ev[i] == ',' {
			i++
			continue
		}
		i = skipWS(ev, i)
		if i >= len(ev) {
			return s.fail(i, "unexpected end of input, expected ',' or '}'"), false
		}
		switch ev[i] {
		case ',':
			i++
		case '}':
			return i + 1, false
		default:
			return s.fail(i, "expected ',' or '}'"), false
		}
	}
}

// value scans the value at ev[i] for node n.
func (s *state) value(n *tnode, i int, abandon bool) (int, bool) {
	ev := s.ev
	if i >= len(ev) {
		return s.fail(i, "unexpected end of input, expected a value"), false
	}
	switch c := ev[i]; c {
	case '{':
		if len(n.kids) > 0 {
			return s.object(n, i, abandon)
		}
		return s.skip(i), false
	case '[':
		return s.array(n, i), false
	case '"':
		if n.field == nil {
			return s.skip(i), false
		}
		end, esc := strEndEsc(ev, i)
		if end < 0 {
			return s.fail(i, "unterminated string"), false
		}
		v := ev[i+1 : end-1 : len(ev)] // capacity: strWords reads no further than the event
		if esc {
			var ok bool
			s.buf, ok = unescapeInto(s.buf[:0], v)
			if !ok {
				return s.fail(i, "invalid escape sequence in string"), false
			}
			v = s.buf
		}
		s.leafStr(n.field, v)
		return end, false
	case 't', 'f', 'n':
		if n.field == nil {
			return s.skip(i), false
		}
		word, k := "null", kNull
		if c == 't' {
			word, k = "true", kTrue
		} else if c == 'f' {
			word, k = "false", kFalse
		}
		if len(ev)-i < len(word) || string(ev[i:i+len(word)]) != word {
			return s.fail(i, "invalid literal"), false
		}
		s.leafLit(n.field, k)
		return i + len(word), false
	default:
		if n.field == nil {
			return s.skip(i), false
		}
		end, x, prec := parseNumber(ev, i)
		if end < 0 {
			return s.fail(i, "invalid value"), false
		}
		s.leafNum(n.field, ev[i:end], x, prec)
		return end, false
	}
}

// array scans the array at ev[i] == '[' for node n: scalars are leaf values
// of n, objects are scanned with their element position on the trail.
func (s *state) array(n *tnode, i int) int {
	ev := s.ev
	arr := int32(i)
	idx := int32(0)
	i = skipWS(ev, i+1)
	if i < len(ev) && ev[i] == ']' {
		return i + 1
	}
	for {
		i = skipWS(ev, i)
		if i >= len(ev) {
			return s.fail(i, "unexpected end of input in array")
		}
		switch ev[i] {
		case '{':
			if len(n.kids) > 0 {
				s.stack = append(s.stack, tentry{arr, idx})
				i, _ = s.object(n, i, false)
				s.stack = s.stack[:len(s.stack)-1]
			} else {
				i = s.skip(i)
			}
		case '[':
			s.stack = append(s.stack, tentry{arr, idx})
			i = s.array(n, i)
			s.stack = s.stack[:len(s.stack)-1]
		default:
			i, _ = s.value(n, i, false)
		}
		if i < 0 {
			return -1
		}
		idx++
		i = skipWS(ev, i)
		if i >= len(ev) {
			return s.fail(i, "unexpected end of input, expected ',' or ']'")
		}
		switch ev[i] {
		case ',':
			i++
		case ']':
			return i + 1
		default:
			return s.fail(i, "expected ',' or ']'")
		}
	}
}

func unescapeInto(dst, b []byte) ([]byte, bool) {
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		r, n, ok := unescape(b[i:])
		if !ok {
			return dst, false
		}
		dst = utf8.AppendRune(dst, r)
		i += n
	}
	return dst, true
}

// markField records that f has a value (and whether outside arrays of
// objects), for the conjunctions that require f to be absent.
func (s *state) markField(f *fieldIdx) {
	if !f.negUsed {
		return
	}
	s.fieldAny[f.id] = s.epoch
	if len(s.stack) == 0 {
		s.fieldPlain[f.id] = s.epoch
	}
}

func (s *state) hits1(cs []int32) {
	for _, c := range cs {
		s.hit(c)
	}
}

// condState records, per match (epoch), that a condition held (stamp) and
// that it held outside arrays of objects (plain): one cache line for both.
type condState struct {
	stamp, plain uint32
}

func (s *state) hit(c int32) {
	ep := s.epoch
	cs := &s.cst[c]
	if cs.plain == ep {
		return
	}
	if len(s.stack) == 0 {
		cs.plain = ep
	} else {
		start := len(s.trails)
		s.trails = append(s.trails, s.stack...)
		s.hits = append(s.hits, hitRec{c, int32(start), int32(len(s.stack))})
	}
	if cs.stamp == ep {
		return
	}
	cs.stamp = ep
	if a := s.e.anchors[c]; len(a) > 0 {
		s.cands = append(s.cands, a...)
	}
}

// lazyRec is a field's string value whose lazy candidates were not
// checked: the field's only value so far in this match (ep), outside
// arrays of objects, and a slice of the event (not an unescaped copy).
type lazyRec struct {
	ep      uint32
	flushed bool // the field's values were checked at once instead
	v       string
}

// lazyStr defers checking f's lazy candidates against v when v is the
// field's first value, outside arrays of objects and in the event's
// bytes; otherwise it checks them now, and the deferred value too.
func (s *state) lazyStr(f *fieldIdx, v, fs string) {
	r := &s.lazyRec[f.id]
	if r.ep != s.epoch {
		r.ep = s.epoch
		base := uintptr(unsafe.Pointer(unsafe.SliceData(s.ev)))
		if p := uintptr(unsafe.Pointer(unsafe.StringData(v))); len(s.stack) == 0 && p >= base && p+uintptr(len(v)) <= base+uintptr(len(s.ev)) {
			r.flushed, r.v = false, v
			return
		}
		r.flushed = true
	} else if !r.flushed {
		r.flushed = true
		for _, o := range f.lazy {
			if o.m.matchScalar(kStr, r.v, 0) {
				s.hitPlain(o.cond)
			}
		}
	}
	for _, o := range f.lazy {
		if f.lazyMatch(o.m, v, fs) {
			s.hit(o.cond)
		}
	}
}

// lazyMatch reports whether the string v matches m; fs is v folded when
// f.needFold (lazy candidates do not make the scanner fold every value).
func (f *fieldIdx) lazyMatch(m *matcher, v, fs string) bool {
	if !f.needFold {
		return m.matchScalar(kStr, v, 0)
	}
	return m.matchScalarF(kStr, v, fs, 0)
}

// lazyHit checks condition c's lazy candidates against their fields'
// deferred values and reports whether c now holds.
func (s *state) lazyHit(c int32) bool {
	lo := s.e.lazyOf
	if lo == nil {
		return false
	}
	for _, x := range lo[c] {
		if r := &s.lazyRec[x.f.id]; r.ep == s.epoch && !r.flushed && x.m.matchScalar(kStr, r.v, 0) {
			s.hitPlain(c)
			return true
		}
	}
	return false
}

// hitPlain is hit for a value outside arrays of objects.
func (s *state) hitPlain(c int32) {
	st := s.stack
	s.stack = s.stack[:0]
	s.hit(c)
	s.stack = st
}

// affixMaps hits the conditions of the prefixes (or suffixes) of a kept in
// per-length tables (more than smallAffix of them) that v starts (ends)
// with; w is v's head word (tail word for suffixes).
func (s *state) affixMaps(a *affixSet, v string, suffix bool, w uint64) {
	for _, lm := range a.byLen {
		n := lm.n
		if len(v) < n {
			break
		}
		// The words of v's first (last) n bytes.
		var kh, kt uint64
		switch {
		case n <= 8 && !suffix:
			kh = w & (1<<(uint(n)*8&63) - 1)
			if n == 8 {
				kh = w
			}
			kt = kh << ((8 - uint(n)) * 8 & 63)
		case n <= 8:
			kt = w &^ (^uint64(0) >> (uint(n) * 8 & 63))
			if n == 8 {
				kt = w
			}
			kh = kt >> ((8 - uint(n)) * 8 & 63)
		case n <= 16 && !suffix:
			kh, kt = w, loadStr64(v, n-8)
		case n <= 16:
			kh, kt = loadStr64(v, len(v)-n), w
		default:
			if suffix {
				kh, kt = wordsOf(v[len(v)-n:])
			} else {
				kh, kt = wordsOf(v[:n])
			}
		}
		k := v[:n]
		if suffix {
			k = v[len(v)-n:]
		}
		s.hits1(lm.t.get(k, kh, kt))
	}
}

// prefixes hits the conditions of the prefixes in a that v, with head word
// head, starts with.
func (s *state) prefixes(a *affixSet, v string, head uint64) {
	sm := a.small
	for i := range sm {
		if x := &sm[i]; x.hasPrefixWords(v, head) {
			s.hit(x.cond)
		}
	}
	if a.byLen != nil {
		s.affixMaps(a, v, false, head)
	}
}

// suffixes hits the conditions of the suffixes in a that v, with tail word
// tail, ends with.
func (s *state) suffixes(a *affixSet, v string, tail uint64) {
	sm := a.small
	for i := range sm {
		if x := &sm[i]; x.hasSuffixWords(v, tail) {
			s.hit(x.cond)
		}
	}
	if a.byLen != nil {
		s.affixMaps(a, v, true, tail)
	}
}

func (s *state) leafStr(f *fieldIdx, b []byte) {
	s.markField(f)
	v := bstr(b)
	if f.lazyOnly {
		s.lazyStr(f, v, "")
		return
	}
	if f.exact != nil {
		head, tail := strWords(b)
		s.hits1(f.exact.get(v, head, tail))
		if f.moreStr {
			s.leafStrMore(f, v, head, tail)
		}
		return
	}
	for i := range f.exactList {
		// The first bytes differ for most unequal values of equal length.
		if x := &f.exactList[i]; len(x.s) == len(v) && (len(v) == 0 || v[0] == byte(x.head) && x.s == v) {
			s.hit(x.cond)
		}
	}
	if f.moreStr {
		// strWords, inline.
		var head, tail uint64
		if n := len(b); n >= 8 {
			head, tail = load64(b, 0), load64(b, n-8)
		} else if cap(b) >= 8 {
			head = load64(b[:8], 0) & (1<<(uint(n)*8&63) - 1)
			tail = head << ((8 - uint(n)) * 8 & 63)
		} else {
			head, tail = shortWords(b)
		}
		s.leafStrMore(f, v, head, tail)
	}
}

// leafStrMore is leafStr for the candidates other than exact strings; head
// and tail are v's words (strWords).
func (s *state) leafStrMore(f *fieldIdx, v string, head, tail uint64) {
	if f.hasAffix {
		if !f.prefix.empty() {
			s.prefixes(&f.prefix, v, head)
		}
		if !f.suffix.empty() {
			s.suffixes(&f.suffix, v, tail)
		}
	}
	fs := ""
	if f.needFold {
		var fh, ft uint64
		if n := len(v); n <= 16 && (head|tail)&hi8 == 0 {
			// ASCII: fold the words; fs is their bytes.
			fh, ft = foldASCIIWord(head), foldASCIIWord(tail)
			if n <= 8 {
				put64(s.f16[:], 0, fh)
			} else {
				put64(s.f16[:], 0, fh)
				put64(s.f16[:], n-8, ft)
			}
			fs = bstr(s.f16[:n])
		} else {
			s.fbuf = appendFold(s.fbuf[:0], v)
			fs = bstr(s.fbuf)
			fh, ft = strWords(s.fbuf)
		}
		if f.eqICList != nil {
			for i := range f.eqICList {
				if x := &f.eqICList[i]; x.equalWords(fs, fh, ft) {
					s.hit(x.cond)
				}
			}
		} else if f.eqICT != nil {
			s.hits1(f.eqICT.get(fs, fh, ft))
		}
		if !f.prefixIC.empty() {
			s.prefixes(&f.prefixIC, fs, fh)
		}
		if !f.suffixIC.empty() {
			s.suffixes(&f.suffixIC, fs, ft)
		}
	}
	s.hits1(f.exists)
	if f.wildT == nil {
		for i := range f.wilds {
			if wc := &f.wilds[i]; wc.w.matchWords(v, head, tail) {
				s.hit(wc.cond)
			}
		}
	} else {
		if n := f.wildKey; len(v) >= n {
			// Only wildcards whose first piece starts as v does can
			// match: those keyed by v's first n bytes (n <= 8).
			kh := head
			if n < 8 {
				kh &= 1<<(uint(n)*8) - 1
			}
			for _, i := range f.wildT.get(v[:n], kh, kh<<((8-uint(n))*8&63)) {
				if wc := &f.wilds[i]; wc.w.matchWords(v, head, tail) {
					s.hit(wc.cond)
				}
			}
		}
		for _, wc := range f.wildAny {
			if wc.w.matchWords(v, head, tail) {
				s.hit(wc.cond)
			}
		}
	}
	for _, o := range f.eagerStr {
		if o.m.matchScalarF(kStr, v, fs, 0) {
			s.hit(o.cond)
		}
	}
	if len(f.lazy) > 0 {
		s.lazyStr(f, v, fs)
	}
	if len(f.cidrs) > 0 {
		// Parse the address once for all the field's ranges (as cidrContains).
		a, ok := rulerc.JavaIP(v)
		if !ok {
			return
		}
		for _, o := range f.cidrs {
			if o.m.prefix.Contains(a) {
				s.hit(o.cond)
			}
		}
	}
}

// leafNum handles a number: x is its value with precision prec
// (parseNumber).
func (s *state) leafNum(f *fieldIdx, raw []byte, x float64, prec int) {
	s.markField(f)
	if f.needNum {
		if len(f.numText) > 0 {
			s.numText(f, raw, prec)
		}
		if prec == numApprox && len(f.others) == 0 && f.num.segs != nil {
			// x places the value between the same bounds as the exact
			// value unless a bound is within the rounding error.
			if segs, ok := f.num.segmentApprox(x); ok {
				s.hits1(segs)
				s.hits1(f.exists)
				s.hits1(f.existsNS)
				return
			}
		}
		if prec != numExact {
			x, _ = strconv.ParseFloat(bstr(raw), 64)
		}
		if f.num.segs != nil {
			if len(f.points) > 0 && !numFast(raw, prec) {
				s.pointSegment(f, raw, x)
			} else {
				s.hits1(f.num.segment(x))
			}
		}
	}
	s.hits1(f.exists)
	s.hits1(f.existsNS)
	for _, o := range f.others {
		if o.m.matchScalarF(kNum, bstr(raw), "", x) {
			s.hit(o.cond)
		}
	}
}

// pointSegment hits x's segment when the field has exact-number candidates:
// they match by value only a number that is exactly a double
// (rulerc.NumComparable; ranges compare the nearest double, COMPATIBILITY.md).
func (s *state) pointSegment(f *fieldIdx, raw []byte, x float64) {
	segs := f.num.segment(x)
	pc := f.points[x]
	if len(pc) == 0 || rulerc.NumComparable(bstr(raw)) {
		s.hits1(segs)
		return
	}
	for _, c := range segs {
		if !slices.Contains(pc, c) {
			s.hit(c)
		}
	}
}

// numText hits the exact-number candidates that are not exactly a double,
// which match only their own text, when the event's number is not one either.
func (s *state) numText(f *fieldIdx, raw []byte, prec int) {
	if numFast(raw, prec) || rulerc.NumComparable(bstr(raw)) {
		return
	}
	if cs, ok := f.numText[string(raw)]; ok {
		s.hits1(cs)
	}
}

func (s *state) leafLit(f *fieldIdx, k kind) {
	s.markField(f)
	s.hits1(f.lits[k-kNull])
	s.hits1(f.exists)
	s.hits1(f.existsNS)
	for _, o := range f.others {
		if o.m.matchScalarF(k, "", "", 0) {
			s.hit(o.cond)
		}
	}
}

// numFast reports, cheaply, that a number is comparable (numComparable):
// parsed exactly, with at most 15 digits.
func numFast(raw []byte, prec int) bool {
	if prec != numExact {
		return false
	}
	if len(raw) <= 15 {
		return true
	}
	n := 0
	for _, c := range raw {
		if c-'0' <= 9 {
			n++
		}
	}
	return n <= 15
}

// finish decides the candidate conjunctions and appends the matching ids.
func (s *state) finish(dst []string) ([]string, error) {
	e := s.e
	if len(s.cands) == 0 && len(e.negOnly) == 0 && len(e.slow) == 0 {
		return dst, nil // no condition held (most events): nothing to decide
	}
	for _, j := range s.cands {
		s.decide(j)
	}
	for _, j := range e.negOnly {
		s.decide(j)
	}
	for _, r := range e.slow {
		s.decideTree(r)
	}
	if s.err != nil {
		return dst, s.err
	}
	m := s.matched
	for i := 1; i < len(m); i++ { // insertion sort: few matches
		for j := i; j > 0 && m[j] < m[j-1]; j-- {
			m[j], m[j-1] = m[j-1], m[j]
		}
	}
	for _, id := range m {
		dst = append(dst, e.ids[id])
	}
	return dst, nil
}

func (s *state) accept(r int32) {
	id := s.e.rules[r].id
	if s.idDone[id] != s.epoch {
		s.idDone[id] = s.epoch
		s.matched = append(s.matched, id)
	}
}

func (s *state) decide(j int32) {
	e := s.e
	cj := &e.conjs[j]
	r := cj.rule
	ep := s.epoch
	if s.ruleDone[r] == ep || s.idDone[e.rules[r].id] == ep {
		return
	}
	if cj.single {
		// Decided by its anchor, which holds: it is candidate because
		// the condition was hit (values inside arrays need no pairing).
		s.ruleDone[r] = ep
		s.accept(r)
		return
	}
	for _, c := range cj.pos {
		if s.cst[c].stamp != ep && !s.lazyHit(c) {
			return
		}
	}
	fallback := false
	for _, f := range cj.neg {
		if s.fieldAny[f] == ep {
			if s.fieldPlain[f] == ep {
				return
			}
			fallback = true
		}
	}
	if fallback {
		s.decideTree(r)
		return
	}
	trailed := 0
	for _, c := range cj.pos {
		if s.cst[c].plain != ep {
			trailed++
		}
	}
	if trailed > 1 && !s.consistent(cj) {
		return
	}
	s.ruleDone[r] = ep
	s.accept(r)
}

// decideTree evaluates rule r on the decoded event.
func (s *state) decideTree(r int32) {
	ep := s.epoch
	if s.ruleDone[r] == ep {
		return
	}
	s.ruleDone[r] = ep
	if !s.treeOK {
		s.treeOK = true
		s.tree, s.treeErr = decodeEvent(s.ev)
		if s.treeErr != nil && s.err == nil {
			s.err = s.treeErr
		}
	}
	if s.tree != nil && evalNode(s.e.rules[r].p.root, s.tree) {
		s.accept(r)
	}
}

// consistent reports whether the conditions of cj satisfied only inside
// arrays of objects can be satisfied by values that never come from two
// different elements of one array.
func (s *state) consistent(cj *conj) bool {
	ep := s.epoch
	s.pick = s.pick[:0]
	var conds []int32
	for _, c := range cj.pos {
		if s.cst[c].plain != ep {
			conds = append(conds, c)
		}
	}
	var try func(k int) bool
	try = func(k int) bool {
		if k == len(conds) {
			return true
		}
		for hi := range s.hits {
			h := &s.hits[hi]
			if h.cond != conds[k] {
				continue
			}
			ok := true
			for _, p := range s.pick {
				if !s.compatible(h, &s.hits[p]) {
					ok = false
					break
				}
			}
			if ok {
				s.pick = append(s.pick, int32(hi))
				if try(k + 1) {
					return true
				}
				s.pick = s.pick[:len(s.pick)-1]
			}
		}
		return false
	}
	return try(0)
}

func (s *state) compatible(a, b *hitRec) bool {
	ta := s.trails[a.start : a.start+a.n]
	tb := s.trails[b.start : b.start+b.n]
	for k := 0; k < len(ta) && k < len(tb); k++ {
		if ta[k].arr != tb[k].arr {
			return true
		}
		if ta[k].idx != tb[k].idx {
			return false
		}
	}
	return true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// Precision of parseNumber's value.
const (
	numExact  = iota // f is the value strconv.ParseFloat returns
	numApprox        // f is within a relative 2^-51 of that value
	numSlow          // f is not computed: use strconv.ParseFloat
)

// approxTol is the relative distance from a numApprox value within which a
// numeric bound must be compared using the exact value.
const approxTol = 1.0 / (1 << 48)

// parseNumber scans the JSON number at b[i] (strict grammar) and computes its
// value in one step when the decimal significand fits in 64 bits and the
// decimal exponent is within ±22: exactly when the significand is below 2^53
// (both conversions exact, or one correctly rounded), approximately when it is
// larger (two roundings). end is -1 for an invalid number.
func parseNumber(b []byte, i int) (end int, f float64, prec int) {
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	if i >= len(b) {
		return -1, 0, numSlow
	}
	var mant uint64
	over := false // digits did not fit in mant
	exp := 0
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i, mant, over = decDigits(b, i, mant, over)
	default:
		return -1, 0, numSlow
	}
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		i, mant, over = decDigits(b, i, mant, over)
		if i == start {
			return -1, 0, numSlow
		}
		exp = start - i
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		esign := 1
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			if b[i] == '-' {
				esign = -1
			}
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return -1, 0, numSlow
		}
		e := 0
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			if e < 100000 {
				e = e*10 + int(b[i]-'0')
			}
		}
		exp += esign * e
	}
	if over {
		return i, 0, numSlow
	}
	prec = numExact
	if mant>>53 != 0 {
		prec = numApprox
	}
	f = float64(mant)
	switch {
	case mant == 0 || exp == 0:
	case exp > 0 && exp <= 22:
		f *= pow10[exp]
	case exp < 0 && exp >= -22:
		f /= pow10[-exp]
	default:
		return i, 0, numSlow
	}
	if neg {
		f = -f
	}
	return i, f, prec
}

// decDigits accumulates the decimal digits at b[i:] into mant, up to 8 at a
// time; over is set (and mant left alone) when they do not fit.
func decDigits(b []byte, i int, mant uint64, over bool) (int, uint64, bool) {
	for i+8 <= len(b) {
		x := load64(b, i)
		// The high bit of each byte that is a digit, then the digit count.
		lo := x &^ hi8
		digit := (lo + 0x50*lo8) &^ (lo + 0x46*lo8) &^ x & hi8
		n := bits.TrailingZeros64(^digit&hi8) >> 3 // 8 when all are digits
		if n == 0 {
			return i, mant, over
		}
		// The n digits, aligned to the top so that the rest count as
		// leading zeros, combined pairwise.
		x = (x - 0x30*lo8) << (uint(8-n) * 8 & 63)
		x = (x*10 + x>>8) & 0x00ff00ff00ff00ff
		x = (x*100 + x>>16) & 0x0000ffff0000ffff
		x = (x*10000 + x>>32) & 0xffffffff
		if mant > maxMant[n] {
			over = true
		} else {
			mant = mant*pow10u[n] + x
		}
		i += n
		if n < 8 {
			return i, mant, over
		}
	}
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		if mant > maxMant[1] {
			over = true
		} else {
			mant = mant*10 + uint64(b[i]-'0')
		}
	}
	return i, mant, over
}

// pow10u[n] is 10^n; maxMant[n] the largest m with m*10^n + (10^n - 1)
// below 2^64.
var (
	pow10u  = [9]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}
	maxMant = [9]uint64{
		(1<<64 - 1) / 1, (1<<64 - 1 - 9) / 10, (1<<64 - 1 - 99) / 100, (1<<64 - 1 - 999) / 1000, (1<<64 - 1 - 9999) / 10000,
		(1<<64 - 1 - 99999) / 100000, (1<<64 - 1 - 999999) / 1000000, (1<<64 - 1 - 9999999) / 10000000,
		(1<<64 - 1 - 99999999) / 100000000,
	}
)

// quoteEnd returns the index of the first '"' at or after j when no
// backslash comes before it within the 8-byte words read, else -1 (the
// caller then takes the general path).
func quoteEnd(ev []byte, j int) int {
	for j+8 <= len(ev) {
		x := load64(ev, j)
		q, b := x^(0x22*lo8), x^(0x5c*lo8)
		if m := ((q-lo8)&^q | (b-lo8)&^b) & hi8; m != 0 {
			j += bits.TrailingZeros64(m) >> 3
			if ev[j] == '"' {
				return j
			}
			return -1
		}
		j += 8
	}
	return -1
}
