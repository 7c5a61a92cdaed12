package filter

import "math/bits"

// strTable is a set of strings with their conditions, looked up by a
// value's head and tail words (words.go): an open-addressing table, at most
// half full, whose probes compare the length and the two words (and the
// bytes only beyond 16). It replaces a Go map for a field's exact and
// case-folded values, where a map's string hashing and memequal were a
// quarter of the time on sets with many rules.
type strTable struct {
	slots []strSlot
	shift uint8
}

type strSlot struct {
	head, tail uint64
	n          int
	s          string
	conds      []int32 // nil: an empty slot
}

// strHash mixes a string's words and length; the table uses its top bits.
func strHash(head, tail uint64, n int) uint64 {
	return (head ^ bits.RotateLeft64(tail, 31) ^ uint64(n)) * 0x9e3779b97f4a7c15
}

func newStrTable(m map[string][]int32) *strTable {
	size := 2
	for size < 2*len(m) {
		size *= 2
	}
	t := &strTable{slots: make([]strSlot, size), shift: uint8(64 - bits.TrailingZeros(uint(size)))}
	mask := uint64(size - 1)
	for s, cs := range m {
		head, tail := wordsOf(s)
		h := strHash(head, tail, len(s)) >> t.shift
		for t.slots[h&mask].conds != nil {
			h++
		}
		t.slots[h&mask] = strSlot{head: head, tail: tail, n: len(s), s: s, conds: cs}
	}
	return t
}

// get returns the conditions of v, whose words are head and tail.
func (t *strTable) get(v string, head, tail uint64) []int32 {
	mask := uint64(len(t.slots) - 1)
	for h := strHash(head, tail, len(v)) >> (t.shift & 63); ; h++ {
		sl := &t.slots[h&mask]
		if sl.conds == nil {
			return nil
		}
		if sl.head == head && sl.tail == tail && sl.n == len(v) && (len(v) <= 16 || sl.s == v) {
			return sl.conds
		}
	}
}
