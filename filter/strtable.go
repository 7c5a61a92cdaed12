package filter

import "math/bits"

// strTable is a set of strings with their conditions, looked up by a
// value's head and tail words (words.go): an open-addressing table, at most
// half full, whose probes compare the length and the two words (and the
// bytes only beyond 16). It replaces a Go map for a field's exact and
// case-folded values, where a map's string hashing and memequal were a
// quarter of the time on sets with many rules.
//
// Most values a field meets are in none of its rules, and a slot is a cache
// line the event stream has often evicted: bloom, one bit of each string's
// hash in the line get reads anyway, answers most of those without it.
type strTable struct {
	slots []strSlot
	shift uint8
	bloom [4]uint64 // bit bloomBit(hash) of every string in the table
}

// bloomBit is the bit of bloom for a string's hash (strHash): bits the
// slot index (the top bits) does not use unless the table has 2^24 slots.
func bloomBit(hash uint64) uint64 { return hash >> 40 & 255 }

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
		hash := strHash(head, tail, len(s))
		b := bloomBit(hash)
		t.bloom[b>>6] |= 1 << (b & 63)
		h := hash >> t.shift
		for t.slots[h&mask].conds != nil {
			h++
		}
		t.slots[h&mask] = strSlot{head: head, tail: tail, n: len(s), s: s, conds: cs}
	}
	return t
}

// get returns the conditions of v, whose words are head and tail.
func (t *strTable) get(v string, head, tail uint64) []int32 {
	hash := strHash(head, tail, len(v))
	if b := bloomBit(hash); t.bloom[b>>6&3]>>(b&63)&1 == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for h := hash >> (t.shift & 63); ; h++ {
		sl := &t.slots[h&mask]
		if sl.conds == nil {
			return nil
		}
		if sl.head == head && sl.tail == tail && sl.n == len(v) && (len(v) <= 16 || sl.s == v) {
			return sl.conds
		}
	}
}
