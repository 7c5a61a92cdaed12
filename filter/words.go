package filter

// Short strings compared as words. A string's head is its first
// min(8, len) bytes as a little-endian word (the rest zero); its tail is its
// last min(8, len) bytes with the last byte in the top byte (the rest zero).
// Together they cover a string of up to 16 bytes, so that exact values,
// prefixes and suffixes of up to 8 bytes, and the ends of wildcards, are
// compared without calls to memequal.

// strWords returns the head and tail words of b. When b is shorter than 8
// bytes it reads into b's capacity (never past it) and masks the extra
// bytes: slices of an event are passed with their capacity cut at the
// event's length, so that no byte past the event is read.
func strWords(b []byte) (head, tail uint64) {
	if n := len(b); n >= 8 {
		return load64(b, 0), load64(b, n-8)
	}
	return shortWords(b)
}

// shortWords is strWords for b shorter than 8 bytes (not inlined, so that
// strWords is).
//
//go:noinline
func shortWords(b []byte) (head, tail uint64) {
	n := len(b)
	if cap(b) >= 8 {
		head = load64(b[:8], 0) & (1<<(uint(n)*8) - 1)
	} else {
		head = headBytes(b)
	}
	return head, head << ((8 - uint(n)) * 8)
}

// headBytes is the head word of b (shorter than 8 bytes) read byte by byte.
func headBytes(b []byte) (head uint64) {
	for k := len(b) - 1; k >= 0; k-- {
		head = head<<8 | uint64(b[k])
	}
	return head
}

// wordsOf is strWords for a pattern string (byte by byte, at compile time).
func wordsOf(s string) (head, tail uint64) {
	for k := min(len(s), 8) - 1; k >= 0; k-- {
		head = head<<8 | uint64(s[k])
	}
	if len(s) < 8 {
		return head, head << ((8 - uint(len(s))) * 8)
	}
	for k := len(s) - 1; k >= len(s)-8; k-- {
		tail = tail<<8 | uint64(s[k])
	}
	return head, tail
}

// newAffix returns the candidate s for condition c with its words.
func newAffix(s string, c int32) affix {
	h, t := wordsOf(s)
	x := affix{s: s, cond: c, head: h, tail: t}
	if n := uint(len(s)); n <= 8 {
		x.pmask = 1<<(n*8) - 1 // all ones for n = 8
		x.smask = ^(^uint64(0) >> (n * 8))
		x.sword = h << ((8 - n) * 8)
	}
	return x
}

// equalWords reports whether v (with words head and tail) equals x.s.
func (x *affix) equalWords(v string, head, tail uint64) bool {
	n := len(x.s)
	return n == len(v) && x.head == head && (n <= 8 || x.tail == tail && (n <= 16 || x.s == v))
}

// hasPrefixWords reports whether v (with head word head) starts with x.s.
func (x *affix) hasPrefixWords(v string, head uint64) bool {
	n := len(x.s)
	if n > len(v) {
		return false
	}
	if n <= 8 {
		return head&x.pmask == x.head
	}
	return v[:n] == x.s
}

// hasSuffixWords reports whether v (with tail word tail) ends with x.s.
func (x *affix) hasSuffixWords(v string, tail uint64) bool {
	n := len(x.s)
	if n > len(v) {
		return false
	}
	if n <= 8 {
		return tail&x.smask == x.sword
	}
	return v[len(v)-n:] == x.s
}

// foldASCIIWord maps the bytes 'a'..'z' of x to upper case (as appendFold
// does); every byte of x must be below 0x80.
func foldASCIIWord(x uint64) uint64 {
	ge := x + (0x80-'a')*lo8 // high bit set where the byte >= 'a'
	gt := x + (0x80-'z'-1)*lo8
	return x ^ (ge&^gt&hi8)>>2
}
